"""The invite rule against the real store: a working-time limit starts at the first download of
the starter bundle, an accommodation lengthens it, a reviewer's extension gives more time from
now, the window caps it all, and an upload after the limit is refused with nothing stored; and
when a candidate sees feedback under each ``release.feedback`` mode."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from support.kit import database_url

from grader.store import (
    Database,
    Invite,
    Job,
    Submission,
    accept_submission,
    create_invite,
    extend_invite,
    migrate,
    start_invite_clock,
    utcnow,
)
from grader.submissions import (
    Feedback,
    InviteExpired,
    TimeLimitReached,
    check_invite,
    feedback_now,
    time_box,
)

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path):
    database = Database(database_url(request.param, tmp_path))
    migrate(database)
    yield database
    database.dispose()


def _invite(db: Database, *, window: timedelta = timedelta(days=7),
            limit: timedelta | None = 5 * HOUR, extra: int = 0) -> int:
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="Ada",
                                  allowance=3, valid_for=window, created_by="rev@example.com",
                                  time_limit=limit, extra_time_percent=extra)
        return invite.id


def _load(db: Database, invite_id: int) -> Invite:
    with db.read() as session:
        return session.get(Invite, invite_id)


def _started_ago(db: Database, invite_id: int, ago: timedelta) -> None:
    """The candidate downloaded the bundle ``ago``: the clock as it would stand by now."""
    with db.write() as session:
        session.execute(update(Invite).where(Invite.id == invite_id)
                        .values(started_at=utcnow() - ago))


def _upload(db: Database, invite_id: int) -> Submission:
    return accept_submission(db, invite_id=invite_id, sha256="a" * 64, size_bytes=1,
                             files_dir=f"d{utcnow().timestamp()}", admit=check_invite)


def _stored(db: Database) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Submission)),
                session.scalar(select(func.count()).select_from(Job)))


def test_working_time_starts_at_the_first_download_and_only_then(db) -> None:
    invite_id = _invite(db)
    before = time_box(_load(db, invite_id))
    assert before.started_at is None and before.working_seconds == 5 * 3600
    assert before.deadline == _load(db, invite_id).expires_at  # only the window, until then

    start_invite_clock(db, invite_id)
    started = _load(db, invite_id).started_at
    assert started is not None and utcnow() - started < timedelta(seconds=30)
    assert time_box(_load(db, invite_id)).deadline == started + 5 * HOUR

    _started_ago(db, invite_id, HOUR)
    first = _load(db, invite_id).started_at
    start_invite_clock(db, invite_id)  # a second download restarts nothing
    assert _load(db, invite_id).started_at == first


def test_an_upload_after_the_working_time_is_refused_and_stores_nothing(db) -> None:
    invite_id = _invite(db)
    _started_ago(db, invite_id, 4 * HOUR)
    _upload(db, invite_id)
    _started_ago(db, invite_id, 5 * HOUR + timedelta(minutes=1))
    with pytest.raises(TimeLimitReached) as refused:
        _upload(db, invite_id)
    message = str(refused.value)
    assert "working time (5 h" in message and "first download of the starter bundle" in message
    assert "rev@example.com" in message and "extend" in message
    assert _stored(db) == (1, 1)
    assert time_box(_load(db, invite_id)).closed


def test_an_accommodation_lengthens_the_working_time(db) -> None:
    invite_id = _invite(db, extra=25)
    assert time_box(_load(db, invite_id)).working_seconds == 6 * 3600 + 15 * 60
    _started_ago(db, invite_id, 6 * HOUR)  # past 5 h, within 6 h 15 min
    _upload(db, invite_id)
    _started_ago(db, invite_id, 6 * HOUR + timedelta(minutes=16))
    with pytest.raises(TimeLimitReached, match="6 h 15 min"):
        _upload(db, invite_id)


def test_the_window_caps_the_working_time(db) -> None:
    invite_id = _invite(db, window=HOUR)
    start_invite_clock(db, invite_id)
    invite = _load(db, invite_id)
    assert time_box(invite).deadline == invite.expires_at
    with pytest.raises(InviteExpired, match="expired"):
        check_invite(invite, 0, now=invite.expires_at)


def test_an_extension_gives_the_time_from_now_when_it_had_run_out(db) -> None:
    invite_id = _invite(db)
    _started_ago(db, invite_id, 7 * HOUR)  # ran out 2 h ago
    with pytest.raises(TimeLimitReached):
        _upload(db, invite_id)
    extend_invite(db, invite_id, assignment_id="starter", working_time=HOUR,
                  window=timedelta(0))
    left = time_box(_load(db, invite_id)).seconds_left
    assert 3600 - 30 < left <= 3600
    _upload(db, invite_id)

    extend_invite(db, invite_id, assignment_id="starter", working_time=HOUR,
                  window=timedelta(0))  # still running: added on top
    assert 2 * 3600 - 30 < time_box(_load(db, invite_id)).seconds_left <= 2 * 3600


def test_a_window_extension_reopens_a_closed_invite(db) -> None:
    invite_id = _invite(db, window=-HOUR, limit=None)
    with pytest.raises(InviteExpired):
        _upload(db, invite_id)
    extend_invite(db, invite_id, assignment_id="starter", working_time=timedelta(0),
                  window=timedelta(days=1))
    assert timedelta(days=1) - _remaining(db, invite_id) < timedelta(seconds=30)
    _upload(db, invite_id)


def _remaining(db: Database, invite_id: int) -> timedelta:
    return timedelta(seconds=time_box(_load(db, invite_id)).seconds_left)


def test_extensions_and_limits_refuse_what_makes_no_sense(db) -> None:
    unlimited = _invite(db, limit=None)
    with pytest.raises(ValueError, match="no working-time limit"):
        extend_invite(db, unlimited, assignment_id="starter", working_time=HOUR,
                      window=timedelta(0))
    with pytest.raises(ValueError, match="takes none away"):
        extend_invite(db, unlimited, assignment_id="starter", working_time=timedelta(0),
                      window=-HOUR)
    assert extend_invite(db, unlimited, assignment_id="other", working_time=timedelta(0),
                         window=HOUR) is None
    with pytest.raises(ValueError, match="lengthens a working-time limit"):
        _invite(db, limit=None, extra=25)
    with pytest.raises(ValueError, match="between 0 and 400"):
        _invite(db, extra=500)


def test_feedback_release_modes_follow_the_invite(db) -> None:
    open_id, closed_id = _invite(db), _invite(db, window=-HOUR, limit=None)
    timed_out = _invite(db)
    _started_ago(db, timed_out, 6 * HOUR)
    open_, closed, worked = (_load(db, i) for i in (open_id, closed_id, timed_out))
    assert [feedback_now("immediately", i) for i in (open_, closed)] == [Feedback.RELEASED] * 2
    assert feedback_now("after_close", open_) == Feedback.AFTER_CLOSE
    assert feedback_now("after_close", closed) == Feedback.RELEASED
    assert feedback_now("after_close", worked) == Feedback.RELEASED  # its working time is over
    assert feedback_now("after_close", open_, now=open_.expires_at) == Feedback.RELEASED
    assert {feedback_now("never", i) for i in (open_, closed, worked)} == {Feedback.WITHHELD}
