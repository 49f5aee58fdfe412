"""A real `grader serve` per store backend (SQLite, and PostgreSQL started for the run), grading
with the fast fake of the pipeline plus engineering signals (web_fakes.py); shared by the web
tests. The starter assignment gets two manual rubric items; two reviewers can log in."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.kit import (
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
from support.web import MANUAL_RUBRIC, SECOND_REVIEWER, grading_with_signals

from grader.authoring import new_assignment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def assignments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assignments")
    new_assignment(root, "starter")
    with (root / "starter" / "assignment.yaml").open("a") as spec:
        spec.write(MANUAL_RUBRIC)
    return root


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres",
                                                                 marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           assignments_dir: Path):
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    env = service_env(data_dir=folder / "data", assignments_dir=assignments_dir,
                      database_url=database_url(request.param, folder), port=free_port(),
                      GRADER_INTAKE__MAX_COMPRESSED_BYTES=str(UPLOAD_CAP))
    env = grading_with_signals(env)
    for email in (REVIEWER, SECOND_REVIEWER):
        run_cli(env, "reviewer", "create", email, "--password-stdin", stdin=PASSWORD + "\n")
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
def second_reviewer(server):
    """Another logged-in reviewer, for blind scoring."""
    with server.client() as client:
        client.headers["X-CSRF-Token"] = login(client, SECOND_REVIEWER)
        yield client


@pytest.fixture
def make_invite(reviewer):
    def make(cohort: str = "spring", label: str = "candidate", **extra) -> str:
        response = reviewer.post("/api/review/assignments/starter/invites",
                                 json={"cohort": cohort, "label": label, **extra})
        assert response.status_code == 201, response.text
        return response.json()["token"]
    return make


@pytest.fixture
def browser():
    """Debian's headless Chromium through Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; `bash scripts/setup.sh` installs Debian's "
                    "chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()
