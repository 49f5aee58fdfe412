"""Reviewer pages and their JSON twins: assignments and cohorts, submissions (their integrity
findings marked, and listed alone on request; a re-grade whose quality metrics moved marked
nondeterministic; ranked by total, candidates whose totals cannot be told apart marked), full
reports (engineering signals, integrity evidence and stability included), submitted files,
re-grade, CSV export, a report as Gradescope's results.json, invites; and logging in and out.
Manual scores, notes, decisions and similarity live in ``grader.web._judgement``; what a
cohort's listing and CSV hold is computed in ``grader.judgement``.

Every route but the login ones takes ``ReviewerPage``/``ReviewerForm`` (HTML) or, JSON, the
alias of the one API-token scope it needs (``ScopedRead``, ``ScopedInvite``, ``ScopedReview``) or
``ReviewerWrite`` (logout: a session only): see ``grader.web._deps``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from sqlalchemy.orm import Session

from grader import judgement
from grader.anchors import anchors_overview
from grader.gradescope import GradescopeResults, gradescope_results
from grader.instance import InstanceError
from grader.judgement import CohortEntry, ManualScorePublic
from grader.report import Report
from grader.stability import Stability
from grader.store import (
    Invite,
    QueueError,
    SortKey,
    Submission,
    authenticate,
    close_session,
    cohort_points,
    cohort_summaries,
    enqueue_regrade,
    invite_candidate,
    jobs_for_submission,
    latest_report,
    latest_stability,
    list_invites,
    open_session,
    used_submissions,
)
from grader.submissions import extend_time, time_box
from grader.web._charts import metric_strip, total_histogram
from grader.web._deps import (
    OptionalReviewer,
    ReviewerForm,
    ReviewerLogin,
    ReviewerPage,
    ReviewerWrite,
    ScopedInvite,
    ScopedRead,
    ScopedReview,
    Service,
    ServiceDep,
    SessionDep,
)
from grader.web._files import FileRefused, highlighted, list_files, read_text, resolve_file
from grader.web._judgement import similarity, specs
from grader.web._params import AUTH_ERRORS, AssignmentId, Cohort, InviteId, SubmissionId
from grader.web._render import render
from grader.web._schemas import (
    AssignmentPublic,
    CohortDistribution,
    CohortPublic,
    FilePublic,
    IntegrityFlag,
    InviteCreate,
    InviteCreated,
    InviteExtend,
    InvitePublic,
    JobPublic,
    LoginRequest,
    LoginResult,
    Problem,
    Regraded,
    SubmissionDetail,
    SubmissionRow,
)
from grader.web._security import LOGIN_CSRF_COOKIE, SESSION_COOKIE

router = APIRouter()

Sort = Annotated[SortKey, Query()]
Order = Annotated[str, Query(pattern="^(asc|desc)$")]
FlaggedOnly = Annotated[bool, Query(description="only submissions whose latest report's "
                                                "integrity section holds findings")]
ASSIGNMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such assignment"}, **AUTH_ERRORS}


# --- shared verbs ---------------------------------------------------------------------------

def _login(service: Service, response: Response, email: str, password: str) -> LoginResult | None:
    with service.db.write() as session:
        reviewer = authenticate(session, email, password)
        if reviewer is None:
            return None
        token, csrf = open_session(session, reviewer, hours=service.settings.session_hours)
        email = reviewer.email
    response.set_cookie(SESSION_COOKIE, service.signing.sign_session(token),
                        max_age=int(service.settings.session_hours * 3600), httponly=True,
                        samesite="lax", secure=service.settings.cookie_secure, path="/")
    return LoginResult(email=email, csrf_token=csrf)


def _logout(service: Service, request: Request, response: Response) -> None:
    token = service.signing.unsign_session(request.cookies.get(SESSION_COOKIE))
    if token:
        with service.db.write() as session:
            close_session(session, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=service.settings.cookie_secure)


def _assignments(service: Service, session: Session) -> list[AssignmentPublic]:
    cohorts: dict[str, list[CohortPublic]] = {}
    for summary in cohort_summaries(session):
        cohorts.setdefault(summary.assignment_id, []).append(CohortPublic(
            cohort=summary.cohort, submissions=summary.submissions, graded=summary.graded,
            pending=summary.pending, mean_total=summary.mean_total))
    found = []
    for entry in service.catalog.entries():
        a = entry.assignment
        found.append(AssignmentPublic(
            id=entry.id, title=a.title if a else None, version=a.version if a else None,
            summary=a.summary if a else None,
            max_submissions=a.candidate.max_submissions if a else None, error=entry.error,
            cohorts=cohorts.pop(entry.id, [])))
    for orphan, rows in sorted(cohorts.items()):  # invites of an assignment removed since
        found.append(AssignmentPublic(id=orphan, title=None, version=None, summary=None,
                                      max_submissions=None, cohorts=rows,
                                      error="no longer in the assignments folder"))
    return found


def _row(submission: Submission, decision: str | None = None,
         integrity: IntegrityFlag | None = None, stability: Stability | None = None
         ) -> SubmissionRow:
    return SubmissionRow(id=submission.id, assignment_id=submission.assignment_id,
                         cohort=submission.cohort, label=submission.invite.label,
                         status=submission.status, total=submission.total,
                         sha256=submission.sha256, size_bytes=submission.size_bytes,
                         created_at=submission.created_at, graded_at=submission.graded_at,
                         decision=decision, integrity=integrity, stability=stability)


def _listed(entry: CohortEntry) -> SubmissionRow:
    decision = entry.judgement.decision
    return _row(entry.submission, decision.decision if decision else None,
                _integrity_flag(entry.report), entry.stability).model_copy(
        update={"standing": entry.standing, "failure": entry.failure})


def _integrity_flag(report: Report | None) -> IntegrityFlag | None:
    section = report.integrity if report is not None else None
    if section is None:
        return None
    return IntegrityFlag(checked=section.checked, flagged=section.flagged,
                         findings=section.findings, message=section.message)


def _stability(session: Session, submission_id: int) -> Stability | None:
    """The latest report's stability, as the worker stored it beside the report."""
    found = latest_stability(session, submission_id)
    return Stability.model_validate_json(found) if found is not None else None


