"""``grader invite create`` with a working-time limit and an accommodation, and ``grader invite
extend``, in process against a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring import new_assignment
from grader.store import Database, Invite, working_seconds


@pytest.fixture
def grader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Callable[..., tuple[int, str]]]:
    """``grader(*args)``: the CLI in process on a fresh store; (exit code, stdout and stderr)."""
    from grader.cli import app
    from grader.settings import get_settings

    new_assignment(tmp_path / "assignments", "starter")
    monkeypatch.setenv("GRADER_ASSIGNMENTS_DIR", str(tmp_path / "assignments"))
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'grader.db'}")
    get_settings.cache_clear()  # settings are read once per process; read them with the env above

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    yield invoke
    get_settings.cache_clear()


def _invite(tmp_path: Path, invite_id: int) -> Invite:
    db = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    try:
        with db.read() as session:
            return session.get(Invite, invite_id)
    finally:
        db.dispose()


def test_create_with_a_time_limit_and_extra_time_then_extend(grader, tmp_path: Path) -> None:
    code, out = grader("invite", "create", "starter", "--time-limit", "5h", "--extra-time", "25",
                       "--json")
    assert code == 0, out
    made = json.loads(out)
    assert made["time_limit_seconds"] == 5 * 3600 and made["extra_time_percent"] == 25
    assert working_seconds(_invite(tmp_path, made["id"])) == 6 * 3600 + 15 * 60

    code, out = grader("invite", "extend", "starter", str(made["id"]), "--time", "1h30m",
                       "--window", "2d")
    assert code == 0, out
    extended = _invite(tmp_path, made["id"])
    assert working_seconds(extended) == 7 * 3600 + 45 * 60
    assert (extended.expires_at - extended.created_at).days == 16  # 14 by default, then 2 more


def test_bad_durations_and_extensions_are_refused_with_a_reason(grader) -> None:
    code, out = grader("invite", "create", "starter", "--time-limit", "five hours")
    assert code != 0 and "not a duration" in out and "5h" in out
    code, out = grader("invite", "create", "starter", "--extra-time", "25")
    assert code != 0 and "give the invite one" in out
    code, out = grader("invite", "create", "starter", "--json")
    made = json.loads(out)
    code, out = grader("invite", "extend", "starter", str(made["id"]), "--time", "1h")
    assert code != 0 and "no working-time limit" in out
    code, out = grader("invite", "extend", "starter", str(made["id"]))
    assert code != 0 and "--time" in out
    code, out = grader("invite", "extend", "other", str(made["id"]), "--window", "1d")
    assert code != 0 and "has no invite" in out


def test_the_json_gives_times_with_their_zone_and_unprintable_text_is_refused(grader) -> None:
    code, out = grader("invite", "create", "starter", "--json")
    assert code == 0, out
    assert datetime.fromisoformat(json.loads(out)["expires_at"]).utcoffset() == timedelta(0)
    code, out = grader("invite", "create", "starter", "--cohort", "spring\x1b[31m")
    assert code != 0 and "U+001B" in out and "remove it" in out
