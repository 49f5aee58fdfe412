"""A real `grader serve` per store backend (SQLite, and PostgreSQL started for the run), grading
with the fast fake of the pipeline; shared by the web tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from _kit import (
    PASSWORD,
    REVIEWER,
    UPLOAD_CAP,
    Server,
    database_url,
    free_port,
    login,
    run_cli,
    service_env,
)

from grader.authoring import new_assignment


@pytest.fixture(scope="session")
def assignments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assignments")
    new_assignment(root, "starter")
    return root


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres",
                                                                 marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           assignments_dir: Path):
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    env = service_env(data_dir=folder / "data", assignments_dir=assignments_dir,
                      database_url=database_url(request.param, folder), port=free_port(),
                      GRADER_INTAKE__MAX_COMPRESSED_BYTES=str(UPLOAD_CAP))
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    started = Server(env, folder / "serve.log").start()
    started.backend = request.param
    started.data_dir = folder / "data"
    yield started
    started.stop()


@pytest.fixture
def reviewer(server):
    """A logged-in reviewer client, sending the CSRF header on every call."""
    with server.client() as client:
        client.headers["X-CSRF-Token"] = login(client)
        yield client


@pytest.fixture
def make_invite(reviewer):
    def make(cohort: str = "spring", label: str = "candidate", **extra) -> str:
        response = reviewer.post("/api/review/assignments/starter/invites",
                                 json={"cohort": cohort, "label": label, **extra})
        assert response.status_code == 201, response.text
        return response.json()["token"]
    return make
