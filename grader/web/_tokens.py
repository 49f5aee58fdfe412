"""A reviewer's API tokens, on a page and over the JSON API: list, make (the secret answered
once), revoke.

Every route takes a reviewer's session (``CurrentReviewer``, ``ReviewerWrite``, and the page's
``ReviewerPage``, ``ReviewerForm``): a token never
makes, lists or revokes tokens, so a leaked token cannot outlive its revocation by minting
another. A reviewer sees and revokes only their own tokens; ``grader token`` (the operator's CLI)
sees everyone's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator

from grader.store import TokenPublic, create_api_token, list_api_tokens, revoke_api_token, utcnow
from grader.text import UNPRINTABLE_PATTERN, printable
from grader.tokens import SCOPE_DESCRIPTIONS, Scope, check_scopes
from grader.web._deps import (
    CurrentReviewer,
    ReviewerForm,
    ReviewerLogin,
    ReviewerPage,
    ReviewerWrite,
    Service,
    ServiceDep,
    SessionDep,
)
from grader.web._params import TokenId
from grader.web._render import render
from grader.web._schemas import Problem

router = APIRouter()

MIN_DAYS = 1 / (24 * 60)
SESSION_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem}, 403: {"model": Problem, "description": "a CSRF header is missing, "
                                   "or an API token was sent: tokens never manage tokens"}}


class TokenCreate(BaseModel):
    name: Annotated[str, BeforeValidator(
        lambda value: printable(value, "name") if isinstance(value, str) else value)] = Field(
        min_length=1, max_length=100, json_schema_extra={"pattern": UNPRINTABLE_PATTERN},
        description="what uses the token (a script, an ATS)")
    scopes: list[Scope] = Field(
        min_length=1, max_length=len(Scope),
        description="what the token may do; each route needs one; an integration: scope "
                    "stands alone",
        # The validator's rule, stated for clients: one scope, or none of an ATS's.
        json_schema_extra={"anyOf": [{"maxItems": 1}, {"items": {"enum": [
            scope.value for scope in Scope if not scope.value.startswith("integration:")]}}]})
    # At least a minute: a sliver of a day would round to an expiry already past.
    expires_in_days: float | None = Field(None, ge=MIN_DAYS, le=3650,
                                          description="default: never expires; at least a "
                                                      "minute (1/1440)")

    @field_validator("scopes")
    @classmethod
    def _combination(cls, scopes: list[Scope]) -> list[Scope]:
        check_scopes(set(scopes))
        return scopes


class TokenCreated(TokenPublic):
    token: str = Field(description="the secret: shown only now, only its sha256 is kept")


@router.get("/api/review/tokens", response_model=list[TokenPublic], tags=["tokens"],
            responses=SESSION_ERRORS)
def api_tokens(login: CurrentReviewer, session: SessionDep) -> list[TokenPublic]:
    """Your API tokens, newest first, revoked ones too (never their secrets)."""
    return [TokenPublic.of(t) for t in list_api_tokens(session, login.reviewer_id)]


def _create(service: Service, login: ReviewerLogin, body: TokenCreate) -> TokenCreated:
    expires = (utcnow() + timedelta(days=body.expires_in_days)
               if body.expires_in_days is not None else None)
    with service.db.write() as session:
        token, secret = create_api_token(session, reviewer_id=login.reviewer_id, name=body.name,
                                         scopes=body.scopes, expires_at=expires)
        return TokenCreated(**TokenPublic.of(token).model_dump(), token=secret)


def _revoke(service: Service, login: ReviewerLogin, token_id: int) -> None:
    with service.db.write() as session:
        if revoke_api_token(session, token_id, reviewer_id=login.reviewer_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"none of your tokens has the id {token_id}; GET "
                                "/api/review/tokens lists them")


@router.post("/api/review/tokens", status_code=201, response_model=TokenCreated,
             tags=["tokens"], responses=SESSION_ERRORS)
def api_create_token(login: ReviewerWrite, body: TokenCreate, service: ServiceDep
                     ) -> TokenCreated:
    """A new token acting for you with the scopes given; its secret is answered only now."""
    return _create(service, login, body)


@router.delete("/api/review/tokens/{token_id}", status_code=204, tags=["tokens"],
               responses={404: {"model": Problem, "description": "none of your tokens has this "
                                                               "id"}, **SESSION_ERRORS})
def api_revoke_token(login: ReviewerWrite, token_id: TokenId, service: ServiceDep) -> Response:
    """Revoke one of your tokens: from now on it is refused (401). Revoking again is harmless."""
    _revoke(service, login, token_id)
    return Response(status_code=204)


# --- the page ---------------------------------------------------------------------------------

def _page(request: Request, login: ReviewerLogin, service: Service,
          created: TokenCreated | None = None) -> Response:
    with service.db.read() as session:
        tokens = [TokenPublic.of(t) for t in list_api_tokens(session, login.reviewer_id)]
    return render(request, "review_tokens.html.j2", title="API tokens", login=login,
                  tokens=tokens, scopes=SCOPE_DESCRIPTIONS, created=created)


@router.get("/review/tokens", include_in_schema=False)
def page_tokens(request: Request, login: ReviewerPage, service: ServiceDep) -> Response:
    return _page(request, login, service)


@router.post("/review/tokens", include_in_schema=False)
def page_create_token(request: Request, login: ReviewerForm, service: ServiceDep,
                      name: Annotated[str, Form(min_length=1, max_length=100)],
                      scopes: Annotated[list[Scope], Form(min_length=1)],
                      expires_in_days: Annotated[float | None, Form(ge=MIN_DAYS, le=3650)] = None
                      ) -> Response:
    try:
        body = TokenCreate(name=name, scopes=scopes, expires_in_days=expires_in_days)
    except ValidationError as exc:  # answered as the JSON route's body would be: 422
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from exc
    return _page(request, login, service, _create(service, login, body))


@router.post("/review/tokens/{token_id}/revoke", include_in_schema=False)
def page_revoke_token(login: ReviewerForm, token_id: TokenId, service: ServiceDep) -> Response:
    _revoke(service, login, token_id)
    return RedirectResponse(f"/review/tokens#token-{token_id}", status_code=303)
