"""``grader webhook``: add (the secret printed once), list, deliveries, replay, remove, in process
against a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader import deliveries
from grader.store import Database


@pytest.fixture
def grader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Callable[..., tuple[int, str]]]:
    from grader.cli import app
    from grader.settings import get_settings

    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'grader.db'}")
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    yield invoke
    get_settings.cache_clear()


def test_add_list_replay_and_remove(grader, tmp_path: Path) -> None:
    code, out = grader("webhook", "add", "https://hooks.example.com/g", "--event",
                       "decision.made", "--json")
    assert code == 0, out
    added = json.loads(out)
    assert added["events"] == ["decision.made"] and added["secret"].startswith("whsec_")

    code, out = grader("webhook", "list", "--json")
    assert code == 0 and added["secret"] not in out
    assert [e["url"] for e in json.loads(out)["endpoints"]] == ["https://hooks.example.com/g"]

    db = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    with db.write() as session:
        first = deliveries.enqueue(session, purpose="t", url="https://hooks.example.com/g",
                                   body=b"{}")
    db.dispose()
    code, out = grader("webhook", "replay", str(first))
    assert code == 0, out
    code, out = grader("webhook", "deliveries", "--json")
    assert [(d["id"], d["replay_of"]) for d in json.loads(out)["deliveries"]] == [
        (first + 1, first), (first, None)]
    code, out = grader("webhook", "replay", "999")
    assert code == 1 and "no delivery 999" in out

    assert grader("webhook", "remove", str(added["id"]))[0] == 0
    code, out = grader("webhook", "remove", str(added["id"]))
    assert code == 1 and f"no endpoint {added['id']}" in out


def test_a_url_with_credentials_or_an_unknown_event_is_refused(grader) -> None:
    code, out = grader("webhook", "add", "https://u:p@hooks.example.com/g")
    assert code == 1 and "credentials" in out
    code, out = grader("webhook", "add", "https://hooks.example.com/g", "--event", "nope")
    assert code == 1 and "unknown event" in out
