"""The reviewer's cohort data through the app in process, on a real SQLite store: the CSV export
(any cohort name as its file name, UTC times, a fixed number of queries however large the
cohort), 404 for unknown assignments on every reviewer JSON route, and a cohort table that tells
a submission whose code failed from a weak one and averages each candidate's latest total.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from grader.authoring import new_assignment
from grader.outcomes import CodeFailure, FailureKind
from grader.report import Report, ReportStatus, Reproduction
from grader.settings import Settings
from grader.store import (
    Database,
    accept_submission,
    claim_job,
    complete_job,
    create_reviewer,
    invite_candidate,
)
from grader.web import create_app

ASSIGNMENT = "starter"
EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"
MANUAL_RUBRIC = """
manual_rubric:
  - id: readme
    title: README explains trade-offs
    levels:
      - {points: 0, description: No discussion of alternatives}
      - {points: 4, description: Weighs accuracy against cost with evidence}
"""
CRASH = CodeFailure(kind=FailureKind.EXCEPTION, phase="build",
                    summary="Your code raised ImportError while importing solution.py.")


@dataclass
class Site:
    client: TestClient
    db: Database
    root: Path


def _report(total: float, failure: CodeFailure | None) -> Report:
    return Report(
        status=ReportStatus.GRADED, message=f"Graded: {total:.1f} / 100.",
        assignment_title="Starter", total=total, components=[], metrics=[], hidden_tests=[],
        phases=[], failure=failure, reproduction=Reproduction(
            runner_image="runner:test", runner_image_digest=None, assignment_id=ASSIGNMENT,
            assignment_version="1", assignment_sha256="0" * 64, submission_sha256="0" * 64,
            instance_id="demo", demo=True, public_data_sha256=None, seeds={}, limits={}))


def _invite(site: Site, cohort: str, label: str) -> int:
    invite, _ = invite_candidate(site.db, assignment_id=ASSIGNMENT, max_submissions=5,
                                 cohort=cohort, label=label, allowance=None, valid_days=1,
                                 created_by=EMAIL)
    return invite.id


def _graded(site: Site, invite_id: int, total: float, *, crashed: bool = False) -> int:
    """A submission of the invite with a graded report: its code crashed at import (0 points),
    or it ran and earned ``total``."""
    files = site.root / "submissions" / f"{invite_id}-{total}-{crashed}"
    files.mkdir(parents=True, exist_ok=True)
    (files / "solution.py").write_text(f"def train():\n    return {total}\n")
    submission = accept_submission(site.db, invite_id=invite_id, sha256="0" * 64,
                                   size_bytes=10, files_dir=str(files.relative_to(
                                       site.root / "submissions")))
    claim = claim_job(site.db, worker="test", lease_seconds=60, max_attempts=3)
    assert claim is not None and claim.submission_id == submission.id
    assert complete_job(site.db, claim, _report(0.0 if crashed else total,
                                                CRASH if crashed else None))
    return submission.id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("reviewer-data")
    new_assignment(root / "assignments", ASSIGNMENT)
    with (root / "assignments" / ASSIGNMENT / "assignment.yaml").open("a") as spec:
        spec.write(MANUAL_RUBRIC)
    settings = Settings(data_dir=root / "data", assignments_dir=root / "assignments",
                        demo=True, database_url=f"sqlite:///{root / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        db = app.state.service.db
        with db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
        found = Site(client, db, app.state.service.submissions_root.parent)
        response = client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield found
    shutil.rmtree(root, ignore_errors=True)


def _csv(site: Site, cohort: str) -> list[dict[str, str]]:
    response = site.client.get(f"/api/review/assignments/{ASSIGNMENT}/export.csv",
                               params={"cohort": cohort})
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


# --- the export's file name and times ---------------------------------------------------------

@pytest.mark.parametrize("cohort", ["春季-2026", 'quote"d\\', "line\nbreak"])
def test_any_cohort_name_exports_with_an_rfc_6266_file_name(site: Site, cohort: str) -> None:
    invited = cohort.isprintable()  # invites may refuse control characters; the query may not
    if invited:
        _graded(site, _invite(site, cohort, "Ada"), 40.0)
    response = site.client.get(f"/api/review/assignments/{ASSIGNMENT}/export.csv",
                               params={"cohort": cohort})
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    disposition.encode("ascii")  # a header is Latin-1 at most; keep it to plain ASCII
    fallback, encoded = disposition.split("; ")[1:]
    assert fallback.startswith('filename="starter-') and fallback.endswith('.csv"')
    assert not any(c in fallback[len('filename="'):-1] for c in '"\\\r\n')
    assert encoded.startswith("filename*=UTF-8''")
    assert unquote(encoded.removeprefix("filename*=UTF-8''")) == f"starter-{cohort}.csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["cohort"] for row in rows] == ([cohort] if invited else [])


def test_the_csv_gives_every_time_in_utc_with_its_zone(site: Site) -> None:
    submission_id = _graded(site, _invite(site, "zoned", "Ada"), 40.0)
    decided = site.client.put(f"/api/review/submissions/{submission_id}/decision",
                              json={"decision": "hold"}, headers={"X-CSRF-Token": _csrf(site)})
    assert decided.status_code == 200, decided.text
    [row] = _csv(site, "zoned")
    for column in ("submitted_at", "graded_at", "decided_at"):
        assert row[column].endswith("+00:00"), (column, row[column])


def _csrf(site: Site) -> str:
    response = site.client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
    return response.json()["csrf_token"]


def test_the_export_takes_the_same_number_of_queries_for_any_cohort_size(site: Site) -> None:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    counts = []
    for cohort, size in (("small", 2), ("large", 7)):
        for index in range(size):
            _graded(site, _invite(site, cohort, f"cand{index}"), 10.0 * index)
        statements.clear()
        event.listen(site.db.engine, "before_cursor_execute", count)
        try:
            assert len(_csv(site, cohort)) == size
        finally:
            event.remove(site.db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# --- unknown assignments ------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["submissions", "invites", "export.csv", "similarity"])
def test_an_unknown_assignment_is_404_on_every_reviewer_route(site: Site, route: str) -> None:
    response = site.client.get(f"/api/review/assignments/no_such_thing/{route}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404 and "no_such_thing" in response.json()["detail"]


def test_a_known_assignment_with_an_unknown_cohort_is_an_empty_listing(site: Site) -> None:
    response = site.client.get(f"/api/review/assignments/{ASSIGNMENT}/submissions",
                               params={"cohort": "nobody-yet"})
    assert response.status_code == 200 and response.json() == []


# --- the cohort table ---------------------------------------------------------------------------

def test_the_cohort_table_tells_code_that_failed_from_a_weak_score(site: Site) -> None:
    crashed = _graded(site, _invite(site, "mixed", "Crash"), 0.0, crashed=True)
    weak = _graded(site, _invite(site, "mixed", "Weak"), 3.0)
    rows = {row["id"]: row for row in site.client.get(
        f"/api/review/assignments/{ASSIGNMENT}/submissions", params={"cohort": "mixed"}).json()}
    assert rows[crashed]["failure"] == CRASH.summary
    assert rows[weak]["failure"] is None
    page = site.client.get(f"/review/assignments/{ASSIGNMENT}", params={"cohort": "mixed"}).text
    table = page[page.index('<table id="submissions">'):].split("</table>")[0]
    crashed_row = table[table.index(f'/review/submissions/{crashed}"'):].split("</tr>")[0]
    weak_row = table[table.index(f'/review/submissions/{weak}"'):].split("</tr>")[0]
    assert "code failed" in crashed_row and "ImportError" in crashed_row
    assert "code failed" not in weak_row and ">graded<" in weak_row
    by_id = {int(row["submission_id"]): row for row in _csv(site, "mixed")}
    assert by_id[crashed]["failure"] == CRASH.summary
    assert by_id[weak]["failure"] == ""


def test_the_cohort_mean_averages_each_candidates_latest_graded_total(site: Site) -> None:
    first = _invite(site, "means", "Twice")
    _graded(site, first, 10.0)
    _graded(site, first, 90.0)
    _graded(site, _invite(site, "means", "Once"), 50.0)
    [starter] = [a for a in site.client.get("/api/review/assignments").json()
                 if a["id"] == ASSIGNMENT]
    [means] = [c for c in starter["cohorts"] if c["cohort"] == "means"]
    assert means["mean_total"] == pytest.approx(70.0)  # (90 + 50) / 2, not (10 + 90 + 50) / 3
    home = site.client.get("/review").text
    assert "mean of each candidate's latest" in home
