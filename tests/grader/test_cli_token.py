"""``grader token create|list|revoke`` in process against a real SQLite store: the token printed
once works against the app as its reviewer within its scopes, the list never shows a secret, a
revoked token is refused, and the CLI shows a token exactly as the JSON API does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.store import Database, create_reviewer, migrate
from grader.tokens import secret_sha256
from grader.web import create_app

EMAIL, PASSWORD = "ops@example.com", "a long enough password"


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
        create_reviewer(session, EMAIL, PASSWORD)
    db.dispose()

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def client(grader, tmp_path: Path) -> Iterator[TestClient]:
    """The app over the CLI's store."""
    app = create_app(Settings(data_dir=tmp_path / "data", assignments_dir=BUILT_IN_ASSIGNMENTS,
                              demo=True, database_url=f"sqlite:///{tmp_path / 'grader.db'}"))
    with TestClient(app) as client:
        yield client


def test_a_token_from_the_cli_works_until_revoked(grader, client: TestClient) -> None:
    code, out = grader("token", "create", "--reviewer", EMAIL, "--name", "nightly export",
                       "--scope", "read", "--expires", "30d", "--json")
    assert code == 0, out
    made = json.loads(out)
    assert made["scopes"] == ["read"] and made["expires_at"] is not None
    code, out = grader("token", "list", "--json")
    listed = json.loads(out)["tokens"]
    assert [t["id"] for t in listed] == [made["id"]] and made["token"] not in out
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/review/assignments", headers=bearer).status_code == 200
    refused = client.post("/api/review/assignments/rag_pipeline/invites", headers=bearer,
                          json={})
    assert refused.status_code == 403 and "invite" in refused.json()["detail"]
    assert grader("token", "revoke", str(made["id"]))[0] == 0
    assert client.get("/api/review/assignments", headers=bearer).status_code == 401


def test_the_cli_and_the_api_show_a_token_alike(grader, client: TestClient) -> None:
    """Field for field and value for value, every time set (used, expiring, revoked): the CLI adds
    only whose token it is, as the operator lists everyone's."""
    code, out = grader("token", "create", "--reviewer", EMAIL, "--name", "nightly export",
                       "--scope", "read", "--scope", "review", "--expires", "30d", "--json")
    assert code == 0, out
    made = json.loads(out)
    secret = made.pop("token")
    assert client.get("/api/review/assignments",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert grader("token", "revoke", str(made["id"]))[0] == 0
    code, out = grader("token", "list", "--json")
    assert code == 0, out
    [listed] = json.loads(out)["tokens"]
    assert client.post("/api/review/login",
                       json={"email": EMAIL, "password": PASSWORD}).status_code == 200
    answer = client.get("/api/review/tokens")
    [api] = answer.json()
    assert None not in (api["expires_at"], api["revoked_at"], api["last_used_at"])
    assert listed == {**api, "reviewer": EMAIL}
    # Made and listed alike, but for what a revoke and a use changed since.
    changed = ("revoked_at", "last_used_at")
    assert {**made, **{key: listed[key] for key in changed}} == listed
    for shown in (out, answer.text):
        assert secret not in shown and secret_sha256(secret) not in shown


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
