"""Reviewer accounts and their login sessions. Passwords are hashed with argon2id."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.store._models import Reviewer, ReviewerSession, utcnow

MIN_PASSWORD_CHARS = 12


class AccountError(Exception):
    """A reviewer account could not be created (a taken email, a weak password)."""


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, with argon2-cffi's current RFC 9106 "low memory" profile


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_reviewer(session: Session, email: str, password: str) -> Reviewer:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise AccountError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    reviewer = Reviewer(email=email, password_hash=_hasher().hash(password), created_at=utcnow())
    session.add(reviewer)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AccountError(f"a reviewer {email} already exists") from exc
    return reviewer


def authenticate(session: Session, email: str, password: str) -> Reviewer | None:
    """The reviewer with this email and password, or None (in about the same time either way)."""
    reviewer = session.scalars(
        select(Reviewer).where(Reviewer.email == email.strip().lower())).first()
    try:
        _hasher().verify(reviewer.password_hash if reviewer else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if reviewer is None:
        return None
    if _hasher().check_needs_rehash(reviewer.password_hash):
        reviewer.password_hash = _hasher().hash(password)
    return reviewer


def list_reviewers(session: Session) -> list[Reviewer]:
    return list(session.scalars(select(Reviewer).order_by(Reviewer.email)))


def open_session(session: Session, reviewer: Reviewer, *, hours: float) -> tuple[str, str]:
    """A new login: returns (token for the cookie, CSRF token for its forms)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(ReviewerSession).where(ReviewerSession.expires_at < now))
    session.add(ReviewerSession(token_sha256=sha256_hex(token), reviewer_id=reviewer.id,
                                csrf_token=csrf, created_at=now,
                                expires_at=now + timedelta(hours=hours)))
    return token, csrf


def session_for_token(session: Session, token: str) -> ReviewerSession | None:
    """The unexpired login this cookie token names, or None."""
    found = session.get(ReviewerSession, sha256_hex(token))
    if found is None or found.expires_at < utcnow():
        return None
    return found


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ReviewerSession).where(
        ReviewerSession.token_sha256 == sha256_hex(token)))
