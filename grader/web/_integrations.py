"""Applicant tracking systems' doors under ``/api/integrations/<ats>/``: each call is
authenticated, translated by its ATS module and answered from the shared core
(``grader.integrations``). Greenhouse's and Ashby's calls are named and shaped as their partner
APIs say.

An ATS authenticates with HTTP Basic, as both do: the username is an API token holding the
ATS's scope (``integration:greenhouse``, ``integration:ashby``), the password is blank
(ignored). The token never reaches the reviewer API's other routes unless it also holds their
scopes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Security, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials, SecurityScopes

from grader import integrations
from grader.integrations import Offer, UnknownInterview, ashby, greenhouse
from grader.tokens import Scope
from grader.web._deps import ReviewerLogin, ServiceDep, SessionDep, token_login
from grader.web._schemas import Problem

router = APIRouter()
log = logging.getLogger("grader.web.integrations")

_CHALLENGE = 'Basic realm="grader"'
_BASIC = HTTPBasic(scheme_name="atsKey", realm="grader", auto_error=False,
                   description="an API token holding the ATS's scope as the username, a blank "
                               "password (`grader token create --scope integration:greenhouse`)")
LOGGED_CHARS = 2000  # of what an ATS says went wrong
ATS_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no token, or an unknown, revoked or expired one"},
    403: {"model": Problem, "description": "the token lacks the ATS's scope"}}


@dataclass(frozen=True)
class AtsLogin:
    reviewer: ReviewerLogin  # whom the token acts for
    key: str                 # the token as the ATS sent it (Greenhouse's PATCH sends it back)


def ats_login(security_scopes: SecurityScopes, service: ServiceDep, session: SessionDep,
              credentials: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)]
              ) -> AtsLogin:
    if credentials is None or not credentials.username:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "send an API token holding this ATS's scope as the HTTP Basic "
                            "username, with a blank password",
                            headers={"WWW-Authenticate": _CHALLENGE})
    reviewer = token_login(service, session, credentials.username, security_scopes.scopes,
                           challenge=_CHALLENGE)
    return AtsLogin(reviewer=reviewer, key=credentials.username)


GreenhouseLogin = Annotated[AtsLogin,
                            Security(ats_login, scopes=[Scope.GREENHOUSE.value])]


def _offers(service: ServiceDep) -> list[Offer]:
    """The assignments in the folder whose spec is valid, by id and title."""
    return [Offer(test_id=entry.id, name=entry.assignment.title)
            for entry in service.catalog.entries() if entry.assignment is not None]


@router.get("/api/integrations/greenhouse/list_tests", response_model=list[greenhouse.PartnerTest],
            tags=["greenhouse"], responses=ATS_ERRORS)
def greenhouse_list_tests(_login: GreenhouseLogin, service: ServiceDep
                          ) -> list[greenhouse.PartnerTest]:
    """The assignments offered, as Greenhouse's tests."""
    return greenhouse.tests(_offers(service))


@router.post("/api/integrations/greenhouse/send_test", response_model=greenhouse.SendTestAnswer,
             tags=["greenhouse"],
             responses={404: {"model": Problem, "description": "no such test (assignment)"},
                        422: {"model": Problem, "description": "an invalid request or a "
                                                                "callback url the grader "
                                                                "cannot deliver to"},
                        **ATS_ERRORS})
def greenhouse_send_test(login: GreenhouseLogin, body: greenhouse.SendTest, service: ServiceDep
                         ) -> greenhouse.SendTestAnswer:
    """An invite to the test's assignment for the candidate; its link is in test_status's
    metadata until the first upload (the grader sends no email). ``url``, when given, is sent
    a PATCH with the same Basic key once a report is stored."""
    found = service.catalog.get(body.partner_test_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no test {body.partner_test_id!r}: list_tests names the tests "
                            "offered")
    # The key Greenhouse sent is the one its PATCH expects back (its documentation's example),
    # so it is kept on the link; revoking the token voids it as well. Greenhouse retries a
    # send_test it got no answer to: the candidate's open interview is answered again.
    sent = integrations.send(
        service.db, service.settings, integration=greenhouse.NAME,
        assignment_id=found.assignment.id,
        max_submissions=found.assignment.candidate.max_submissions,
        label=greenhouse.label(body.candidate),
        candidate_ref=body.candidate.greenhouse_profile_url or body.candidate.email,
        callback_url=body.url,
        callback_authorization=greenhouse.basic_authorization(login.key) if body.url else None,
        token_id=login.reviewer.token_id, reviewer_id=login.reviewer.reviewer_id,
        created_by=f"{login.reviewer.email} ({greenhouse.NAME})")
    return greenhouse.SendTestAnswer(partner_interview_id=sent.interview_id)


