"""Candidate pages and their JSON twins: the invite, the starter bundle, uploads, status.

Every route takes ``CandidateToken``: the invite its path token opens. Submissions are always
looked up through that invite (``submission_for_invite``), so a token sees only its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from grader.authoring import BundleRefused
from grader.environment_fit import EnvironmentUnreadable, session_preload
from grader.instance import InstanceError
from grader.preflight import PreflightResult, PreflightUnavailable, run_preflight
from grader.report import Report
from grader.store import (
    Submission,
    SubmissionStatus,
    grading_progress,
    is_expired,
    latest_report,
    submission_for_invite,
    submissions_for_invite,
)
from grader.submissions import Feedback, feedback_now, starter_downloaded, time_box
from grader.web._deps import CandidateAccess, CandidateToken, Service, ServiceDep, SessionDep
from grader.web._markdown import render_markdown
from grader.web._params import SubmissionId
from grader.web._problems import PROBLEMS, from_exception
from grader.web._progress import progress_view
from grader.web._render import render
from grader.web._schemas import CandidateInvite, CandidateProgress, CandidateSubmission, Problem
from grader.web._security import CSRF_FIELD
from grader.web._uploads import (
    Received,
    accept_upload,
    check_can_submit,
    receive_zip,
)

log = logging.getLogger("grader.web")
T = TypeVar("T")
router = APIRouter()

FINAL = {SubmissionStatus.GRADED, SubmissionStatus.ERRORED}
ERRORED_MESSAGE = ("Grading could not be completed because of a problem on our side. The hiring "
                   "team can see it and will re-grade your submission.")
# The app's policy (``_app.SECURITY_HEADERS``) but for the scripts the candidate pages run, from
# this origin: the status page polls the submission's JSON and shows the progress
# (static/candidate.js); the invite page counts a time-boxed invite's time down (countdown.js).
STATUS_PAGE_CSP = ("default-src 'self'; style-src 'self'; img-src 'self' data:; "
                   "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                   "base-uri 'none'")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/zip": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "the zip is over the size cap"},
    422: {"model": Problem, "description": "the zip breaks an intake rule"},
    409: {"model": Problem, "description": "expired, or the allowance is used up"},
    400: {"model": Problem, "description": "no zip in the request"}}


def _base(access: CandidateAccess) -> str:
    return f"/i/{access.token}"


def candidate_view(service: Service, access: CandidateAccess, submission: Submission,
                   report: Report | None, *, number: int,
                   progress: CandidateProgress | None = None) -> CandidateSubmission:
    """Only what the assignment releases: ``report.for_candidate(release.candidate_fields)``.
    ``number`` is the submission's place among its invite's uploads (1 for the first)."""
    final = submission.status in FINAL
    result = None
    found = service.catalog.get(submission.assignment_id)
    feedback = feedback_now(found.assignment.release.feedback, access.invite) if found \
        else Feedback.RELEASED
    if submission.status == SubmissionStatus.ERRORED:
        result = {"status": "error", "message": ERRORED_MESSAGE}
    elif final and report is not None and feedback == Feedback.RELEASED:
        fields: list[str] = list(found.assignment.release.candidate_fields) if found else []
        result = report.for_candidate(fields)
    return CandidateSubmission(id=submission.id, number=number, status=submission.status,
                               final=final, created_at=submission.created_at,
                               graded_at=submission.graded_at, progress=progress, result=result,
                               feedback=feedback, results_from=time_box(access.invite).deadline
                               if feedback == Feedback.AFTER_CLOSE else None,
                               url=f"{_base(access)}/submissions/{submission.id}")


def _invite_view(service: Service, access: CandidateAccess, session) -> CandidateInvite:
    invite = access.invite
    found = service.catalog.get(invite.assignment_id)
    submissions = submissions_for_invite(session, invite.id)
    # Newest first: the last in the list is the candidate's first upload.
    views = [candidate_view(service, access, s,
                            latest_report(session, s.id) if s.status in FINAL else None,
                            number=len(submissions) - index)
             for index, s in enumerate(submissions)]
    return CandidateInvite(
        assignment_id=invite.assignment_id,
        assignment_title=found.assignment.title if found else invite.assignment_id,
        summary=found.assignment.summary if found else "", label=invite.label,
        allowance=invite.allowance, used=len(submissions),
        remaining=max(0, invite.allowance - len(submissions)), expires_at=invite.expires_at,
        expired=is_expired(invite), time_box=time_box(invite),
        starter_url=f"{_base(access)}/starter.zip",
        upload_url=f"/api/candidate/{access.token}/submissions", submissions=views)


def _own_submission(session, access: CandidateAccess, submission_id: int) -> Submission:
    submission = submission_for_invite(session, access.invite.id, submission_id)
    if submission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such submission for this invite")
    return submission


def _status_view(service: Service, access: CandidateAccess, session,
                 submission: Submission) -> CandidateSubmission:
    """One submission with its number among the invite's, and its progress while pending."""
    number = sum(1 for s in submissions_for_invite(session, access.invite.id)
                 if s.id <= submission.id)
    if submission.status in FINAL:
        return candidate_view(service, access, submission, latest_report(session, submission.id),
                              number=number)
    pending = grading_progress(session, submission.id)
    return candidate_view(service, access, submission, None, number=number,
                          progress=progress_view(pending) if pending else None)


