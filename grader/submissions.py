"""Submitting: the invite rule, in one place with one set of messages, and the verb both upload
doors call.

An invite takes a submission while all of these hold (``check_invite``):

    its window is open          ``expires_at``, which reviewers can push back
    its working time is left    when time-boxed: ``time_limit_seconds`` lengthened by the
                                accommodation (``extra_time_percent``) and reviewers' extensions,
                                counted from the first download of the starter bundle
    its allowance is not used   ``allowance`` submissions in all
    its assignment is served    the catalogue has a valid spec by its id

The doors call ``check_can_submit`` before reading a body, so a refused candidate does not send
megabytes for nothing, then ``submit``: intake, then the submission and its grading job stored in
one transaction under the invite's lock, where the same rule decides racing uploads.

A graded submission's released fields reach its candidate when the assignment's
``release.feedback`` says: immediately, once the invite takes no more uploads, or never
(``feedback_now``).

Reviewers extend an invite with ``extend_time``: more working time, a later end of the window, or
both (each counted from now when it has already passed).

Exceptions. Every ``SubmissionRefused`` has a message written for the candidate, and nothing was
stored when one is raised:

    InviteExpired          the invite's window has closed
    TimeLimitReached       the invite's working time has run out
    AllowanceUsed          every submission the invite allows has been made
    AssignmentUnavailable  the assignment's spec is missing or invalid right now

and for reviewers:

    UnknownInvite          the assignment has no invite by that id
    ExtensionRefused       the extension makes no sense for this invite (nothing changed)
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from grader import webhooks
from grader.intake import IntakeRules, extract_submission
from grader.spec import Assignment, FeedbackRelease
from grader.store import (
    Database,
    Invite,
    Submission,
    accept_submission,
    extend_invite,
    start_invite_clock,
    utcnow,
    working_seconds,
)


class SubmissionRefused(Exception):
    """The invite cannot take a submission now; the message says why and what to do."""


class InviteExpired(SubmissionRefused):
    def __init__(self, invite: Invite) -> None:
        super().__init__(f"This invite expired on {_when(invite.expires_at)}, so uploads are no "
                         f"longer accepted. {_contact(invite)}")


class TimeLimitReached(SubmissionRefused):
    def __init__(self, invite: Invite, box: TimeBox) -> None:
        assert box.started_at is not None and box.working_seconds is not None
        super().__init__(
            f"Your working time ({_duration(box.working_seconds)}, counted from your first "
            f"download of the starter bundle on {_when(box.started_at)}) ended on "
            f"{_when(box.deadline)}, so uploads are no longer accepted. Submissions you made "
            f"before then are kept and graded. {_contact(invite)}")


class AllowanceUsed(SubmissionRefused):
    def __init__(self, invite: Invite) -> None:
        super().__init__(f"All {invite.allowance} submissions this invite allows have been "
                         "used.")


class AssignmentUnavailable(SubmissionRefused):
    def __init__(self) -> None:
        super().__init__("This assignment is not available right now; try again later.")


class UnknownInvite(Exception):
    def __init__(self, assignment_id: str, invite_id: int) -> None:
        super().__init__(f"assignment {assignment_id!r} has no invite {invite_id}")


class ExtensionRefused(Exception):
    """The extension asked for cannot apply to this invite; the message says why."""


class TimeBox(BaseModel):
    """When an invite stops taking uploads, as its candidate may see it."""

    window_closes_at: datetime = Field(description="the end of the invite's overall window")
    working_seconds: int | None = Field(
        description="the working time allowed, accommodation and extensions included; null when "
                    "only the window applies")
    started_at: datetime | None = Field(
        description="the first download of the starter bundle, which starts the working time")
    deadline: datetime = Field(
        description="when uploads stop: the window's end, or the working time's if earlier")
    seconds_left: int = Field(description="until the deadline, when this was answered")
    closed: bool = Field(description="the deadline has passed")


def time_box(invite: Invite, now: datetime | None = None) -> TimeBox:
    now = now or utcnow()
    working = working_seconds(invite)
    deadline = invite.expires_at
    if working is not None and invite.started_at is not None:
        deadline = min(deadline, invite.started_at + timedelta(seconds=working))
    left = int((deadline - now).total_seconds())
    return TimeBox(window_closes_at=invite.expires_at, working_seconds=working,
                   started_at=invite.started_at, deadline=deadline, seconds_left=max(0, left),
                   closed=left <= 0)


class Feedback(StrEnum):
    """What a candidate is shown of a graded submission now (``release.feedback``)."""

    RELEASED = "released"  # the fields the assignment releases
    AFTER_CLOSE = "after_close"  # nothing yet: they show once the invite takes no more uploads
    WITHHELD = "withheld"  # nothing: the hiring team shares results themselves


def feedback_now(release: FeedbackRelease, invite: Invite, now: datetime | None = None
                 ) -> Feedback:
    if release == "never":
        return Feedback.WITHHELD
    if release == "after_close" and not time_box(invite, now).closed:
        return Feedback.AFTER_CLOSE
    return Feedback.RELEASED


def check_invite(invite: Invite, used: int, now: datetime | None = None) -> None:
    """The invite rule: raise the ``SubmissionRefused`` that applies, if any."""
    box = time_box(invite, now)
    if box.closed:
        raise InviteExpired(invite) if box.deadline == invite.expires_at \
            else TimeLimitReached(invite, box)
    if used >= invite.allowance:
        raise AllowanceUsed(invite)


def check_can_submit(invite: Invite, used: int, assignment: Assignment | None) -> None:
    """The rule at the door, before any body is read: ``used`` is the invite's submissions."""
    if assignment is None:
        raise AssignmentUnavailable()
    check_invite(invite, used)