def _rows(session: Session, assignment_id: str, cohort: str | None, sort: SortKey,
          order: str, *, flagged_only: bool = False) -> list[SubmissionRow]:
    """A listing's rows, each with its current decision, its latest report's integrity findings,
    stability and standing, and how the candidate's code failed; with ``flagged_only``, only the
    rows that have integrity findings."""
    rows = [_listed(entry) for entry in judgement.cohort(
        session, assignment_id, cohort, sort=sort, descending=order == "desc")]
    if flagged_only:
        return [row for row in rows if row.integrity is not None and row.integrity.flagged]
    return rows


def _known(service: Service, session: Session, assignment_id: str) -> None:
    judgement.require_assignment(session, assignment_id,
                                 offered=service.catalog.get(assignment_id) is not None)


def _distribution(session: Session, submission: Submission) -> CohortDistribution:
    points = cohort_points(session, submission.assignment_id, submission.cohort)
    metrics: dict[str, list[float]] = {}
    for point in points:
        for name, value in point.metrics.items():
            if value is not None:
                metrics.setdefault(name, []).append(value)
    return CohortDistribution(totals=[p.total for p in points if p.total is not None],
                              metrics=metrics)


def _files(service: Service, submission: Submission, prefix: str) -> list[FilePublic]:
    root = service.submissions_root / submission.files_dir
    if not root.is_dir():
        return []
    return [FilePublic(path=f.path, size=f.size, url=f"{prefix}/{quote(f.path)}")
            for f in list_files(root)]