async def _upload(request: Request, service: Service, access: CandidateAccess, session,
                  *, form_csrf: bool) -> Submission:
    """The shared verb of both doors; raises the errors each door answers in its own way."""
    return await _with_zip(request, service, access, session, form_csrf=form_csrf,
                           work=lambda received: accept_upload(service, access.invite, received))


async def _with_zip(request: Request, service: Service, access: CandidateAccess, session, *,
                    form_csrf: bool, work: Callable[[Received], T]) -> T:
    """The invite rule before a byte is read (a closed invite is told so at once), the zip
    received, the form's CSRF token checked, then ``work`` on it in a worker thread."""
    check_can_submit(service, access.invite, len(submissions_for_invite(session,
                                                                        access.invite.id)))
    session.close()  # end the read transaction before the long upload; loaded rows stay
    received = await receive_zip(request, service)
    try:
        if form_csrf and not service.signing.candidate_csrf_ok(
                access.token, received.fields.get(CSRF_FIELD)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or "
                                                           "wrong; reload the page")
        return await anyio.to_thread.run_sync(work, received)
    finally:
        received.discard()


# --- JSON API -----------------------------------------------------------------------------------

@router.get("/api/candidate/{token}", response_model=CandidateInvite, tags=["candidate"],
            responses={404: {"model": Problem}})
def api_invite(access: CandidateToken, service: ServiceDep, session: SessionDep
               ) -> CandidateInvite:
    """The invite: assignment, allowance, expiry, and this invite's own submissions."""
    return _invite_view(service, access, session)


@router.post("/api/candidate/{token}/submissions", status_code=201, tags=["candidate"],
             response_model=CandidateSubmission, openapi_extra=UPLOAD_BODY,
             responses=UPLOAD_ERRORS)
async def api_upload(request: Request, access: CandidateToken, service: ServiceDep,
                     session: SessionDep) -> Response:
    """Upload a submission zip (raw body or the ``file`` field of a form); it is queued."""
    submission = await _upload(request, service, access, session, form_csrf=False)
    with service.db.read() as fresh:
        view = _status_view(service, access, fresh, submission)
    return JSONResponse(view.model_dump(mode="json"), status_code=201,
                        headers={"Location": view.url})


@router.get("/api/candidate/{token}/submissions/{submission_id}", tags=["candidate"],
            response_model=CandidateSubmission, responses={404: {"model": Problem}})
def api_status(access: CandidateToken, submission_id: SubmissionId, service: ServiceDep,
               session: SessionDep) -> CandidateSubmission:
    """One of this invite's submissions: its status and progress, then the released report
    fields. ``id`` is its key in URLs; ``number`` counts this invite's uploads from 1."""
    return _status_view(service, access, session, _own_submission(session, access,
                                                                  submission_id))


# --- pages --------------------------------------------------------------------------------------

