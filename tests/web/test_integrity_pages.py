"""The integrity section on the web, in process (the app over a temporary SQLite store, reports
stored as a worker would store them): reviewers see the findings on the report page, the cohort
page marks flagged submissions and lists them alone on request, the JSON and CSV twins carry them;
a candidate's pages and API never show any of it."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from grader.integrity import check_integrity
from grader.report import Report, ReportStatus, Reproduction
from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.spec import load_assignment
from grader.store import (
    accept_submission,
    claim_job,
    complete_job,
    create_reviewer,
    invite_candidate,
)
from grader.web import create_app
from sandbox import Limits

ASSIGNMENT = "rag_pipeline"
EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"
HONEST = "def index(corpus_path, work_dir):\n    pass\n"


@dataclass
class Site:
    client: TestClient
    token: str
    copied: int
    honest: int
    evidence: str  # a line of the hidden file that the copy's evidence shows


def _store(app, settings: Settings, token_invite: int, files: dict[str, str], *,
           metrics: dict[str, float]) -> int:
    service = app.state.service
    folder = BUILT_IN_ASSIGNMENTS / ASSIGNMENT
    assignment = load_assignment(folder, ceiling=Limits())
    files_dir = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]
    root = service.submissions_root / files_dir
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    submission = accept_submission(service.db, invite_id=token_invite, sha256="0" * 64,
                                   size_bytes=100, files_dir=files_dir)
    section = check_integrity(submission_dir=root, assignment=assignment, folder=folder,
                              metrics=metrics)
    report = Report(
        status=ReportStatus.GRADED, message="Graded: 42.0 / 100.", assignment_title="RAG",
        total=42.0, components=[], metrics=[], hidden_tests=[], phases=[], integrity=section,
        reproduction=Reproduction(
            runner_image="runner:test", runner_image_digest=None, assignment_id=ASSIGNMENT,
            assignment_version=assignment.version, assignment_sha256="0" * 64,
            submission_sha256="0" * 64, instance_id="demo", demo=True, public_data_sha256=None,
            seeds={}, limits={}))
    claim = claim_job(service.db, worker="test", lease_seconds=60,
                      max_attempts=settings.max_attempts)
    assert claim is not None and claim.submission_id == submission.id
    assert complete_job(service.db, claim, report)
    return submission.id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data, assignments_dir=BUILT_IN_ASSIGNMENTS, demo=True,
                        database_url=f"sqlite:///{data / 'grader.db'}")
    app = create_app(settings)
    hidden = (BUILT_IN_ASSIGNMENTS / ASSIGNMENT / "hidden" / "generate.py").read_text()
    with TestClient(app) as client:
        db = app.state.service.db
        with db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
        invite, token = invite_candidate(db, assignment_id=ASSIGNMENT, max_submissions=3,
                                         cohort="spring", label="Ada", allowance=None,
                                         valid_days=1, created_by=EMAIL)
        other, _ = invite_candidate(db, assignment_id=ASSIGNMENT, max_submissions=3,
                                    cohort="spring", label="Grace", allowance=None,
                                    valid_days=1, created_by=EMAIL)
        copied = _store(app, settings, invite.id, {"solution.py": HONEST, "gen.py": hidden},
                        metrics={"retrieval.recall_at_10": 1.0})
        honest = _store(app, settings, other.id, {"solution.py": HONEST}, metrics={})
        evidence = next(line.strip() for line in hidden.splitlines()
                        if line.startswith("def ") and len(line) > 20)
        yield Site(client, token, copied, honest, evidence)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def reviewer(site: Site) -> Iterator[TestClient]:
    response = site.client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    yield site.client
    site.client.cookies.clear()


def test_the_report_page_shows_the_findings_and_their_lines(site: Site, reviewer) -> None:
    page = reviewer.get(f"/review/submissions/{site.copied}")
    assert page.status_code == 200
    assert 'id="integrity"' in page.text and "hidden/generate.py" in page.text
    assert site.evidence.split("(")[0] in page.text
    assert "recall_at_10 is perfect" in page.text
    quiet = reviewer.get(f"/review/submissions/{site.honest}")
    assert 'id="integrity"' in quiet.text and "Nothing found" in quiet.text


def test_the_cohort_page_marks_flagged_submissions_and_filters_them(site: Site,
                                                                    reviewer) -> None:
    page = reviewer.get(f"/review/assignments/{ASSIGNMENT}")
    assert page.status_code == 200
    assert f'href="/review/submissions/{site.copied}#integrity" class="flag"' in page.text
    assert "1 flagged" in page.text
    only = reviewer.get(f"/review/assignments/{ASSIGNMENT}?flagged=true").text
    listed = only[only.index('<table id="submissions">'):].split("</table>")[0]
    assert f"/review/submissions/{site.copied}\"" in listed
    assert f"/review/submissions/{site.honest}\"" not in listed
    assert "showing only those" in only


def test_the_api_and_csv_carry_the_findings(site: Site, reviewer) -> None:
    rows = reviewer.get(f"/api/review/assignments/{ASSIGNMENT}/submissions").json()
    flags = {row["id"]: row["integrity"] for row in rows}
    assert flags[site.copied]["flagged"] and flags[site.copied]["findings"] >= 2
    assert not flags[site.honest]["flagged"] and flags[site.honest]["checked"]
    only = reviewer.get(f"/api/review/assignments/{ASSIGNMENT}/submissions",
                        params={"flagged": "true"}).json()
    assert [row["id"] for row in only] == [site.copied]
    detail = reviewer.get(f"/api/review/submissions/{site.copied}").json()
    assert detail["report"]["integrity"]["copies"][0]["source"] == "hidden/generate.py"
    exported = reviewer.get(f"/api/review/assignments/{ASSIGNMENT}/export.csv").text
    table = {int(r["submission_id"]): r for r in csv.DictReader(io.StringIO(exported))}
    assert table[site.copied]["integrity_flagged"] == "true"
    assert table[site.honest]["integrity_findings"] == "0"


def test_candidates_never_see_the_section(site: Site) -> None:
    site.client.cookies.clear()
    seen = [site.client.get(f"/api/candidate/{site.token}").text,
            site.client.get(f"/api/candidate/{site.token}/submissions/{site.copied}").text,
            site.client.get(f"/i/{site.token}/submissions/{site.copied}").text,
            site.client.get(f"/i/{site.token}").text]
    for text in seen:
        assert "integrity" not in text.lower()
        assert "generate.py" not in text and site.evidence not in text
    assert "42.0" in seen[1] or "42" in seen[1]  # the released total is there
