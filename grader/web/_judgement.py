"""Reviewer judgement and its JSON twins: manual rubric scores (blind between reviewers, then
their agreement), automatic and manual points apart and combined, notes, decisions; and the
cohort's most similar submissions.

The rules, in one place:

- A reviewer scores a manual item by choosing one of its levels (``points`` must be a level the
  assignment's ``manual_rubric`` offers). Every score records who gave it and when.
- Blind scoring: a reviewer sees only their own scores until they have scored every item or ask
  to see the others' (both recorded as a reveal); then they see everyone's and the agreement.
- An item's manual points are the mean of the points the viewer can see; the manual total is their
  sum, out of the items' top levels. Combined = automatic total (out of 100) + manual total, out
  of 100 + the manual maximum, shown once graded and every item has a score.
- Notes and decisions are visible to every reviewer; a decision's history is kept.
- None of this is ever shown to candidates: their routes read only the released report fields.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable
from statistics import fmean
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from grader.spec import ManualItem
from grader.store import (
    Decision,
    DecisionRecord,
    ManualScore,
    ReviewRefused,
    Submission,
    add_review_note,
    decisions,
    get_submission,
    manual_reveals,
    manual_scores,
    record_decision,
    record_manual_score,
    reveal_manual_scores,
    review_notes,
)
from grader.web._deps import (
    CurrentReviewer,
    ReviewerForm,
    ReviewerLogin,
    ReviewerWrite,
    Service,
    ServiceDep,
    SessionDep,
)
from grader.web._schemas import (
    Agreement,
    CohortSimilarity,
    DecisionPublic,
    DecisionSet,
    ItemAgreement,
    JudgementPublic,
    ManualItemPublic,
    ManualLevelPublic,
    ManualScorePublic,
    ManualScoreSet,
    NoteCreate,
    NotePublic,
    PointsSummary,
    Problem,
)
from grader.web._similarity import similarity_view

router = APIRouter()

SubmissionId = Annotated[int, Path(ge=1, le=2**62)]
AssignmentId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
ItemId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
Cohort = Annotated[str | None, Query(max_length=100)]
Limit = Annotated[int, Query(ge=1, le=1000)]
AUTH_ERRORS = {401: {"model": Problem}, 403: {"model": Problem}}
WRITE_ERRORS = {404: {"model": Problem, "description": "no such submission"}, **AUTH_ERRORS}
NOTE_CHARS = 5000
AUTOMATIC_MAX = 100.0


# --- the arithmetic -----------------------------------------------------------------------------

def visible_scores(scores: Iterable[ManualScore], *, viewer_id: int,
                   revealed: Collection[int]) -> list[ManualScore]:
    """The blind rule: everyone's scores once the viewer is revealed, else only their own."""
    if viewer_id in revealed:
        return list(scores)
    return [score for score in scores if score.reviewer_id == viewer_id]


def _is_blind(score: ManualScore) -> bool:
    return score.blind_points is not None and math.isclose(score.blind_points, score.points)


def item_points(visible: Iterable[ManualScore], items: Iterable[ManualItem]
                ) -> dict[str, float]:
    """Each scored item's manual points: the mean of the visible reviewers' points."""
    given: dict[str, list[float]] = {}
    for score in visible:
        given.setdefault(score.item_id, []).append(score.points)
    return {item.id: fmean(given[item.id]) for item in items if item.id in given}


def points_summary(*, automatic: float | None, items: list[ManualItem],
                   visible: list[ManualScore], blind: bool) -> PointsSummary:
    per_item = item_points(visible, items)
    manual_max = sum(item.max_points for item in items)
    manual = sum(per_item.values()) if per_item else None
    complete = bool(items) and len(per_item) == len(items)
    combined = automatic + manual if (automatic is not None and manual is not None
                                      and complete) else None
    how = (f"Combined = automatic total (out of {AUTOMATIC_MAX:g}) + manual total (out of "
           f"{manual_max:g}), out of {AUTOMATIC_MAX + manual_max:g}; each manual item counts "
           "the mean of the points reviewers gave it")
    how += (" (only your own scores until you have scored every item or revealed the others')."
            if blind else ".")
    if not items:
        how = f"No manual rubric: the automatic total is out of {AUTOMATIC_MAX:g}."
    return PointsSummary(automatic=automatic, manual=manual, manual_max=manual_max,
                         manual_items=len(items), manual_items_scored=len(per_item),
                         combined=combined, combined_max=AUTOMATIC_MAX + manual_max, how=how)


