"""Re-scoring stored reports in place: provisional reports placed again once their instance's
anchors are measured (``grader.anchors.rescored`` decides), and every graded report of an
assignment offered to a re-placement (``grader.stability.rescore_assignment`` decides). This
module only reads and stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.report import Report, ReportStatus
from grader.store._engine import Database
from grader.store._models import Invite, StoredReport, Submission


@dataclass(frozen=True)
class StoredGrading:
    """A stored graded report and whose it is."""

    report_id: int
    submission_id: int
    label: str
    cohort: str
    latest: bool  # the submission's latest report: its total is the submission's
    stored_at: datetime
    report: Report


def _replace(session: Session, row: StoredReport, updated: Report) -> None:
    """The report's body and total replaced, and the submission's total when it is the
    submission's latest report."""
    row.body = updated.model_dump_json()
    row.total = updated.total
    latest = session.scalar(select(func.max(StoredReport.id))
                            .where(StoredReport.submission_id == row.submission_id))
    if latest == row.id:
        submission = session.get(Submission, row.submission_id)
        assert submission is not None
        submission.total = updated.total


def rescore_reports(db: Database, assignment_id: str,
                    rescore: Callable[[Report], Report | None]) -> int:
    """Apply ``rescore`` to the assignment's provisional graded reports, in one transaction;
    a report it returns replaces the stored one (its total too, and the submission's total when
    it is that submission's latest report). Returns how many changed."""
    changed = 0
    with db.write() as session:
        rows = session.scalars(
            select(StoredReport).join(Submission, Submission.id == StoredReport.submission_id)
            .where(Submission.assignment_id == assignment_id,
                   StoredReport.status == ReportStatus.GRADED,
                   # The stored JSON is compact: only provisional reports can match.
                   StoredReport.body.contains('"provisional":true'))
            .order_by(StoredReport.id)).all()
        for row in rows:
            updated = rescore(Report.model_validate_json(row.body))
            if updated is None:
                continue
            _replace(session, row, updated)
            changed += 1
    return changed


def replace_graded_reports(db: Database, assignment_id: str,
                           replace: Callable[[StoredGrading], Report | None], *,
                           write: bool = True) -> int:
    """Offer every graded report of the assignment to ``replace`` (oldest first) in one
    transaction; with ``write``, a report it returns replaces the stored one (as in
    ``rescore_reports``). Returns how many it returned."""
    returned = 0
    with (db.write() if write else db.read()) as session:
        latest = dict(session.execute(
            select(StoredReport.submission_id, func.max(StoredReport.id))
            .join(Submission, Submission.id == StoredReport.submission_id)
            .where(Submission.assignment_id == assignment_id)
            .group_by(StoredReport.submission_id)).all())
        found = session.execute(
            select(StoredReport, Submission.cohort, Invite.label)
            .join(Submission, Submission.id == StoredReport.submission_id)
            .join(Invite, Invite.id == Submission.invite_id)
            .where(Submission.assignment_id == assignment_id,
                   StoredReport.status == ReportStatus.GRADED)
            .order_by(StoredReport.id)).all()
        for row, cohort, label in found:
            updated = replace(StoredGrading(
                report_id=row.id, submission_id=row.submission_id, label=label, cohort=cohort,
                latest=latest.get(row.submission_id) == row.id, stored_at=row.created_at,
                report=Report.model_validate_json(row.body)))
            if updated is None:
                continue
            returned += 1
            if write:
                _replace(session, row, updated)
    return returned
