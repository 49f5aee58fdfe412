"""The web tests' sites, grading with the fast fake of the pipeline plus engineering signals
(support/web_fakes.py) in the worker pool's real child processes. The starter assignment gets two
manual rubric items; two reviewers can log in.

- ``server``: the app in this process (``create_app`` with the Settings `grader serve` would read
  from the same environment, the real SQLite store and worker pool), reached through FastAPI's
  ``TestClient``. Most tests use it, through ``reviewer``, ``second_reviewer`` and ``make_invite``.
- ``live_server``: a real `grader serve` per store backend (SQLite, and PostgreSQL started for the
  run), for what only a deployment shows: the store backend, requests as uvicorn parses them,
  streamed uploads. ``live_reviewer`` logs in there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
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
from support.web_fakes import grade_with_signals

from grader.authoring import new_assignment
from grader.settings import Settings
from grader.store import create_reviewer
from grader.web import create_app

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


def _environment(folder: Path, assignments_dir: Path, backend: str, port: int) -> dict[str, str]:
    env = service_env(data_dir=folder / "data", assignments_dir=assignments_dir,
                      database_url=database_url(backend, folder), port=port,
                      GRADER_INTAKE__MAX_COMPRESSED_BYTES=str(UPLOAD_CAP))
    return grading_with_signals(env)


class _WithoutLifespan:
    """The app for every client after the first: the lifespan (migrations, the worker pool) runs
    once for the session, not once per ``with client``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


@dataclass
class InProcess:
    """The web app in this process, with the part of ``kit.Server``'s interface tests use."""

    app: ASGIApp
    env: dict[str, str]
    data_dir: Path
    backend: str = "sqlite"
    base: str = "http://testserver"

    def client(self, **options) -> TestClient:
        """A client like ``Server.client``'s httpx.Client: redirects are returned, not followed."""
        options.setdefault("follow_redirects", False)
        return TestClient(_WithoutLifespan(self.app), base_url=self.base, **options)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, assignments_dir: Path) -> Iterator[InProcess]:
    folder = tmp_path_factory.mktemp("in-process")
    env = _environment(folder, assignments_dir, "sqlite", port=0)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings()
    app = create_app(settings, run_workers=True, grade=grade_with_signals)
    with pytest.MonkeyPatch.context() as patch:
        # The pool's grading children inherit this environment: they import support.web_fakes.
        patch.setenv("PYTHONPATH", env["PYTHONPATH"])
        with TestClient(app):  # the lifespan: migrations, then the worker pool until the end
            db = app.state.service.db
            with db.write() as session:
                for email in (REVIEWER, SECOND_REVIEWER):
                    create_reviewer(session, email, PASSWORD)
            yield InProcess(app=app, env=env, data_dir=folder / "data")


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres",
                                                                 marks=pytest.mark.postgres)])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                assignments_dir: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    env = _environment(folder, assignments_dir, request.param, port=free_port())
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    started = Server(env, folder / "serve.log").start()
    started.backend = request.param
    started.data_dir = folder / "data"
    yield started
    started.stop()


def _logged_in(site: InProcess | Server, email: str = REVIEWER
               ) -> Iterator[httpx.Client | TestClient]:
    with site.client() as client:
        client.headers["X-CSRF-Token"] = login(client, email)
        yield client


@pytest.fixture
def reviewer(server: InProcess) -> Iterator[TestClient]:
    """A logged-in reviewer client, sending the CSRF header on every call."""
    yield from _logged_in(server)


@pytest.fixture
def second_reviewer(server: InProcess) -> Iterator[TestClient]:
    """Another logged-in reviewer, for blind scoring."""
    yield from _logged_in(server, SECOND_REVIEWER)


@pytest.fixture
def live_reviewer(live_server: Server) -> Iterator[httpx.Client]:
    """A logged-in reviewer of the real server."""
    yield from _logged_in(live_server)


def _inviter(client: httpx.Client | TestClient) -> Callable[..., str]:
    def make(cohort: str = "spring", label: str = "candidate", **extra) -> str:
        response = client.post("/api/review/assignments/starter/invites",
                               json={"cohort": cohort, "label": label, **extra})
        assert response.status_code == 201, response.text
        return response.json()["token"]
    return make


@pytest.fixture
def make_invite(reviewer: TestClient) -> Callable[..., str]:
    """Makes an invite to the starter assignment and returns its token."""
    return _inviter(reviewer)


@pytest.fixture
def make_live_invite(live_reviewer: httpx.Client) -> Callable[..., str]:
    """``make_invite`` on the real server."""
    return _inviter(live_reviewer)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (never a downloaded browser); one per
    module, as starting it is most of a short browser test's time."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; `bash scripts/setup.sh` installs Debian's "
                    "chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()