def _detail(service: Service, session: Session, submission_id: int, files_prefix: str,
            viewer: ReviewerLogin) -> SubmissionDetail:
    submission = judgement.require_submission(session, submission_id)
    judged = judgement.judgement_view(session, submission,
                                      specs(service)(submission.assignment_id),
                                      viewer_id=viewer.reviewer_id)
    report = latest_report(session, submission.id)
    return SubmissionDetail(
        submission=_row(submission, judged.decision.decision if judged.decision else None,
                        _integrity_flag(report), _stability(session, submission.id)),
        report=report,
        jobs=[JobPublic.model_validate(job) for job in jobs_for_submission(session,
                                                                            submission.id)],
        cohort=_distribution(session, submission),
        files=_files(service, submission, files_prefix.format(id=submission.id)),
        judgement=judged)


def _file_text(service: Service, session: Session, submission_id: int, path: str
               ) -> tuple[Submission, str, str | None, bool]:
    submission = judgement.require_submission(session, submission_id)
    try:
        found = resolve_file(service.submissions_root / submission.files_dir, path)
    except FileRefused as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such file: {exc}") from exc
    text, truncated = read_text(found)
    return submission, path, text, truncated


def _regrade(service: Service, submission_id: int) -> Regraded:
    try:
        job = enqueue_regrade(service.db, submission_id)
    except QueueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return Regraded(submission_id=submission_id, job_id=job.id)


def _invite(service: Service, assignment_id: str, body: InviteCreate, created_by: str
            ) -> InviteCreated:
    found = service.catalog.get(assignment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such assignment (or its spec is "
                                                       "invalid)")
    invite, token = invite_candidate(
        service.db, assignment_id=assignment_id,
        max_submissions=found.assignment.candidate.max_submissions, cohort=body.cohort,
        label=body.label, allowance=body.allowance,
        valid_days=body.valid_days or service.settings.invite_days, created_by=created_by,
        time_limit=None if body.time_limit_minutes is None
        else timedelta(minutes=body.time_limit_minutes),
        extra_time_percent=body.extra_time_percent)
    return InviteCreated(id=invite.id, token=token,
                         url=service.settings.invite_url(token),
                         assignment_id=invite.assignment_id, cohort=invite.cohort,
                         label=invite.label, allowance=invite.allowance,
                         expires_at=invite.expires_at,
                         time_limit_seconds=invite.time_limit_seconds,
                         extra_time_percent=invite.extra_time_percent)


def _invite_public(invite: Invite, used: int) -> InvitePublic:
    return InvitePublic(id=invite.id, assignment_id=invite.assignment_id, cohort=invite.cohort,
                        label=invite.label, allowance=invite.allowance, used=used,
                        expires_at=invite.expires_at, created_at=invite.created_at,
                        created_by=invite.created_by,
                        time_limit_seconds=invite.time_limit_seconds,
                        extra_time_percent=invite.extra_time_percent,
                        extension_seconds=invite.extension_seconds, time_box=time_box(invite))


def _csv(service: Service, session: Session, assignment_id: str, cohort: str | None,
         viewer: ReviewerLogin) -> Response:
    """The cohort's CSV (``grader.judgement.csv_rows``) as a download named after it."""
    _known(service, session, assignment_id)
    entries = judgement.cohort(session, assignment_id, cohort, sort=SortKey.DATE,
                               descending=False)
    items, _ = judgement.manual_rubric(specs(service)(assignment_id))
    out = io.StringIO()
    csv.writer(out).writerows(judgement.csv_rows(entries, items=items,
                                                 viewer_id=viewer.reviewer_id))
    name = f"{assignment_id}-{cohort or 'all'}.csv"
    # RFC 6266: a plain ASCII name for old clients, and the exact one percent-encoded in UTF-8
    # (RFC 5987); a header cannot carry other characters, and a line break would end it.
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                               f"filename*=UTF-8''{quote(name, safe='')}"})


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/review") and "//" not in target and "\\" not in target:
        return target
    return "/review"