def submit(db: Database, invite: Invite, assignment: Assignment | None, upload: Path, *,
           size_bytes: int, rules: IntakeRules, submissions_root: Path) -> Submission:
    """Intake the zip (nothing written on an ``IntakeError``), then store the submission and its
    grading job under the invite rule, or nothing. Blocking: run it in a worker thread."""
    if assignment is None:
        raise AssignmentUnavailable()
    files_dir = uuid.uuid4().hex
    destination = submissions_root / files_dir
    submissions_root.mkdir(parents=True, exist_ok=True)
    stored = extract_submission(upload, destination, rules=rules,
                                required_files=assignment.candidate.required_files)
    try:
        submission = accept_submission(db, invite_id=invite.id, sha256=stored.sha256,
                                       size_bytes=size_bytes, files_dir=files_dir,
                                       admit=check_invite)
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    webhooks.submission_received(db, submission.id)
    return submission


def starter_downloaded(db: Database, invite: Invite) -> None:
    """The candidate has the bundle: a time-boxed invite's working time starts now, once."""
    start_invite_clock(db, invite.id)


def extend_time(db: Database, *, assignment_id: str, invite_id: int, working_time: timedelta,
                window: timedelta) -> Invite:
    """A reviewer's extension of one invite (``store.extend_invite``); the invite as it is now."""
    try:
        invite = extend_invite(db, invite_id, assignment_id=assignment_id,
                               working_time=working_time, window=window)
    except ValueError as exc:
        raise ExtensionRefused(str(exc)) from exc
    if invite is None:
        raise UnknownInvite(assignment_id, invite_id)
    return invite


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else round(seconds / 60)


def _minutes_worked(submission: Submission) -> int | None:
    started = submission.invite.started_at
    if started is None:
        return None
    return round((submission.created_at - started).total_seconds() / 60)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()  # the store's times are aware, UTC


# The cohort CSV's columns on a submission's invite time, beside its scores: (name, cell). Empty
# cells (None) on an invite without a working-time limit, or whose bundle was never downloaded.
TIME_BOX_COLUMNS: list[tuple[str, Callable[[Submission], int | str | None]]] = [
    ("time_limit_minutes", lambda s: _minutes(s.invite.time_limit_seconds)),
    ("extra_time_percent", lambda s: s.invite.extra_time_percent),
    ("extension_minutes", lambda s: _minutes(s.invite.extension_seconds)),
    ("started_at", lambda s: _iso(s.invite.started_at)),
    ("deadline", lambda s: _iso(time_box(s.invite).deadline)),
    ("minutes_from_start", _minutes_worked),
]


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _duration(seconds: int) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    return " ".join(part for part in (f"{hours} h" if hours else "",
                                      f"{minutes} min" if minutes or not hours else "") if part)


def _contact(invite: Invite) -> str:
    who = f" ({invite.created_by})" if "@" in invite.created_by else ""
    return (f"If you need more time, ask the person who sent you this invite{who}: they can "
            "extend it.")