def agreement(visible: list[ManualScore], items: list[ManualItem]) -> Agreement | None:
    """Exact agreement share and mean absolute difference over items 2+ reviewers scored."""
    reviewers = sorted({score.reviewer.email for score in visible})
    if len(reviewers) < 2:
        return None
    by_item: dict[str, list[ManualScore]] = {}
    for score in visible:
        by_item.setdefault(score.item_id, []).append(score)
    compared: list[ItemAgreement] = []
    used: list[ManualScore] = []
    for item in items:
        given = by_item.get(item.id, [])
        if len(given) < 2:
            continue
        used += given
        values = [score.points for score in given]
        differences = [abs(a - b) for a, b in itertools.combinations(values, 2)]
        compared.append(ItemAgreement(item_id=item.id, reviewers=len(given),
                                      exact=max(values) - min(values) < 1e-9,
                                      mean_abs_diff=round(fmean(differences), 4)))
    return Agreement(
        reviewers=reviewers, items_compared=len(compared),
        exact_share=round(fmean(c.exact for c in compared), 4) if compared else None,
        mean_abs_diff=round(fmean(c.mean_abs_diff for c in compared), 4) if compared else None,
        all_blind=bool(used) and all(_is_blind(score) for score in used), items=compared)


# --- views --------------------------------------------------------------------------------------

def manual_rubric(service: Service, assignment_id: str) -> tuple[list[ManualItem], str | None]:
    """The assignment's manual items, or none and why."""
    found = service.catalog.get(assignment_id)
    if found is None:
        return [], ("the assignment's spec cannot be read, so its manual rubric is unknown; "
                    "scores already given are kept")
    return list(found.assignment.manual_rubric), None


def _decision(record: DecisionRecord) -> DecisionPublic:
    return DecisionPublic(decision=Decision(record.decision), reviewer=record.reviewer.email,
                          decided_at=record.created_at)


def judgement_view(service: Service, session: Session, submission: Submission,
                   viewer: ReviewerLogin) -> JudgementPublic:
    items, spec_error = manual_rubric(service, submission.assignment_id)
    scores = manual_scores(session, submission.id)
    reveals = manual_reveals(session, submission.id)
    reveal = reveals.get(viewer.reviewer_id)
    visible = visible_scores(scores, viewer_id=viewer.reviewer_id, revealed=reveals)
    mine = {score.item_id for score in scores if score.reviewer_id == viewer.reviewer_id}
    history = decisions(session, submission.id)
    return JudgementPublic(
        items=[ManualItemPublic(id=item.id, title=item.title, max_points=item.max_points,
                                levels=[ManualLevelPublic(points=level.points,
                                                          description=level.description)
                                        for level in item.levels]) for item in items],
        spec_error=spec_error, revealed=reveal is not None,
        revealed_reason=reveal.reason if reveal else None,
        mine_complete=bool(items) and {item.id for item in items} <= mine,
        other_reviewers=len({s.reviewer_id for s in scores
                             if s.reviewer_id != viewer.reviewer_id}),
        scores=[ManualScorePublic(item_id=s.item_id, reviewer=s.reviewer.email,
                                  mine=s.reviewer_id == viewer.reviewer_id, points=s.points,
                                  blind=_is_blind(s),
                                  blind_points=None if _is_blind(s) else s.blind_points,
                                  scored_at=s.created_at, updated_at=s.updated_at)
                for s in visible],
        agreement=agreement(visible, items),
        points=points_summary(automatic=submission.total, items=items, visible=visible,
                              blind=reveal is None),
        decision=_decision(history[0]) if history else None,
        decision_history=[_decision(record) for record in history],
        notes=[NotePublic(id=n.id, reviewer=n.reviewer.email, body=n.body,
                          created_at=n.created_at) for n in review_notes(session,
                                                                         submission.id)])