# --- JSON API -------------------------------------------------------------------------------

@router.post("/api/review/login", response_model=LoginResult, tags=["reviewer"],
             responses={401: {"model": Problem}})
def api_login(body: LoginRequest, service: ServiceDep, response: Response) -> LoginResult:
    """Log in; sets the session cookie and returns the CSRF token for state-changing calls."""
    result = _login(service, response, body.email, body.password)
    if result is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    return result


@router.post("/api/review/logout", status_code=204, tags=["reviewer"], responses=AUTH_ERRORS)
def api_logout(request: Request, _login: ReviewerWrite, service: ServiceDep) -> Response:
    response = Response(status_code=204)
    _logout(service, request, response)
    return response


@router.get("/api/review/assignments", response_model=list[AssignmentPublic], tags=["reviewer"],
            responses=AUTH_ERRORS)
def api_assignments(_login: ScopedRead, service: ServiceDep, session: SessionDep
                    ) -> list[AssignmentPublic]:
    """Every assignment with its cohorts (counts and mean graded total)."""
    return _assignments(service, session)


@router.get("/api/review/assignments/{assignment_id}/submissions", tags=["reviewer"],
            response_model=list[SubmissionRow], responses=ASSIGNMENT_ERRORS)
def api_submissions(_login: ScopedRead, assignment_id: AssignmentId, service: ServiceDep,
                    session: SessionDep, cohort: Cohort = None, sort: Sort = SortKey.DATE,
                    order: Order = "desc", flagged: FlaggedOnly = False
                    ) -> list[SubmissionRow]:
    """An assignment's submissions, optionally of one cohort, sorted by score, status or date,
    each with its current decision, its integrity findings (``flagged=true``: only those
    with some), its standing (rank by total, and the ranks whose total intervals overlap
    its own: it cannot be told apart from them) and ``failure``: how the candidate's code
    failed, when it did (a crash and a weak model both score low)."""
    _known(service, session, assignment_id)
    return _rows(session, assignment_id, cohort, sort, order, flagged_only=flagged)


@router.get("/api/review/assignments/{assignment_id}/invites", tags=["reviewer"],
            response_model=list[InvitePublic], responses=ASSIGNMENT_ERRORS)
def api_invites(_login: ScopedRead, assignment_id: AssignmentId, service: ServiceDep,
                session: SessionDep) -> list[InvitePublic]:
    _known(service, session, assignment_id)
    return [_invite_public(i, used) for i, used in list_invites(session, assignment_id)]


@router.post("/api/review/assignments/{assignment_id}/invites", status_code=201,
             response_model=InviteCreated, tags=["reviewer"], responses=AUTH_ERRORS)
def api_create_invite(login: ScopedInvite, assignment_id: AssignmentId, body: InviteCreate,
                      service: ServiceDep) -> InviteCreated:
    """A new invite; its token and link are returned only now."""
    return _invite(service, assignment_id, body, login.email)


@router.post("/api/review/assignments/{assignment_id}/invites/{invite_id}/extend",
             response_model=InvitePublic, tags=["reviewer"],
             responses={404: {"model": Problem, "description": "no such invite"},
                        422: {"model": Problem, "description": "nothing to extend, or no "
                                                                "working-time limit to extend"},
                        **AUTH_ERRORS})
def api_extend_invite(_login: ScopedInvite, assignment_id: AssignmentId, invite_id: InviteId,
                      body: InviteExtend, service: ServiceDep) -> InvitePublic:
    """More time for one invite: working time (a time-boxed invite) and a later expiry, each
    counted from now when it has already passed."""
    invite = extend_time(service.db, assignment_id=assignment_id, invite_id=invite_id,
                         working_time=timedelta(minutes=body.working_minutes),
                         window=timedelta(days=body.window_days))
    with service.db.read() as session:
        return _invite_public(invite, used_submissions(session, invite.id))


