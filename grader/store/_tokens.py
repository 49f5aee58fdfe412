"""API tokens: made by a reviewer, found by their secret's sha256, revoked, listed.

The secret itself is never stored (``grader.tokens``); a token past its expiry or revoked finds
nothing, exactly as an unknown one does. ``TokenPublic`` is what may be shown of one, by the JSON
API and the tokens page (``grader.web._tokens``) and by ``grader token`` alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.store._models import ApiToken, utcnow
from grader.text import printable
from grader.tokens import Scope, check_scopes, display_prefix, new_secret, secret_sha256

# How stale ``last_used_at`` may be: a busy script should not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_scopes(token: ApiToken) -> frozenset[Scope]:
    return frozenset(Scope(name) for name in token.scopes.split())


class TokenPublic(BaseModel):
    """A token as its reviewer and the operator see it: never its secret nor its hash."""

    id: int
    name: str
    prefix: str = Field(description="the token's first characters, to tell it apart")
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute")

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        # Field by field, never from the row's attributes: its secret_sha256 stays out.
        return cls(id=token.id, name=token.name, prefix=token.prefix,
                   scopes=sorted(token_scopes(token)), created_at=token.created_at,
                   expires_at=token.expires_at, revoked_at=token.revoked_at,
                   last_used_at=token.last_used_at)


def create_api_token(session: Session, *, reviewer_id: int, name: str, scopes: Iterable[Scope],
                     expires_at: datetime | None) -> tuple[ApiToken, str]:
    """A new token and its secret (shown only now)."""
    name = printable(name, "name").strip()
    if not name or len(name) > 100:
        raise ValueError("a token needs a name of 1 to 100 characters, saying what uses it")
    chosen = sorted({Scope(scope) for scope in scopes})
    check_scopes(set(chosen))
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValueError("the expiry must be in the future")
    secret = new_secret()
    token = ApiToken(reviewer_id=reviewer_id, name=name, prefix=display_prefix(secret),
                     secret_sha256=secret_sha256(secret), scopes=" ".join(chosen),
                     created_at=now, expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, secret


def api_token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret: None when unknown, revoked or expired."""
    token = session.scalars(select(ApiToken).where(
        ApiToken.secret_sha256 == secret_sha256(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    return token


def note_token_use(session: Session, token: ApiToken) -> None:
    """Record that the token was used, at most once per LAST_USED_RESOLUTION."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))


def list_api_tokens(session: Session, reviewer_id: int | None = None) -> list[ApiToken]:
    """Tokens, newest first: one reviewer's, or everyone's (None: the CLI, run by the operator)."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if reviewer_id is not None:
        query = query.where(ApiToken.reviewer_id == reviewer_id)
    return list(session.scalars(query))


def revoke_api_token(session: Session, token_id: int, *, reviewer_id: int | None = None
                     ) -> ApiToken | None:
    """Revoke a token (again: no change); None when there is no such token, or it belongs to
    another reviewer than ``reviewer_id``."""
    token = session.get(ApiToken, token_id)
    if token is None or (reviewer_id is not None and token.reviewer_id != reviewer_id):
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