def _submission(session: Session, submission_id: int) -> Submission:
    submission = get_submission(session, submission_id)
    if submission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such submission")
    return submission


def _fresh_view(service: Service, submission_id: int, viewer: ReviewerLogin
                ) -> JudgementPublic:
    with service.db.read() as session:
        return judgement_view(service, session, _submission(session, submission_id), viewer)


# --- verbs --------------------------------------------------------------------------------------

def score_item(service: Service, *, viewer: ReviewerLogin, submission_id: int, item_id: str,
               points: float) -> JudgementPublic:
    """Record the viewer's level for one manual item; 404 unknown item, 422 level not offered."""
    with service.db.read() as session:
        submission = _submission(session, submission_id)
        assignment_id = submission.assignment_id
    items, spec_error = manual_rubric(service, assignment_id)
    if spec_error:
        raise HTTPException(status.HTTP_409_CONFLICT, spec_error)
    item = next((item for item in items if item.id == item_id), None)
    if item is None:
        declared = ", ".join(i.id for i in items) or "none"
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no manual rubric item {item_id!r}; declared: {declared}")
    level = item.level(points)
    if level is None:
        offered = ", ".join(f"{lvl.points:g}" for lvl in item.levels)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{points:g} is not a level of {item_id!r}; it offers {offered}")
    try:
        record_manual_score(service.db, submission_id=submission_id,
                            reviewer_id=viewer.reviewer_id, item_id=item.id,
                            points=level.points, item_ids=[i.id for i in items])
    except ReviewRefused as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _fresh_view(service, submission_id, viewer)


def reveal(service: Service, *, viewer: ReviewerLogin, submission_id: int) -> JudgementPublic:
    """Show the viewer the other reviewers' scores now (their own stay as they are)."""
    try:
        reveal_manual_scores(service.db, submission_id=submission_id,
                             reviewer_id=viewer.reviewer_id)
    except ReviewRefused as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _fresh_view(service, submission_id, viewer)


def add_note(service: Service, *, viewer: ReviewerLogin, submission_id: int, body: str
             ) -> JudgementPublic:
    text = body.strip()
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the note is empty")
    try:
        add_review_note(service.db, submission_id=submission_id,
                        reviewer_id=viewer.reviewer_id, body=text[:NOTE_CHARS])
    except ReviewRefused as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _fresh_view(service, submission_id, viewer)


def decide(service: Service, *, viewer: ReviewerLogin, submission_id: int, decision: Decision
           ) -> JudgementPublic:
    try:
        record_decision(service.db, submission_id=submission_id,
                        reviewer_id=viewer.reviewer_id, decision=decision)
    except ReviewRefused as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _fresh_view(service, submission_id, viewer)


def similarity(service: Service, session: Session, assignment_id: str, cohort: str | None,
               limit: int = 10) -> CohortSimilarity:
    return similarity_view(session=session, catalog=service.catalog, cache=service.similarity,
                           submissions_root=service.submissions_root,
                           assignment_id=assignment_id, cohort=cohort, limit=limit)


# --- JSON API -----------------------------------------------------------------------------------

@router.get("/api/review/submissions/{submission_id}/judgement", tags=["reviewer"],
            response_model=JudgementPublic, responses={404: {"model": Problem}, **AUTH_ERRORS})
def api_judgement(login: CurrentReviewer, submission_id: SubmissionId, service: ServiceDep,
                  session: SessionDep) -> JudgementPublic:
    """Manual items, the scores you may see, agreement, points, decision and notes."""
    return judgement_view(service, session, _submission(session, submission_id), login)


@router.put("/api/review/submissions/{submission_id}/manual-scores/{item_id}",
            tags=["reviewer"], response_model=JudgementPublic,
            responses={404: {"model": Problem, "description": "no such submission or manual "
                                                              "item"},
                       409: {"model": Problem, "description": "the assignment's spec cannot "
                                                              "be read"},
                       422: {"model": Problem, "description": "not a level the item offers"},
                       **AUTH_ERRORS})