@router.get("/api/review/assignments/{assignment_id}/export.csv", tags=["reviewer"],
            responses={200: {"content": {"text/csv": {}}, "description": "one row per "
                             "submission: status, total (with its 95% interval, rank and the "
                             "ranks it cannot be told apart from), points, metrics, tests, "
                             "manual and combined points, decision, notes count, integrity "
                             "findings, nondeterminism"},
                       **ASSIGNMENT_ERRORS})
def api_export(login: ScopedRead, assignment_id: AssignmentId, service: ServiceDep,
               session: SessionDep, cohort: Cohort = None) -> Response:
    """A cohort (or every cohort) of an assignment as CSV: scores (the total with its 95%
    interval, ``total_low`` and ``total_high``; ``rank`` among each candidate's latest graded
    submission; ``indistinct_from``: the ranks whose intervals overlap it, so it cannot be told
    apart from them), metrics, tests, manual points
    (per the blind rule, as you may see them), combined points, decision, notes count, and
    whether the integrity check flagged the latest report (with its number of findings), and
    whether it is a re-grade whose quality metrics moved (``nondeterministic``, with
    ``moved_metrics``: each one's earlier and new value); ``failure``: how the candidate's code
    failed, when it did. Times are ISO 8601 in UTC, with their zone."""
    return _csv(service, session, assignment_id, cohort, login)


@router.get("/api/review/submissions/{submission_id}", response_model=SubmissionDetail,
            tags=["reviewer"], responses={404: {"model": Problem}, **AUTH_ERRORS})
def api_submission(login: ScopedRead, submission_id: SubmissionId, service: ServiceDep,
                   session: SessionDep) -> SubmissionDetail:
    """The full report (engineering signals included), the grading jobs, the cohort's
    distribution, the submitted files, and the reviewers' judgement as you may see it."""
    return _detail(service, session, submission_id,
                   "/api/review/submissions/{id}/files", login)


@router.get("/api/review/submissions/{submission_id}/results.json",
            response_model=GradescopeResults, response_model_exclude_none=True,
            tags=["reviewer"],
            responses={404: {"model": Problem, "description": "no such submission, no report "
                             "yet, or its assignment is no longer offered"}, **AUTH_ERRORS})
def api_gradescope(_login: ScopedRead, submission_id: SubmissionId, service: ServiceDep,
                   session: SessionDep) -> GradescopeResults:
    """The latest report as Gradescope's autograder ``results.json``: one test per rubric
    component and per hidden test, each visible to candidates as the assignment's release policy
    says (``grader.gradescope``); no integrity evidence or engineering signals."""
    submission = judgement.require_submission(session, submission_id)
    report = latest_report(session, submission.id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no report yet: the submission is "
                                                       "still being graded")
    assignment = specs(service)(submission.assignment_id)
    if assignment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"assignment {submission.assignment_id!r} is no longer offered (or "
                            "its spec is invalid): its release policy is unknown")
    return gradescope_results(report, assignment)


@router.get("/api/review/submissions/{submission_id}/files/{path:path}", tags=["reviewer"],
            responses={200: {"content": {"text/plain": {}}}, 404: {"model": Problem},
                       **AUTH_ERRORS})
def api_file(_login: ScopedRead, submission_id: SubmissionId, path: str,
             service: ServiceDep, session: SessionDep) -> Response:
    """One submitted file as text (binary files: 415)."""
    _, _, text, truncated = _file_text(service, session, submission_id, path)
    if text is None:
        return JSONResponse({"detail": "binary file"}, status_code=415)
    return PlainTextResponse(text, headers={"X-Truncated": "1" if truncated else "0"})


@router.post("/api/review/submissions/{submission_id}/regrade", status_code=202,
             response_model=Regraded, tags=["reviewer"],
             responses={409: {"model": Problem}, **AUTH_ERRORS})
