"""Reviewer judgement's arithmetic in the core (``grader.judgement``): agreement over every
reviewer pair, the blind rule, and manual and combined points. The routes over it:
tests/web/test_judgement.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from grader.judgement import agreement, points_summary, visible_scores
from grader.spec import ManualItem

ITEMS = [ManualItem.model_validate({"id": "a", "title": "A", "levels": [
    {"points": 0, "description": "x"}, {"points": 1, "description": "y"},
    {"points": 2, "description": "z"}]})]


def _given(reviewer_id: int, points: float, blind: float | None = None):
    return SimpleNamespace(item_id="a", reviewer_id=reviewer_id, points=points,
                           blind_points=points if blind is None else blind,
                           reviewer=SimpleNamespace(email=f"r{reviewer_id}@x"))


def test_agreement_between_three_reviewers_uses_every_pair() -> None:
    scores = [_given(1, 0), _given(2, 2), _given(3, 2)]
    found = agreement(scores, ITEMS)
    assert found.items[0].exact is False
    assert found.items[0].mean_abs_diff == pytest.approx(4 / 3, abs=1e-4)  # |0-2|,|0-2|,|2-2|
    assert found.exact_share == 0 and found.all_blind
    assert agreement(scores[:1], ITEMS) is None  # one reviewer: nothing to agree on


def test_blind_rule_and_points() -> None:
    scores = [_given(1, 0), _given(2, 2)]
    assert visible_scores(scores, viewer_id=1, revealed=set()) == scores[:1]
    assert visible_scores(scores, viewer_id=1, revealed={1}) == scores
    assert visible_scores(scores, viewer_id=1, revealed={2}) == scores[:1]
    summary = points_summary(automatic=90, items=ITEMS, visible=scores, blind=False)
    assert (summary.manual, summary.combined, summary.combined_max) == (1, 91, 102)
    assert points_summary(automatic=None, items=ITEMS, visible=scores,
                          blind=False).combined is None
    assert points_summary(automatic=90, items=[], visible=[], blind=False).combined is None
