"""Who is asking: the service's state, sessions, reviewers and candidates as ``Annotated`` aliases.

A route's signature states its access: ``CurrentReviewer`` (JSON API, 401 without a login),
``ReviewerWrite`` (the same plus the CSRF header), ``ReviewerPage`` (HTML, redirects to the login
page), ``ReviewerForm`` (HTML form post, plus the CSRF field), ``CandidateToken`` (the invite a
path token opens, 404 otherwise). Reviewer access is checked here and nowhere else; what a
token may see past its invite is checked where it is read: a submission only by the invite that
made it, and a candidate's or the login page's form post by its own CSRF field (``_candidate.py``,
``_reviewer.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, APIKeyHeader
from sqlalchemy.orm import Session

from grader.preflight import PreflightGate
from grader.settings import Settings
from grader.store import Database, Invite, invite_for_token, session_for_token
from grader.web._catalog import Catalog
from grader.web._security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Signing, tokens_match
from grader.web._similarity import SimilarityCache
from grader.worker import WorkerPool


@dataclass
class Service:
    """Everything a request may need, made once by ``create_app``."""

    settings: Settings
    db: Database
    catalog: Catalog
    signing: Signing
    templates: jinja2.Environment
    submissions_root: Path
    uploads_dir: Path
    pool: WorkerPool | None = None
    similarity: SimilarityCache = field(default_factory=SimilarityCache)
    preflight: PreflightGate = field(default_factory=PreflightGate)


@dataclass(frozen=True)
class ReviewerLogin:
    reviewer_id: int
    email: str
    csrf_token: str


@dataclass(frozen=True)
class CandidateAccess:
    invite: Invite
    token: str


class LoginRequired(Exception):
    """An HTML page needs a reviewer; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def read_session(service: ServiceDep) -> Iterator[Session]:
    with service.db.read() as session:
        yield session


SessionDep = Annotated[Session, Depends(read_session)]


# As security schemes, so the OpenAPI document says which operations need a login and the header.
_SESSION_COOKIE = APIKeyCookie(name=SESSION_COOKIE, scheme_name="reviewerSession",
                               auto_error=False, description="set by POST /api/review/login")
_CSRF_HEADER = APIKeyHeader(name=CSRF_HEADER, scheme_name="csrfToken", auto_error=False,
                            description="the csrf_token POST /api/review/login answers with")


def optional_reviewer(service: ServiceDep, session: SessionDep,
                      cookie: Annotated[str | None, Depends(_SESSION_COOKIE)]
                      ) -> ReviewerLogin | None:
    token = service.signing.unsign_session(cookie)
    if token is None:
        return None
    found = session_for_token(session, token)
    if found is None:
        return None
    return ReviewerLogin(reviewer_id=found.reviewer_id, email=found.reviewer.email,
                         csrf_token=found.csrf_token)


OptionalReviewer = Annotated[ReviewerLogin | None, Depends(optional_reviewer)]


def require_reviewer(login: OptionalReviewer) -> ReviewerLogin:
    if login is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "a reviewer login is required: log in with POST /api/review/login "
                            "and send the session cookie it sets",
                            headers={"WWW-Authenticate": "Cookie"})
    return login


CurrentReviewer = Annotated[ReviewerLogin, Depends(require_reviewer)]


def require_reviewer_write(login: CurrentReviewer,
                           csrf: Annotated[str | None, Depends(_CSRF_HEADER)]) -> ReviewerLogin:
    if not tokens_match(login.csrf_token, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"missing or wrong {CSRF_HEADER} header: send the csrf_token the "
                            "login answered with")
    return login


ReviewerWrite = Annotated[ReviewerLogin, Depends(require_reviewer_write)]


def require_reviewer_page(request: Request, login: OptionalReviewer) -> ReviewerLogin:
    if login is None:
        raise LoginRequired(request.url.path)
    return login


ReviewerPage = Annotated[ReviewerLogin, Depends(require_reviewer_page)]


async def require_reviewer_form(request: Request, login: ReviewerPage) -> ReviewerLogin:
    form = await request.form(max_files=0, max_fields=20)
    submitted = form.get(CSRF_FIELD)
    if not isinstance(submitted, str) or not tokens_match(login.csrf_token, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or "
                                                       "wrong; reload the page and try again")
    return login


ReviewerForm = Annotated[ReviewerLogin, Depends(require_reviewer_form)]


def candidate_invite(token: str, session: SessionDep) -> CandidateAccess:
    invite = invite_for_token(session, token)
    if invite is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such invite")
    return CandidateAccess(invite=invite, token=token)


CandidateToken = Annotated[CandidateAccess, Depends(candidate_invite)]
