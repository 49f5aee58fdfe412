"""Invites: a candidate's unguessable link to one assignment, with an expiry and an allowance,
and optionally a working-time limit (what the limits mean: ``grader.submissions``).

Only the token's sha256 is stored; the token itself is shown once, when the invite is made.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.store._accounts import sha256_hex
from grader.store._models import Invite, Submission, utcnow
from grader.text import printable

TOKEN_BYTES = 32
# An accommodation beyond this (five times the limit) is a mistyped number, not a need.
MAX_EXTRA_TIME_PERCENT = 400


def create_invite(session: Session, *, assignment_id: str, cohort: str, label: str,
                  allowance: int, valid_for: timedelta, created_by: str,
                  time_limit: timedelta | None = None, extra_time_percent: int = 0
                  ) -> tuple[Invite, str]:
    """A new invite and its token (the only time the token is known). ``time_limit``: working
    time from the first download of the starter bundle; ``extra_time_percent`` lengthens it."""
    if allowance < 1:
        raise ValueError("an invite must allow at least one submission")
    if time_limit is not None and time_limit.total_seconds() < 60:
        raise ValueError("a working-time limit must be at least one minute")
    if not 0 <= extra_time_percent <= MAX_EXTRA_TIME_PERCENT:
        raise ValueError(f"extra time must be between 0 and {MAX_EXTRA_TIME_PERCENT} percent")
    if extra_time_percent and time_limit is None:
        raise ValueError("extra time lengthens a working-time limit; give the invite one")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    invite = Invite(token_sha256=sha256_hex(token), assignment_id=assignment_id,
                    cohort=printable(cohort, "cohort").strip() or "default",
                    label=printable(label, "label").strip(),
                    allowance=allowance, expires_at=now + valid_for, created_at=now,
                    created_by=created_by,
                    time_limit_seconds=None if time_limit is None
                    else int(time_limit.total_seconds()),
                    extra_time_percent=extra_time_percent, extension_seconds=0)
    session.add(invite)
    session.flush()
    return invite, token


def invite_for_token(session: Session, token: str) -> Invite | None:
    """The invite this token opens (expired or not: callers decide what expiry forbids)."""
    if not token or len(token) > 200:
        return None
    return session.scalars(select(Invite).where(Invite.token_sha256 == sha256_hex(token))).first()


def is_expired(invite: Invite, now: datetime | None = None) -> bool:
    return invite.expires_at <= (now or utcnow())


def used_submissions(session: Session, invite_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Submission)
                          .where(Submission.invite_id == invite_id)) or 0


def list_invites(session: Session, assignment_id: str) -> list[tuple[Invite, int]]:
    """An assignment's invites, newest first, each with its number of submissions."""
    used = (select(Submission.invite_id, func.count().label("used"))
            .group_by(Submission.invite_id).subquery())
    rows = session.execute(
        select(Invite, func.coalesce(used.c.used, 0))
        .outerjoin(used, used.c.invite_id == Invite.id)
        .where(Invite.assignment_id == assignment_id)
        .order_by(Invite.created_at.desc(), Invite.id.desc())).all()
    return [(invite, count) for invite, count in rows]


def invite_candidate(db, *, assignment_id: str, max_submissions: int, cohort: str, label: str,
                     allowance: int | None, valid_days: float, created_by: str,
                     time_limit: timedelta | None = None, extra_time_percent: int = 0
                     ) -> tuple[Invite, str]:
    """The invite verb both doors call: allowance defaults to the assignment's max_submissions."""
    with db.write() as session:
        invite, token = create_invite(
            session, assignment_id=assignment_id, cohort=cohort, label=label,
            allowance=allowance if allowance is not None else max_submissions,
            valid_for=timedelta(days=valid_days), created_by=created_by,
            time_limit=time_limit, extra_time_percent=extra_time_percent)
    return invite, token


def start_invite_clock(db, invite_id: int) -> None:
    """Record the first download of the starter bundle; later downloads change nothing."""
    with db.write() as session:
        session.execute(update(Invite).where(Invite.id == invite_id,
                                             Invite.started_at.is_(None))
                        .values(started_at=utcnow()))


def extend_invite(db, invite_id: int, *, assignment_id: str, working_time: timedelta,
                  window: timedelta) -> Invite | None:
    """A reviewer's extension: the working time's end and the window's end each move later by
    the amount given, counted from now when that end has already passed (so an extension always
    gives the candidate that much time). None when the assignment has no such invite."""
    if working_time < timedelta(0) or window < timedelta(0) or not (working_time or window):
        raise ValueError("an extension adds working time, window time or both, and takes none "
                         "away")
    with db.write() as session:
        invite = session.scalars(select(Invite).where(Invite.id == invite_id,
                                                      Invite.assignment_id == assignment_id)
                                 .with_for_update()).first()
        if invite is None:
            return None
        now = utcnow()
        if working_time:
            if invite.time_limit_seconds is None:
                raise ValueError("this invite has no working-time limit to extend; extend its "
                                 "window instead")
            overdue = _working_overdue(invite, now)
            invite.extension_seconds += int((working_time + overdue).total_seconds())
        if window:
            invite.expires_at = max(invite.expires_at, now) + window
        session.flush()
        return invite


def working_seconds(invite: Invite) -> int | None:
    """The invite's working time: its limit, lengthened by the accommodation, plus extensions;
    None when it has no limit."""
    if invite.time_limit_seconds is None:
        return None
    accommodated = invite.time_limit_seconds * (100 + invite.extra_time_percent) // 100
    return accommodated + invite.extension_seconds


def _working_overdue(invite: Invite, now: datetime) -> timedelta:
    """How long ago the invite's working time ran out (zero when it has not, or not started)."""
    allowed = working_seconds(invite)
    if invite.started_at is None or allowed is None:
        return timedelta(0)
    return max(timedelta(0), now - (invite.started_at + timedelta(seconds=allowed)))