@router.get("/api/integrations/greenhouse/test_status", response_model=greenhouse.TestStatus,
            tags=["greenhouse"],
            responses={404: {"model": Problem, "description": "no such interview"},
                       **ATS_ERRORS})
def greenhouse_test_status(login: GreenhouseLogin, service: ServiceDep,
                           partner_interview_id: Annotated[str, Query(max_length=64)]
                           ) -> greenhouse.TestStatus:
    """The interview's status: ``complete`` with the score and the report link once graded."""
    try:
        found = integrations.status(service.db, service.settings, integration=greenhouse.NAME,
                                    interview_id=partner_interview_id,
                                    reviewer_id=login.reviewer.reviewer_id)
    except UnknownInterview as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return greenhouse.test_status(found)


@router.post("/api/integrations/greenhouse/response_error", status_code=200, tags=["greenhouse"],
             responses=ATS_ERRORS)
def greenhouse_response_error(_login: GreenhouseLogin, body: greenhouse.ResponseError) -> None:
    """Greenhouse reports an answer it found malformed; it is logged for the operator."""
    # Quoted and cut: the text is the caller's, and a newline or an escape in it would forge
    # log lines (or repaint the operator's terminal); a megabyte of it would flood the log.
    said = repr("; ".join(body.errors))
    log.warning("Greenhouse found the %r answer malformed (interview %r): %s", body.api_call,
                body.partner_interview_id,
                said if len(said) <= LOGGED_CHARS else said[:LOGGED_CHARS] + "... (cut)")


# --- Ashby ------------------------------------------------------------------------------------

AshbyLogin = Annotated[AtsLogin, Security(ats_login, scopes=[Scope.ASHBY.value])]


def _ashby_refusal(status_code: int, message: str) -> JSONResponse:
    return JSONResponse(ashby.Refusal(message=message).model_dump(), status_code=status_code)


@router.post("/api/integrations/ashby/assessment.list", response_model=ashby.AssessmentList,
             tags=["ashby"], responses=ATS_ERRORS)
def ashby_list(_login: AshbyLogin, service: ServiceDep) -> ashby.AssessmentList:
    """The assignments offered, as Ashby's assessment types."""
    return ashby.assessment_types(_offers(service))


@router.post("/api/integrations/ashby/assessment.start", response_model=ashby.StartAnswer,
             tags=["ashby"],
             responses={409: {"model": ashby.Refusal, "description": "the candidate already "
                                                                     "has this assessment open"},
                        422: {"model": ashby.Refusal, "description": "no such assessment type "
                                                                     "(shown to the Ashby user)"},
                        **ATS_ERRORS})
def ashby_start(login: AshbyLogin, body: ashby.StartAssessment, service: ServiceDep
                ) -> ashby.StartAnswer | JSONResponse:
    """An invite to the assessment type's assignment for the candidate; the answer's
    ``update_request`` carries the candidate's link (the grader sends no email)."""
    found = service.catalog.get(body.assessment_type_id)
    if found is None:
        return _ashby_refusal(422, f"The grader offers no assessment {body.assessment_type_id!r}"
                                   "; pick one from the list again.")
    sent = integrations.send(
        service.db, service.settings, integration=ashby.NAME, assignment_id=found.assignment.id,
        max_submissions=found.assignment.candidate.max_submissions,
        label=ashby.label(body.candidate), candidate_ref=body.candidate.ashby_id,
        callback_url=None, callback_authorization=None, token_id=login.reviewer.token_id,
        reviewer_id=login.reviewer.reviewer_id,
        created_by=f"{login.reviewer.email} ({ashby.NAME})")
    if sent.reused:
        # Ashby's partner API answers a start for an open assessment with a refusal.
        return _ashby_refusal(409, "This candidate already has this assessment open; cancel it "
                                   "first to send a new one.")
    now = integrations.status(service.db, service.settings, integration=ashby.NAME,
                              interview_id=sent.interview_id,
                              reviewer_id=login.reviewer.reviewer_id)
    return ashby.StartAnswer(results=ashby.Started(assessment_id=sent.interview_id,
                                                   update_request=ashby.update(now)))


@router.post("/api/integrations/ashby/assessment.cancel", response_model=ashby.CancelAnswer,
             tags=["ashby"],
             responses={404: {"model": Problem, "description": "no such assessment"},
                        **ATS_ERRORS})
def ashby_cancel(login: AshbyLogin, body: ashby.CancelAssessment, service: ServiceDep
                 ) -> ashby.CancelAnswer:
    """The candidate's invite takes no more uploads; what was submitted is still graded."""
    try:
        integrations.cancel(service.db, integration=ashby.NAME, interview_id=body.assessment_id,
                            reviewer_id=login.reviewer.reviewer_id)
    except UnknownInterview as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return ashby.CancelAnswer()
