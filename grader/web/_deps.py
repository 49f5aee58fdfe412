"""Who is asking: the service's state, sessions, reviewers and candidates as ``Annotated`` aliases.

A route's signature states its access. Reviewer JSON routes take a login in one of two ways: a
reviewer's session cookie, or an API token (``Authorization: Bearer``, ``grader.tokens``) holding
the one scope the route names:

- ``ScopedRead`` (scope ``read``): every GET of the reviewer API but the webhooks'.
- ``ScopedInvite`` (``invite``), ``ScopedReview`` (``review``), ``ScopedWebhooks`` (``webhooks``;
  ``ScopedWebhooksRead`` for its GETs): writes; a session must also send the CSRF header.
- ``CurrentReviewer`` (401 without a login) and ``ReviewerWrite`` (plus the CSRF header): a
  session only; a token is refused with 403 (making or revoking tokens, logging out).

A session login may do everything. Pages stay cookie-only: ``ReviewerPage`` (HTML, redirects to
the login page), ``ReviewerForm`` (HTML form post, plus the CSRF field). ``CandidateToken`` (the
invite a path token opens, 404 otherwise). Reviewer access is checked here and nowhere else; what
a token may see past its invite is checked where it is read: a submission only by the invite that
made it, and a candidate's or the login page's form post by its own CSRF field (``_candidate.py``,
``_reviewer.py``).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    SecurityScopes,
)
from sqlalchemy.orm import Session

from grader.preflight import PreflightGate
from grader.settings import Settings
from grader.store import (
    Database,
    Invite,
    api_token_for_secret,
    invite_for_token,
    note_token_use,
    session_for_token,
    token_scopes,
)
from grader.tokens import Scope
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
    token_id: int | None = None  # the API token that made the request; None: a session login


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
_API_TOKEN_SCHEME = "apiToken"
_API_TOKEN = HTTPBearer(scheme_name=_API_TOKEN_SCHEME, auto_error=False,
                        description="an API token (`grader token create`, or POST "
                                    "/api/review/tokens); each operation lists the one scope "
                                    "it needs")


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


def token_login(service: Service, session: Session, secret: str, needed: list[str],
                *, challenge: str = "Bearer") -> ReviewerLogin:
    """The reviewer an API token acts for, when it is live and holds every ``needed`` scope;
    401 for an unknown, revoked or expired token, 403 for a missing scope or a route that takes
    no token at all (no ``needed`` scope)."""
    token = api_token_for_secret(session, secret)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "the API token is unknown, revoked or expired: ask a reviewer for a "
                            "new one (`grader token create`, or POST /api/review/tokens)",
                            headers={"WWW-Authenticate": challenge})
    if not needed:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "this route takes a reviewer's session, not an API token: log in "
                            "with POST /api/review/login")
    missing = sorted(set(needed) - token_scopes(token))
    if missing:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this API token lacks the scope {' '.join(missing)}, which this "
                            "route needs: make a token that holds it (`grader token create "
                            f"--scope {' --scope '.join(missing)}`)")
    with service.db.write() as write:
        note_token_use(write, token)
    return ReviewerLogin(reviewer_id=token.reviewer_id, email=token.reviewer.email,
                         csrf_token="", token_id=token.id)


def require_reviewer(security_scopes: SecurityScopes, service: ServiceDep, session: SessionDep,
                     login: OptionalReviewer,
                     bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_API_TOKEN)]
                     ) -> ReviewerLogin:
    if bearer is not None:
        return token_login(service, session, bearer.credentials, security_scopes.scopes)
    if login is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "a reviewer login is required: log in with POST /api/review/login "
                            "and send the session cookie it sets, or send an API token as "
                            "Authorization: Bearer",
                            headers={"WWW-Authenticate": "Cookie, Bearer"})
    return login


CurrentReviewer = Annotated[ReviewerLogin, Depends(require_reviewer)]


def require_reviewer_write(login: CurrentReviewer,
                           csrf: Annotated[str | None, Depends(_CSRF_HEADER)]) -> ReviewerLogin:
    # CSRF guards credentials a browser attaches by itself (the session cookie). A token rides in
    # the Authorization header, which only code holding the token can set: a cross-site form or
    # fetch cannot, so a token's request needs no CSRF header.
    if login.token_id is None and not tokens_match(login.csrf_token, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"missing or wrong {CSRF_HEADER} header: send the csrf_token the "
                            "login answered with")
    return login


ReviewerWrite = Annotated[ReviewerLogin, Depends(require_reviewer_write)]

# A route's one scope, shown per operation in the OpenAPI document (``Security``).
ScopedRead = Annotated[ReviewerLogin, Security(require_reviewer, scopes=[Scope.READ.value])]
ScopedInvite = Annotated[ReviewerLogin,
                         Security(require_reviewer_write, scopes=[Scope.INVITE.value])]
ScopedReview = Annotated[ReviewerLogin,
                         Security(require_reviewer_write, scopes=[Scope.REVIEW.value])]
ScopedWebhooksRead = Annotated[ReviewerLogin,
                               Security(require_reviewer, scopes=[Scope.WEBHOOKS.value])]
ScopedWebhooks = Annotated[ReviewerLogin,
                           Security(require_reviewer_write, scopes=[Scope.WEBHOOKS.value])]


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


def token_alternative(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with an API token as the other way in: each reviewer operation's
    requirement (the session, and the CSRF header for a write) stands alone, the token with the
    route's scope beside it, and routes that refuse tokens (no scope) without it. Idempotent."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            requirements = operation.get("security", [])
            if len(requirements) != 1 or _API_TOKEN_SCHEME not in requirements[0]:
                continue
            scopes = requirements[0].pop(_API_TOKEN_SCHEME)
            session_only: dict[str, list[str]] = {name: [] for name in requirements[0]}
            operation["security"] = [session_only, *([{_API_TOKEN_SCHEME: scopes}] if scopes
                                                     else [])]
    return document


def candidate_invite(token: str, session: SessionDep) -> CandidateAccess:
    invite = invite_for_token(session, token)
    if invite is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such invite")
    return CandidateAccess(invite=invite, token=token)


CandidateToken = Annotated[CandidateAccess, Depends(candidate_invite)]