def _invite_page(request: Request, service: Service, access: CandidateAccess, session, *,
                 error: Problem | None = None, status_code: int = 200) -> Response:
    found = service.catalog.get(access.invite.assignment_id)
    readme = render_markdown(service.catalog.readme(found.assignment, found.folder)
                             if found else "")
    return render(request, "candidate_invite.html.j2", status_code=status_code,
                  title=found.assignment.title if found else "Assignment",
                  invite=_invite_view(service, access, session), readme=readme, error=error,
                  csrf_token=service.signing.candidate_csrf(access.token),
                  base=_base(access), max_mib=service.settings.intake.max_compressed_bytes
                  // (1024 * 1024), headers={"Content-Security-Policy": STATUS_PAGE_CSP})


@router.get("/i/{token}", include_in_schema=False)
def page_invite(request: Request, access: CandidateToken, service: ServiceDep,
                session: SessionDep) -> Response:
    return _invite_page(request, service, access, session)


@router.get("/i/{token}/starter.zip", include_in_schema=False)
def starter_bundle(access: CandidateToken, service: ServiceDep) -> Response:
    found = service.catalog.get(access.invite.assignment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this assignment is not available")
    try:
        path = service.catalog.starter_bundle(found.assignment, found.folder)
    except (InstanceError, BundleRefused) as exc:
        log.error("the starter bundle of %s cannot be made: %s", found.assignment.id, exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the starter bundle cannot be made right now; the grader's "
                            "operators can see why in its log") from exc
    starter_downloaded(service.db, access.invite)
    return FileResponse(path, media_type="application/zip",
                        filename=f"{found.assignment.id}-starter.zip")


@router.post("/i/{token}/upload", include_in_schema=False)
async def page_upload(request: Request, access: CandidateToken, service: ServiceDep,
                      session: SessionDep) -> Response:
    try:
        submission = await _upload(request, service, access, session, form_csrf=True)
    except tuple(PROBLEMS) as exc:
        error = from_exception(exc)
    else:
        return RedirectResponse(f"{_base(access)}/submissions/{submission.id}", status_code=303)
    with service.db.read() as fresh:
        return _invite_page(request, service, access, fresh, error=error,
                            status_code=error.status)


@router.get("/i/{token}/upload", include_in_schema=False)
def page_upload_reloaded(access: CandidateToken) -> Response:
    """The address the form posts to, reloaded (after a refused upload): the invite page."""
    return RedirectResponse(_base(access), status_code=303)


@router.get("/i/{token}/submissions/{submission_id}", include_in_schema=False)
def page_status(request: Request, access: CandidateToken, submission_id: SubmissionId,
                service: ServiceDep, session: SessionDep) -> Response:
    submission = _own_submission(session, access, submission_id)
    view = _status_view(service, access, session, submission)
    found = service.catalog.get(submission.assignment_id)
    return render(request, "candidate_status.html.j2", title=f"Submission {view.number}",
                  view=view, base=_base(access),
                  assignment_title=found.assignment.title if found else submission.assignment_id,
                  poll_url=f"/api/candidate/{access.token}/submissions/{submission.id}",
                  headers=None if view.final else {"Content-Security-Policy": STATUS_PAGE_CSP})


# --- the free pre-flight check (grader.preflight) ------------------------------------------------

PREFLIGHT_ERRORS: dict[int | str, dict[str, Any]] = {
    **UPLOAD_ERRORS,
    429: {"model": Problem, "description": "this invite has run its pre-flight checks for the "
                                           "hour"},
    503: {"model": Problem, "description": "every pre-flight slot is busy, or the check could "
                                           "not run on the grader's side"}}


async def _preflight(request: Request, service: Service, access: CandidateAccess, session,
                     *, form_csrf: bool) -> PreflightResult:
    """Both doors' verb: as an upload, but no submission is made, so no attempt is used."""
    return await _with_zip(request, service, access, session, form_csrf=form_csrf,
                           work=lambda received: _run_preflight(service, access, received))


def _run_preflight(service: Service, access: CandidateAccess, received: Received
                   ) -> PreflightResult:
    settings = service.settings
    found = service.catalog.get(access.invite.assignment_id)
    if found is None:
        raise PreflightUnavailable("This assignment is not available right now; try again later.")
    with service.preflight.admit(access.invite.id, settings.preflight):
        try:
            instance = settings.assignment_instance(found.assignment, found.folder)
        except InstanceError as exc:
            log.error("pre-flight of %s: the instance's data cannot be made: %s",
                      found.assignment.id, exc)
            raise PreflightUnavailable("The pre-flight check could not run because of a problem "
                                       "on our side; try again later.") from exc
        try:  # the environment's image (built on first use) and what it lets sessions import
            preload = session_preload(settings, found.assignment, found.folder)
        except EnvironmentUnreadable as exc:
            log.error("pre-flight of %s: the environment's image cannot be asked: %s",
                      found.assignment.id, exc)
            raise PreflightUnavailable("The pre-flight check could not run because of a problem "
                                       "on our side; try again later.") from exc
        return run_preflight(assignment=found.assignment, folder=found.folder, instance=instance,
                             zip_path=received.path, runner_image=settings.runner_image,
                             ceiling=settings.limits, intake=settings.intake,
                             rules=settings.preflight, preload=preload)


@router.post("/api/candidate/{token}/preflight", tags=["candidate"],
             response_model=PreflightResult, openapi_extra=UPLOAD_BODY,
             responses=PREFLIGHT_ERRORS)
async def api_preflight(request: Request, access: CandidateToken, service: ServiceDep,
                        session: SessionDep) -> PreflightResult:
    """Check a zip before uploading it, for free: the build, the serve phase's load and the
    starter bundle's check.py on the public data, within about 30 s, explained as a grading's
    failure would be. No submission is made and no attempt used; an invite may run
    ``GRADER_PREFLIGHT__PER_HOUR`` checks per hour (429 past them)."""
    return await _preflight(request, service, access, session, form_csrf=False)


@router.post("/i/{token}/preflight", include_in_schema=False)
async def page_preflight(request: Request, access: CandidateToken, service: ServiceDep,
                         session: SessionDep) -> Response:
    result = await _preflight(request, service, access, session, form_csrf=True)
    return render(request, "candidate_preflight.html.j2", title="Pre-flight check",
                  result=result, base=_base(access))
