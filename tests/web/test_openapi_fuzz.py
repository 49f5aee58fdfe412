"""schemathesis against the app's own ``/openapi.json``, every built-in check, positive and negative
cases: in process over a real SQLite store holding an invite and a submission, as a logged-in
reviewer. Each case gets a fresh session, so a generated logout ends only its own. Examples are
bounded and derandomized so the run is the same in CI and takes about a minute on 2 cores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.store import (
    accept_submission,
    create_reviewer,
    invite_candidate,
    list_reviewers,
    open_session,
)
from grader.web import create_app
from grader.web._app import app_routes
from grader.web._security import CSRF_HEADER, SESSION_COOKIE

EMAIL = "fuzz@example.com"
MAX_EXAMPLES = 15


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("data")
    app = create_app(Settings(data_dir=data, assignments_dir=BUILT_IN_ASSIGNMENTS, demo=True,
                              database_url=f"sqlite:///{data / 'grader.db'}"))
    with TestClient(app) as client:  # runs the lifespan: the store is migrated
        db = app.state.service.db
        with db.write() as session:
            create_reviewer(session, EMAIL, "a long enough password")
        invite, _ = invite_candidate(db, assignment_id="rag_pipeline", max_submissions=3,
                                     cohort="spring", label="Ada", allowance=None,
                                     valid_days=1, created_by=EMAIL)
        accept_submission(db, invite_id=invite.id, sha256="0" * 64, size_bytes=1,
                          files_dir="none")
        yield client


def _reviewer_headers(client: TestClient) -> dict[str, str]:
    service = client.app.state.service
    with service.db.write() as session:
        reviewer = next(r for r in list_reviewers(session) if r.email == EMAIL)
        token, csrf = open_session(session, reviewer, hours=1)
    return {"Cookie": f"{SESSION_COOKIE}={service.signing.sign_session(token)}",
            CSRF_HEADER: csrf}


def test_the_api_keeps_its_openapi_contract(site: TestClient) -> None:
    # One test over every operation (schemathesis' own pytest loader does not run on pytest 9);
    # each operation's failures are collected with the request that reproduces them.
    failures: list[str] = []
    calls = {f"{method} {route.path_format}": 0 for route in app_routes()
             if route.include_in_schema for method in route.methods}
    for found in schemathesis.openapi.from_asgi("/openapi.json", site.app).get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit,
                                                                   Phase.generate])
        def run(case) -> None:
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            case.call_and_validate(headers=_reviewer_headers(site))

        try:
            run()
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failures
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert all(calls.values()), calls  # every route of the routers was called
