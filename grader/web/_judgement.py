"""The doors to reviewer judgement (``grader.judgement``): manual rubric scores, reveals, notes
and decisions as JSON and as page forms, and the cohort's most similar submissions. The verbs and
their rules live in the core; its exceptions answer through ``grader.web._problems``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from grader import judgement
from grader.judgement import JudgementPublic, Specs
from grader.spec import Assignment
from grader.store import Decision
from grader.web._deps import (
    ReviewerForm,
    ScopedRead,
    ScopedReview,
    Service,
    ServiceDep,
    SessionDep,
)
from grader.web._params import AUTH_ERRORS, AssignmentId, Cohort, ItemId, SubmissionId
from grader.web._schemas import (
    CohortSimilarity,
    DecisionSet,
    ManualScoreSet,
    NoteCreate,
    Problem,
)
from grader.web._similarity import similarity_view

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000)]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such submission"}, **AUTH_ERRORS}


def specs(service: Service) -> Specs:
    """The catalogue's specs by id, as the core looks them up."""
    def spec(assignment_id: str) -> Assignment | None:
        entry = service.catalog.get(assignment_id)
        return entry.assignment if entry is not None else None
    return spec


def similarity(service: Service, session: Session, assignment_id: str, cohort: str | None,
               limit: int = 10) -> CohortSimilarity:
    return similarity_view(session=session, catalog=service.catalog, cache=service.similarity,
                           submissions_root=service.submissions_root,
                           assignment_id=assignment_id, cohort=cohort, limit=limit)


# --- JSON API -----------------------------------------------------------------------------------

@router.get("/api/review/submissions/{submission_id}/judgement", tags=["reviewer"],
            response_model=JudgementPublic, responses={404: {"model": Problem}, **AUTH_ERRORS})
def api_judgement(login: ScopedRead, submission_id: SubmissionId, service: ServiceDep,
                  session: SessionDep) -> JudgementPublic:
    """Manual items, the scores you may see, agreement, points, decision and notes."""
    submission = judgement.require_submission(session, submission_id)
    return judgement.judgement_view(session, submission, specs(service)(submission.assignment_id),
                                    viewer_id=login.reviewer_id)


@router.put("/api/review/submissions/{submission_id}/manual-scores/{item_id}",
            tags=["reviewer"], response_model=JudgementPublic,
            responses={404: {"model": Problem, "description": "no such submission or manual "
                                                              "item"},
                       409: {"model": Problem, "description": "the assignment's spec cannot "
                                                              "be read"},
                       422: {"model": Problem, "description": "not a level the item offers"},
                       **AUTH_ERRORS})
def api_score(login: ScopedReview, submission_id: SubmissionId, item_id: ItemId,
              body: ManualScoreSet, service: ServiceDep) -> JudgementPublic:
    """Give one manual item your level (its ``points``); you may change it later. Scoring the
    last item reveals the other reviewers' scores to you."""
    return judgement.score_item(service.db, specs(service), viewer_id=login.reviewer_id,
                                submission_id=submission_id, item_id=item_id,
                                points=body.points)


@router.post("/api/review/submissions/{submission_id}/reveal", tags=["reviewer"],
             response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_reveal(login: ScopedReview, submission_id: SubmissionId, service: ServiceDep
               ) -> JudgementPublic:
    """See the other reviewers' manual scores before scoring every item yourself (recorded:
    scores you change afterwards are no longer counted as blind)."""
    return judgement.reveal(service.db, specs(service), viewer_id=login.reviewer_id,
                            submission_id=submission_id)


@router.post("/api/review/submissions/{submission_id}/notes", status_code=201,
             tags=["reviewer"], response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_note(login: ScopedReview, submission_id: SubmissionId, body: NoteCreate,
             service: ServiceDep) -> JudgementPublic:
    """Add a note for other reviewers (kept, never shown to candidates)."""
    return judgement.add_note(service.db, specs(service), viewer_id=login.reviewer_id,
                              submission_id=submission_id, body=body.body)


@router.put("/api/review/submissions/{submission_id}/decision", tags=["reviewer"],
            response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_decide(login: ScopedReview, submission_id: SubmissionId, body: DecisionSet,
               service: ServiceDep) -> JudgementPublic:
    """Set the decision: advance, hold or reject (earlier decisions stay in its history)."""
    return judgement.decide(service.db, specs(service), viewer_id=login.reviewer_id,
                            submission_id=submission_id, decision=body.decision)


@router.get("/api/review/assignments/{assignment_id}/similarity", tags=["reviewer"],
            response_model=CohortSimilarity,
            responses={404: {"model": Problem, "description": "no such assignment"},
                       **AUTH_ERRORS})
def api_similarity(_login: ScopedRead, assignment_id: AssignmentId, service: ServiceDep,
                   session: SessionDep, cohort: Cohort = None, limit: Limit = 10
                   ) -> CohortSimilarity:
    """The most similar pairs among each candidate's latest submission (one cohort, or all),
    starter code ignored; pairs over the thresholds are flagged for a look, not a verdict."""
    judgement.require_assignment(session, assignment_id,
                                 offered=service.catalog.get(assignment_id) is not None)
    return similarity(service, session, assignment_id, cohort, limit)


# --- pages --------------------------------------------------------------------------------------

def _back(submission_id: int, anchor: str) -> Response:
    return RedirectResponse(f"/review/submissions/{submission_id}#{anchor}", status_code=303)


@router.post("/review/submissions/{submission_id}/manual-scores/{item_id}",
             include_in_schema=False)
def page_score(login: ReviewerForm, submission_id: SubmissionId,
               item_id: ItemId, service: ServiceDep,
               points: Annotated[float, Form(allow_inf_nan=False)]) -> Response:
    judgement.score_item(service.db, specs(service), viewer_id=login.reviewer_id,
                         submission_id=submission_id, item_id=item_id, points=points)
    return _back(submission_id, f"manual-{item_id}")


@router.post("/review/submissions/{submission_id}/reveal", include_in_schema=False)
def page_reveal(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep
                ) -> Response:
    judgement.reveal(service.db, specs(service), viewer_id=login.reviewer_id,
                     submission_id=submission_id)
    return _back(submission_id, "manual")


@router.post("/review/submissions/{submission_id}/notes", include_in_schema=False)
def page_note(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep,
              body: Annotated[str, Form(max_length=judgement.NOTE_CHARS)] = "") -> Response:
    judgement.add_note(service.db, specs(service), viewer_id=login.reviewer_id,
                       submission_id=submission_id, body=body)
    return _back(submission_id, "notes")


@router.post("/review/submissions/{submission_id}/decision", include_in_schema=False)
def page_decide(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep,
                decision: Annotated[Decision, Form()]) -> Response:
    judgement.decide(service.db, specs(service), viewer_id=login.reviewer_id,
                     submission_id=submission_id, decision=decision)
    return _back(submission_id, "decision")
