"""What a candidate sees of the environment on a graded submission: the imports it lacks and their
requirements.txt compared, released whatever the assignment's candidate fields (it is made from
their own files and the image's package list), on the status page and in its JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from support.fakes import fake_report
from support.kit import solution_zip

from grader.authoring import new_assignment
from grader.environment_fit import EnvironmentFit, ImportSite, RequirementLine, UnavailableImport
from grader.settings import Settings
from grader.store import claim_job, complete_job, create_invite
from grader.web import create_app

FIT = EnvironmentFit(
    missing_imports=[UnavailableImport(module="lightgbm", optional=False,
                                       used_in=[ImportSite(path="solution.py", line=2)])],
    requirements=[RequirementLine(line=1, text="lightgbm==4.5.0", status="missing",
                                  installed=None)],
    message="Your code imports lightgbm, which this environment does not provide: the import "
            "fails when the grader runs it.")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("candidate-environment")
    new_assignment(root / "assignments", "starter")
    settings = Settings(data_dir=root / "data", assignments_dir=root / "assignments",
                        database_url=f"sqlite:///{root / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        client.db = app.state.service.db
        yield client


def _graded(site, environment: EnvironmentFit | None) -> tuple[str, dict]:
    with site.db.write() as session:
        _, token = create_invite(session, assignment_id="starter", cohort="env", label="",
                                 allowance=1, valid_for=timedelta(days=1), created_by="test")
    uploaded = site.post(f"/api/candidate/{token}/submissions", content=solution_zip(),
                         headers={"content-type": "application/zip"}).json()
    claim = claim_job(site.db, worker="test", lease_seconds=60, max_attempts=3)
    assert claim is not None
    complete_job(site.db, claim, fake_report(40.0, environment=environment))
    return f"/i/{token}/submissions/{uploaded['id']}", uploaded


def test_the_imports_the_environment_lacks_are_shown_to_the_candidate(site) -> None:
    page_url, uploaded = _graded(site, FIT)
    released = site.get(uploaded["url"].replace("/i/", "/api/candidate/")).json()["result"]
    assert released["environment"]["missing_imports"][0]["module"] == "lightgbm"
    # Released whatever the assignment releases: here nothing but the status.
    assert fake_report(40.0, environment=FIT).for_candidate([])["environment"] == released[
        "environment"]
    page = site.get(page_url).text
    assert 'id="environment-fit"' in page
    assert "Your code imports lightgbm, which this environment does not provide" in page
    assert "<code>solution.py</code> line 2" in page
    assert "line 1: <code>lightgbm==4.5.0</code></td><td class=\"missing\">not installed" in page


def test_a_submission_the_environment_fits_shows_no_section(site) -> None:
    fits = EnvironmentFit(missing_imports=[], message="Every import of your code is provided.")
    page_url, _ = _graded(site, fits)
    assert 'id="environment-fit"' not in site.get(page_url).text
