"""Invites: a candidate's unguessable link to one assignment, with an expiry and an allowance.

Only the token's sha256 is stored; the token itself is shown once, when the invite is made.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.store._accounts import sha256_hex
from grader.store._models import Invite, Submission, utcnow

TOKEN_BYTES = 32


def create_invite(session: Session, *, assignment_id: str, cohort: str, label: str,
                  allowance: int, valid_for: timedelta, created_by: str) -> tuple[Invite, str]:
    """A new invite and its token (the only time the token is known)."""
    if allowance < 1:
        raise ValueError("an invite must allow at least one submission")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    invite = Invite(token_sha256=sha256_hex(token), assignment_id=assignment_id,
                    cohort=cohort.strip() or "default", label=label.strip(),
                    allowance=allowance, expires_at=now + valid_for, created_at=now,
                    created_by=created_by)
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
                     allowance: int | None, valid_days: float, created_by: str
                     ) -> tuple[Invite, str]:
    """The invite verb both doors call: allowance defaults to the assignment's max_submissions."""
    with db.write() as session:
        invite, token = create_invite(
            session, assignment_id=assignment_id, cohort=cohort, label=label,
            allowance=allowance if allowance is not None else max_submissions,
            valid_for=timedelta(days=valid_days), created_by=created_by)
    return invite, token
