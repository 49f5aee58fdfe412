"""Times in the store: every column reads back aware in UTC, on SQLite and PostgreSQL, whatever
zone a value was written in; stored rows stay naive UTC (no schema change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from grader.store import Database, Invite, utcnow


def test_utcnow_is_aware() -> None:
    assert utcnow().utcoffset() == timedelta(0)


def test_times_read_back_aware_in_utc_whatever_zone_they_were_written_in(db: Database,
                                                                         invite) -> None:
    invite_id = invite()
    paris = timezone(timedelta(hours=2))
    written = datetime(2026, 6, 1, 14, 30, tzinfo=paris)
    with db.write() as session:
        session.get(Invite, invite_id).expires_at = written
    with db.read() as session:
        found = session.get(Invite, invite_id)
        assert found.expires_at == written
        assert found.expires_at.tzinfo is UTC and found.expires_at.hour == 12
        assert found.created_at.tzinfo is UTC
        assert session.scalar(select(Invite.id).where(Invite.expires_at == written)) == invite_id
        stored = session.execute(text("SELECT expires_at FROM invites WHERE id = :id"),
                                 {"id": invite_id}).scalar_one()
    assert str(stored).startswith("2026-06-01 12:30")  # naive UTC, as rows always were
