"""Errors as HTTP, in one place: which domain exception answers which status, and how every error
is written.

Every error the app answers is a Problem (RFC 9457): on API routes (``/api/...`` and ``*.json``)
an ``application/problem+json`` body with ``type``, ``title``, ``status``, ``detail`` (written for
the person who reads it) and, when the error has one, ``rule`` (an intake rule's stable code) or
``errors`` (each invalid field); on pages, the HTML error page with the same title and detail.

A core verb raises its own exception; a door does not catch it to pick a status. Mapping a new
exception is one line in ``PROBLEMS``::

    SubmissionRefused: Kind(409, "Submission refused"),

Its ``str()`` becomes the detail, and a ``rule`` attribute (an enum) the Problem's ``rule``. A
subclass answers as its nearest listed base. Routes still document the statuses they answer
(``responses={409: {"model": Problem}}``); ``install`` rewrites every error response of the
OpenAPI document to ``application/problem+json``, and adds the ``default`` (any other error) and
the 422 (invalid request) Problems.
"""

from __future__ import annotations

from enum import Enum
from http import HTTPStatus
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.deliveries import DeliveryRefused
from grader.intake import IntakeError
from grader.judgement import (
    EmptyNote,
    LevelNotOffered,
    RubricUnreadable,
    UnknownAssignment,
    UnknownItem,
    UnknownSubmission,
)
from grader.preflight import PreflightLimited, PreflightUnavailable
from grader.submissions import ExtensionRefused, SubmissionRefused, UnknownInvite
from grader.text import UnprintableText
from grader.web._protocol import malformed_json
from grader.web._render import render
from grader.web._schemas import FieldError, Problem
from grader.web._uploads import BadUpload, UploadTooLarge
from grader.webhooks import WebhookRefused

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Kind(NamedTuple):
    status: int
    title: str


PROBLEMS: dict[type[Exception], Kind] = {
    BadUpload: Kind(400, "No readable zip in the request"),
    SubmissionRefused: Kind(409, "Submission refused"),
    UploadTooLarge: Kind(413, "Upload too large"),
    IntakeError: Kind(422, "Submission zip refused"),
    UnprintableText: Kind(422, "Unprintable text"),
    PreflightLimited: Kind(429, "Pre-flight checks used for this hour"),
    PreflightUnavailable: Kind(503, "Pre-flight check unavailable"),
    UnknownInvite: Kind(404, "No such invite"),
    ExtensionRefused: Kind(422, "Extension refused"),
    UnknownSubmission: Kind(404, "No such submission"),
    UnknownAssignment: Kind(404, "No such assignment"),
    UnknownItem: Kind(404, "No such manual rubric item"),
    RubricUnreadable: Kind(409, "Manual rubric unreadable"),
    LevelNotOffered: Kind(422, "Not a level of the item"),
    EmptyNote: Kind(422, "Empty note"),
    WebhookRefused: Kind(422, "Webhook endpoint refused"),
    DeliveryRefused: Kind(422, "Delivery URL refused"),
}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.model_dump(mode="json", exclude_none=True),
                        status_code=problem.status, headers=headers,
                        media_type=PROBLEM_MEDIA_TYPE)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


def answer(request: Request, problem: Problem, headers: dict[str, str] | None = None
           ) -> Response:
    """The Problem as JSON on API routes, else as the HTML error page."""
    if wants_json(request):
        return problem_response(problem, headers)
    return render(request, "error.html.j2", title=f"{problem.status} {problem.title}",
                  status_code=problem.status, headers=headers, problem=problem)


_ROUTING_DETAILS = {
    404: "Nothing is at this address; check the link (the API's routes are listed at /docs).",
    405: "This address does not take {method} requests; its Allow header lists those it does."}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def from_exception(exc: Exception) -> Problem:
    """The Problem a mapped domain exception answers (its nearest listed base's kind)."""
    kind = next(PROBLEMS[base] for base in type(exc).__mro__ if base in PROBLEMS)
    rule = getattr(exc, "rule", None)
    return Problem(title=kind.title, status=kind.status, detail=str(exc),
                   rule=rule.value if isinstance(rule, Enum) else None)


def from_validation(exc: RequestValidationError, unreadable_body: str | None) -> Problem:
    """The 422 for a request that failed validation; ``unreadable_body`` says why its JSON body
    could not be read, if it could not (then the body's own errors are moot)."""
    errors = [FieldError(loc=[str(part) for part in e["loc"]], msg=e["msg"], type=e["type"])
              for e in exc.errors()]
    if unreadable_body is not None:
        errors = [e for e in errors if e.loc[:1] != ["body"]]
        errors.append(FieldError(loc=["body"], msg=unreadable_body, type="json_invalid"))
    for error in errors:
        if error.loc == ["body"] and error.type == "model_attributes_type":
            error.msg = "the body must be a JSON object sent as Content-Type: application/json"
    where = "; ".join(f"{'.'.join(e.loc)}: {e.msg}" for e in errors)
    return Problem(title="Invalid request", status=422,
                   detail=f"The request was not valid ({where}); fix it and send it again.",
                   errors=errors)


def install(app: FastAPI) -> None:
    """Answer every error as a Problem, and say so in the OpenAPI document."""

    async def domain_error(request: Request, exc: Exception) -> Response:
        return answer(request, from_exception(exc))

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if detail == _title(exc.status_code):  # routing's own 404 and 405 say only their title
            detail = _ROUTING_DETAILS.get(exc.status_code, detail).format(method=request.method)
        problem = Problem(title=_title(exc.status_code), status=exc.status_code, detail=detail)
        return answer(request, problem, headers=getattr(exc, "headers", None))

    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return answer(request, from_validation(exc, malformed_json(request.scope)))

    async def unexpected(request: Request, _exc: Exception) -> Response:
        # Starlette raises the exception again once this is sent, and the server logs it.
        return answer(request, Problem(
            title="Internal Server Error", status=500,
            detail="The grader hit an unexpected error; its operators can see it in the log."))

    for exception in PROBLEMS:
        app.add_exception_handler(exception, domain_error)
    # Starlette types every handler as taking any Exception; these get only their own class.
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, now a Problem
            components.pop(name, None)
        components.update(problem.pop("$defs", {}), Problem=problem)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _problem_responses(operation["responses"])
                if len(operation.get("security", [])) > 1:
                    # FastAPI lists each dependency's scheme as an alternative; a write needs
                    # the session cookie and the CSRF header together: one requirement.
                    operation["security"] = [{name: scopes for requirement in
                                              operation["security"]
                                              for name, scopes in requirement.items()}]
        app.openapi_schema = schema
    return app.openapi_schema


def _problem_responses(responses: dict[str, Any]) -> None:
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = problem
            if code == "422":
                response["description"] = "the request is not valid (see errors)"
    responses["default"] = {"description": "any other error (no such resource, wrong method, "
                                           "the grader's own error)", "content": problem}
