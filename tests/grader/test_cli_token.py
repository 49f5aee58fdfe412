"""``grader token create|list|revoke`` in process against a real SQLite store: the token printed
once works against the app as its reviewer within its scopes, the list never shows a secret, and a
revoked token is refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.store import Database, create_reviewer, migrate
from grader.web import create_app

EMAIL = "ops@example.com"


@pytest.fixture
def grader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Callable[..., tuple[int, str]]]:
    """``grader(*args)``: the CLI in process on a fresh store holding one reviewer."""
    from grader.cli import app
    from grader.settings import get_settings

    url = f"sqlite:///{tmp_path / 'grader.db'}"
    monkeypatch.setenv("GRADER_ASSIGNMENTS_DIR", str(BUILT_IN_ASSIGNMENTS))
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADER_DATABASE_URL", url)
    get_settings.cache_clear()
    db = Database(url)
    migrate(db)
    with db.write() as session:
        create_reviewer(session, EMAIL, "a long enough password")
    db.dispose()

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    yield invoke
    get_settings.cache_clear()


def test_a_token_from_the_cli_works_until_revoked(grader, tmp_path: Path) -> None:
    code, out = grader("token", "create", "--reviewer", EMAIL, "--name", "nightly export",
                       "--scope", "read", "--expires", "30d", "--json")
    assert code == 0, out
    made = json.loads(out)
    assert made["scopes"] == ["read"] and made["expires_at"] is not None
    code, out = grader("token", "list", "--json")
    listed = json.loads(out)["tokens"]
    assert [t["id"] for t in listed] == [made["id"]] and made["token"] not in out
    app = create_app(Settings(data_dir=tmp_path / "data", assignments_dir=BUILT_IN_ASSIGNMENTS,
                              demo=True, database_url=f"sqlite:///{tmp_path / 'grader.db'}"))
    bearer = {"Authorization": f"Bearer {made['token']}"}
    with TestClient(app) as client:
        assert client.get("/api/review/assignments", headers=bearer).status_code == 200
        refused = client.post("/api/review/assignments/rag_pipeline/invites", headers=bearer,
                              json={})
        assert refused.status_code == 403 and "invite" in refused.json()["detail"]
        assert grader("token", "revoke", str(made["id"]))[0] == 0
        assert client.get("/api/review/assignments", headers=bearer).status_code == 401


def test_bad_token_requests_say_what_was_wrong(grader) -> None:
    code, out = grader("token", "create", "--reviewer", EMAIL, "--name", "x", "--scope", "admin")
    assert code != 0 and "unknown scope(s) admin" in out and "integration:greenhouse" in out
    code, out = grader("token", "create", "--reviewer", "nobody@example.com", "--name", "x",
                       "--scope", "read")
    assert code == 1 and "no reviewer nobody@example.com" in out
    code, out = grader("token", "revoke", "42")
    assert code == 1 and "no token 42" in out
    code, out = grader("token", "create", "--reviewer", EMAIL, "--name", "ci\x1b[2Jbot",
                       "--scope", "read")
    assert code == 1 and "the name may not hold control" in out and "U+001B" in out
