"""The store: SQLAlchemy 2 models, every query the service makes, and Alembic migrations.

Functions that own their transaction take a ``Database`` (the queue, accepting a submission);
the rest run inside the caller's ``Session``. Reports are stored as their JSON document in the
``reports`` table (one row per grading job, unique on ``job_id``); submissions' files live
extracted under ``DATA_DIR/submissions/<files_dir>``.

Exceptions:

    AccountError         a reviewer account could not be created
    SubmissionRefused    an invite cannot take a submission (expired, allowance used up)
    QueueError           a queue operation was refused (a re-grade while one is pending)
    ReviewRefused        a reviewer's judgement could not be recorded (no such submission)
"""

from grader.store._accounts import (
    AccountError,
    authenticate,
    close_session,
    create_reviewer,
    list_reviewers,
    open_session,
    session_for_token,
    sha256_hex,
)
from grader.store._engine import Database
from grader.store._invites import (
    create_invite,
    invite_candidate,
    invite_for_token,
    is_expired,
    list_invites,
    used_submissions,
)
from grader.store._migrate import current_revision, head_revision, migrate
from grader.store._models import (
    Base,
    Decision,
    DecisionRecord,
    Invite,
    Job,
    JobState,
    ManualReveal,
    ManualScore,
    RevealReason,
    Reviewer,
    ReviewerSession,
    ReviewNote,
    StoredReport,
    Submission,
    SubmissionStatus,
    utcnow,
)
from grader.store._queue import (
    Claim,
    QueueError,
    claim_job,
    complete_job,
    enqueue_regrade,
    fail_job,
    heartbeat,
    queue_counts,
    release_job,
)
from grader.store._rescore import rescore_reports
from grader.store._reviews import (
    Judgement,
    ReviewRefused,
    add_review_note,
    cohort_judgements,
    decisions,
    latest_submissions,
    manual_reveals,
    manual_scores,
    record_decision,
    record_manual_score,
    reveal_manual_scores,
    review_notes,
)
from grader.store._submissions import (
    CohortPoint,
    CohortSummary,
    SortKey,
    SubmissionRefused,
    accept_submission,
    cohort_points,
    cohort_summaries,
    get_submission,
    jobs_for_submission,
    latest_report,
    list_submissions,
    report_count,
    submission_for_invite,
    submissions_for_invite,
)

__all__ = [
    "AccountError",
    "Base",
    "Claim",
    "CohortPoint",
    "CohortSummary",
    "Database",
    "Decision",
    "DecisionRecord",
    "Invite",
    "Job",
    "JobState",
    "Judgement",
    "ManualReveal",
    "ManualScore",
    "QueueError",
    "RevealReason",
    "ReviewNote",
    "ReviewRefused",
    "Reviewer",
    "ReviewerSession",
    "SortKey",
    "StoredReport",
    "Submission",
    "SubmissionRefused",
    "SubmissionStatus",
    "accept_submission",
    "add_review_note",
    "authenticate",
    "claim_job",
    "close_session",
    "cohort_judgements",
    "cohort_points",
    "cohort_summaries",
    "complete_job",
    "create_invite",
    "create_reviewer",
    "current_revision",
    "decisions",
    "enqueue_regrade",
    "fail_job",
    "get_submission",
    "head_revision",
    "heartbeat",
    "invite_candidate",
    "invite_for_token",
    "is_expired",
    "jobs_for_submission",
    "latest_report",
    "latest_submissions",
    "list_invites",
    "list_reviewers",
    "list_submissions",
    "manual_reveals",
    "manual_scores",
    "migrate",
    "open_session",
    "queue_counts",
    "record_decision",
    "record_manual_score",
    "release_job",
    "report_count",
    "rescore_reports",
    "reveal_manual_scores",
    "review_notes",
    "session_for_token",
    "sha256_hex",
    "submission_for_invite",
    "submissions_for_invite",
    "used_submissions",
    "utcnow",
]