def api_regrade(_login: ScopedReview, submission_id: SubmissionId, service: ServiceDep
                ) -> Regraded:
    """Queue the submission for grading again (refused while a grading is pending)."""
    return _regrade(service, submission_id)


# --- pages ------------------------------------------------------------------------------------

@router.get("/review/login", include_in_schema=False)
def page_login(request: Request, service: ServiceDep, login: OptionalReviewer,
               next: str | None = None) -> Response:
    if login is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, service, next=_safe_next(next))


def _login_form(request: Request, service: Service, *, next: str, error: str | None = None,
                email: str = "", status_code: int = 200) -> Response:
    value, cookie = service.signing.new_login_csrf()
    response = render(request, "login.html.j2", title="Reviewer login", csrf_token=value,
                      next=next, error=error, email=email, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                        secure=service.settings.cookie_secure, path="/review/login")
    return response


@router.post("/review/login", include_in_schema=False)
def page_login_post(request: Request, service: ServiceDep,
                    email: Annotated[str, Form(max_length=320)],
                    password: Annotated[str, Form(max_length=1000)],
                    csrf_token: Annotated[str, Form(max_length=200)] = "",
                    next: Annotated[str, Form(max_length=500)] = "/review") -> Response:
    if not service.signing.login_csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or "
                                                       "wrong; reload the page and try again")
    response = RedirectResponse(_safe_next(next), status_code=303)
    if _login(service, response, email, password) is None:
        # The email stays filled in: a mistyped password should not cost retyping both.
        return _login_form(request, service, next=_safe_next(next), status_code=401,
                           error="Wrong email or password.", email=email)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/review/login")
    return response


@router.post("/review/logout", include_in_schema=False)
def page_logout(request: Request, _login: ReviewerForm, service: ServiceDep) -> Response:
    response = RedirectResponse("/review/login", status_code=303)
    _logout(service, request, response)
    return response


@router.get("/review", include_in_schema=False)
def page_home(request: Request, login: ReviewerPage, service: ServiceDep,
              session: SessionDep) -> Response:
    return render(request, "review_home.html.j2", title="Assignments", login=login,
                  assignments=_assignments(service, session), anchors=_anchors(service))


def _anchors(service: Service) -> dict[str, str]:
    """Each assignment's anchors on this instance, in a line: measured, measuring k of n,
    errored (why), or the demo's recorded scores."""
    found = {}
    for entry in service.catalog.entries():
        if entry.assignment is None:
            continue
        try:
            found[entry.id] = anchors_overview(service.settings, entry.assignment,
                                               entry.folder).summary()
        except (InstanceError, OSError) as exc:
            found[entry.id] = f"unknown ({exc})"
    return found


def _assignment_page(request: Request, login: ReviewerLogin, service: Service, session: Session,
                     assignment_id: str, *, cohort: str | None, sort: SortKey, order: str,
                     flagged_only: bool = False, created: InviteCreated | None = None
                     ) -> Response:
    found = service.catalog.get(assignment_id)
    rows = _rows(session, assignment_id, cohort, sort, order)
    flagged = sum(1 for row in rows if row.integrity is not None and row.integrity.flagged)
    unstable = sum(1 for row in rows if row.stability is not None
                   and row.stability.nondeterministic)
    if flagged_only:
        rows = [row for row in rows if row.integrity is not None and row.integrity.flagged]
    summaries = [s for s in cohort_summaries(session) if s.assignment_id == assignment_id]
    judgement.require_assignment(session, assignment_id, offered=found is not None)
    return render(request, "review_assignment.html.j2",
                  title=found.assignment.title if found else assignment_id, login=login,
                  assignment=found.assignment if found else None, assignment_id=assignment_id,
                  rows=rows, cohorts=summaries, cohort=cohort, sort=sort.value, order=order,
                  flagged_only=flagged_only, flagged=flagged, unstable=unstable,
                  invites=list_invites(session, assignment_id), created=created,
                  default_days=service.settings.invite_days,
                  similar=similarity(service, session, assignment_id, cohort))


