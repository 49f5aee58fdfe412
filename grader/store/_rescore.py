"""Re-scoring stored reports in place: provisional reports placed again once their instance's
anchors are measured (``grader.anchors.rescored`` decides; this module only stores)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from grader.report import Report
from grader.store._engine import Database
from grader.store._models import StoredReport, Submission, SubmissionStatus


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
                   StoredReport.status == SubmissionStatus.GRADED,
                   # The stored JSON is compact: only provisional reports can match.
                   StoredReport.body.contains('"provisional":true'))
            .order_by(StoredReport.id)).all()
        for row in rows:
            updated = rescore(Report.model_validate_json(row.body))
            if updated is None:
                continue
            row.body = updated.model_dump_json()
            row.total = updated.total
            latest = session.scalar(select(func.max(StoredReport.id))
                                    .where(StoredReport.submission_id == row.submission_id))
            if latest == row.id:
                submission = session.get(Submission, row.submission_id)
                assert submission is not None
                submission.total = updated.total
            changed += 1
    return changed
