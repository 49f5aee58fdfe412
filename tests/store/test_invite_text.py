"""The store refuses an invite whose cohort or label holds a control or invisible character,
whichever door it came through."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.store import Database, create_invite
from grader.text import UnprintableText


@pytest.mark.parametrize(("cohort", "label"), [("a\tb", ""), ("spring", "x\u200by")])
def test_unprintable_cohorts_and_labels_are_refused(db: Database, cohort: str,
                                                    label: str) -> None:
    with pytest.raises(UnprintableText, match="remove it"), db.write() as session:
        create_invite(session, assignment_id="starter", cohort=cohort, label=label,
                      allowance=1, valid_for=timedelta(days=1), created_by="test")