def api_score(login: ReviewerWrite, submission_id: SubmissionId, item_id: ItemId,
              body: ManualScoreSet, service: ServiceDep) -> JudgementPublic:
    """Give one manual item your level (its ``points``); you may change it later. Scoring the
    last item reveals the other reviewers' scores to you."""
    return score_item(service, viewer=login, submission_id=submission_id, item_id=item_id,
                      points=body.points)


@router.post("/api/review/submissions/{submission_id}/reveal", tags=["reviewer"],
             response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_reveal(login: ReviewerWrite, submission_id: SubmissionId, service: ServiceDep
               ) -> JudgementPublic:
    """See the other reviewers' manual scores before scoring every item yourself (recorded:
    scores you change afterwards are no longer counted as blind)."""
    return reveal(service, viewer=login, submission_id=submission_id)


@router.post("/api/review/submissions/{submission_id}/notes", status_code=201,
             tags=["reviewer"], response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_note(login: ReviewerWrite, submission_id: SubmissionId, body: NoteCreate,
             service: ServiceDep) -> JudgementPublic:
    """Add a note for other reviewers (kept, never shown to candidates)."""
    return add_note(service, viewer=login, submission_id=submission_id, body=body.body)


@router.put("/api/review/submissions/{submission_id}/decision", tags=["reviewer"],
            response_model=JudgementPublic, responses=WRITE_ERRORS)
def api_decide(login: ReviewerWrite, submission_id: SubmissionId, body: DecisionSet,
               service: ServiceDep) -> JudgementPublic:
    """Set the decision: advance, hold or reject (earlier decisions stay in its history)."""
    return decide(service, viewer=login, submission_id=submission_id, decision=body.decision)


@router.get("/api/review/assignments/{assignment_id}/similarity", tags=["reviewer"],
            response_model=CohortSimilarity, responses=AUTH_ERRORS)
def api_similarity(_login: CurrentReviewer, assignment_id: AssignmentId, service: ServiceDep,
                   session: SessionDep, cohort: Cohort = None, limit: Limit = 10
                   ) -> CohortSimilarity:
    """The most similar pairs among each candidate's latest submission (one cohort, or all),
    starter code ignored; pairs over the thresholds are flagged for a look, not a verdict."""
    return similarity(service, session, assignment_id, cohort, limit)


# --- pages --------------------------------------------------------------------------------------

def _back(submission_id: int, anchor: str) -> Response:
    return RedirectResponse(f"/review/submissions/{submission_id}#{anchor}", status_code=303)


@router.post("/review/submissions/{submission_id}/manual-scores/{item_id}",
             include_in_schema=False)
def page_score(login: ReviewerForm, submission_id: SubmissionId,
               item_id: ItemId, service: ServiceDep,
               points: Annotated[float, Form(allow_inf_nan=False)]) -> Response:
    score_item(service, viewer=login, submission_id=submission_id, item_id=item_id,
               points=points)
    return _back(submission_id, f"manual-{item_id}")


@router.post("/review/submissions/{submission_id}/reveal", include_in_schema=False)
def page_reveal(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep
                ) -> Response:
    reveal(service, viewer=login, submission_id=submission_id)
    return _back(submission_id, "manual")


@router.post("/review/submissions/{submission_id}/notes", include_in_schema=False)
def page_note(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep,
              body: Annotated[str, Form(max_length=NOTE_CHARS)] = "") -> Response:
    add_note(service, viewer=login, submission_id=submission_id, body=body)
    return _back(submission_id, "notes")


@router.post("/review/submissions/{submission_id}/decision", include_in_schema=False)
def page_decide(login: ReviewerForm, submission_id: SubmissionId, service: ServiceDep,
                decision: Annotated[Decision, Form()]) -> Response:
    decide(service, viewer=login, submission_id=submission_id, decision=decision)
    return _back(submission_id, "decision")
