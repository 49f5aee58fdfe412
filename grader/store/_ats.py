"""Links between an applicant tracking system's interviews and the invites made for them
(``grader.integrations``): made with the invite, in its transaction; found by the ATS's id.

An interview is found only for the reviewer whose API token made it (any of that reviewer's tokens,
so a rotated key still reads it): two hiring teams' ATS accounts, each with its own reviewer's key,
never see or cancel each other's candidates, whose links the status carries."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.store._models import ApiToken, AtsLink, Invite, Reviewer, utcnow

CANDIDATE_REF_CHARS = 200  # the column's length: kept and looked up cut alike


def create_ats_link(session: Session, *, integration: str, invite: Invite, token_id: int | None,
                    candidate_ref: str, callback_url: str | None,
                    callback_authorization: str | None, candidate_url: str | None) -> AtsLink:
    """A link with a fresh interview id (random: an ATS's id never says how many there are)."""
    link = AtsLink(integration=integration, interview_id=secrets.token_hex(16),
                   invite_id=invite.id, token_id=token_id,
                   candidate_ref=candidate_ref[:CANDIDATE_REF_CHARS],
                   callback_url=callback_url, callback_authorization=callback_authorization,
                   candidate_url=candidate_url, created_at=utcnow())
    session.add(link)
    session.flush()
    return link


def ats_link(session: Session, integration: str, interview_id: str, *, reviewer_id: int
             ) -> AtsLink | None:
    return session.scalars(
        select(AtsLink).join(ApiToken, ApiToken.id == AtsLink.token_id)
        .where(AtsLink.integration == integration, AtsLink.interview_id == interview_id,
               ApiToken.reviewer_id == reviewer_id)).first()


def ats_links_for_invite(session: Session, invite_id: int) -> list[AtsLink]:
    return list(session.scalars(select(AtsLink).where(AtsLink.invite_id == invite_id)
                                .order_by(AtsLink.id)))


def open_ats_link(session: Session, integration: str, candidate_ref: str, assignment_id: str,
                  *, reviewer_id: int) -> AtsLink | None:
    """The ATS's interview of this candidate on this assignment whose invite is still open.

    The reviewer's row is locked first (FOR UPDATE on PostgreSQL; SQLite's write transaction
    holds the database lock), so a send looking for the open interview and then making one
    waits for another send of the same reviewer's: two retries of one call make one invite."""
    session.scalars(select(Reviewer.id).where(Reviewer.id == reviewer_id).with_for_update()).first()
    return session.scalars(
        select(AtsLink).join(Invite, Invite.id == AtsLink.invite_id)
        .join(ApiToken, ApiToken.id == AtsLink.token_id)
        .where(AtsLink.integration == integration,
               AtsLink.candidate_ref == candidate_ref[:CANDIDATE_REF_CHARS],
               Invite.assignment_id == assignment_id, Invite.expires_at > utcnow(),
               ApiToken.reviewer_id == reviewer_id)).first()