@router.get("/review/assignments/{assignment_id}", include_in_schema=False)
def page_assignment(request: Request, login: ReviewerPage, assignment_id: AssignmentId,
                    service: ServiceDep, session: SessionDep, cohort: Cohort = None,
                    sort: Sort = SortKey.DATE, order: Order = "desc",
                    flagged: FlaggedOnly = False) -> Response:
    return _assignment_page(request, login, service, session, assignment_id, cohort=cohort,
                            sort=sort, order=order, flagged_only=flagged)


@router.post("/review/assignments/{assignment_id}/invites", include_in_schema=False)
def page_create_invite(request: Request, login: ReviewerForm, assignment_id: AssignmentId,
                       service: ServiceDep,
                       cohort: Annotated[str, Form(max_length=100)] = "default",
                       label: Annotated[str, Form(max_length=200)] = "",
                       allowance: Annotated[int | None, Form(ge=1, le=1000)] = None,
                       valid_days: Annotated[float | None, Form(gt=0, le=365)] = None
                       ) -> Response:
    created = _invite(service, assignment_id, InviteCreate(
        cohort=cohort, label=label, allowance=allowance, valid_days=valid_days), login.email)
    with service.db.read() as session:
        return _assignment_page(request, login, service, session, assignment_id,
                                cohort=created.cohort, sort=SortKey.DATE, order="desc",
                                created=created)


@router.get("/review/assignments/{assignment_id}/export.csv", include_in_schema=False)
def page_export(login: ReviewerPage, assignment_id: AssignmentId, service: ServiceDep,
                session: SessionDep, cohort: Cohort = None) -> Response:
    return _csv(service, session, assignment_id, cohort, login)


@router.get("/review/submissions/{submission_id}", include_in_schema=False)
def page_submission(request: Request, login: ReviewerPage, submission_id: SubmissionId,
                    service: ServiceDep, session: SessionDep) -> Response:
    detail = _detail(service, session, submission_id, "/review/submissions/{id}/files", login)
    report = detail.report
    histogram = total_histogram(detail.cohort.totals, report.total if report else None)
    strips = {m.name: metric_strip(m.name, m.value, detail.cohort.metrics.get(m.name, []),
                                   m.baselines, higher_is_better=m.higher_is_better)
              for m in (report.metrics if report else [])}
    found = service.catalog.get(detail.submission.assignment_id)
    others: dict[str, list[ManualScorePublic]] = {}
    for score in detail.judgement.scores:
        if not score.mine:
            others.setdefault(score.item_id, []).append(score)
    return render(request, "review_submission.html.j2",
                  title=f"Submission {submission_id}", login=login, detail=detail,
                  report=report, histogram=histogram, strips=strips,
                  mine={score.item_id: score for score in detail.judgement.scores if score.mine},
                  others=others,
                  released=list(found.assignment.release.candidate_fields) if found else [],
                  pending=detail.submission.status in ("queued", "grading"))


@router.get("/review/submissions/{submission_id}/files/{path:path}", include_in_schema=False)
def page_file(request: Request, login: ReviewerPage, submission_id: SubmissionId, path: str,
              service: ServiceDep, session: SessionDep) -> Response:
    submission, shown, text, truncated = _file_text(service, session, submission_id, path)
    return render(request, "review_file.html.j2", title=shown, login=login,
                  submission=_row(submission), path=shown, truncated=truncated,
                  code=highlighted(shown, text) if text is not None else None,
                  files=_files(service, submission, f"/review/submissions/{submission.id}/files"))


@router.post("/review/submissions/{submission_id}/regrade", include_in_schema=False)
def page_regrade(_login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep
                 ) -> Response:
    _regrade(service, submission_id)
    return RedirectResponse(f"/review/submissions/{submission_id}", status_code=303)
