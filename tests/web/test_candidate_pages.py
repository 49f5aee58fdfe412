"""The candidate's pages in this process (no worker: the tests move jobs through the store as a
worker would): the README rendered from Markdown, per-candidate submission numbers, the upload
address reloaded, and the status page's progress in its JSON and its accessible live region."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.kit import solution_zip

from grader.authoring import new_assignment
from grader.settings import Settings
from grader.store import (
    GradingProgress,
    JobState,
    claim_job,
    complete_job,
    create_invite,
    record_progress,
)
from grader.web import create_app
from grader.web._app import SECURITY_HEADERS
from grader.web._candidate import STATUS_PAGE_CSP
from grader.web._markdown import render_markdown
from grader.web._progress import duration, remaining_seconds

README = """# Starter task

Intro with <script>alert("readme")</script> and [a link](javascript:alert(1)).

## What to build

| function | phase |
| --- | --- |
| `train(train_path, work_dir)` | build |

```python
def train(train_path, work_dir):
    ...
```

## The data

### Files

## Grading

## Submitting
"""
LEASE = {"lease_seconds": 60, "max_attempts": 3}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("candidate-pages")
    new_assignment(root / "assignments", "starter")
    (root / "assignments" / "starter" / "candidate" / "README.md").write_text(README)
    settings = Settings(data_dir=root / "data", assignments_dir=root / "assignments",
                        database_url=f"sqlite:///{root / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        client.db = app.state.service.db
        yield client


def _invite(site, allowance: int = 3) -> str:
    with site.db.write() as session:
        _, token = create_invite(session, assignment_id="starter", cohort="pages", label="",
                                 allowance=allowance, valid_for=timedelta(days=1),
                                 created_by="test")
    return token


def _upload(site, token: str) -> dict:
    response = site.post(f"/api/candidate/{token}/submissions", content=solution_zip(),
                         headers={"content-type": "application/zip"})
    assert response.status_code == 201, response.text
    return response.json()


def _claim(site):
    claim = claim_job(site.db, worker="test", **LEASE)
    assert claim is not None
    return claim


def _drain(site) -> None:
    """Grade whatever earlier tests left queued, so each test starts from an empty queue."""
    from support.fakes import fake_report

    while (claim := claim_job(site.db, worker="drain", **LEASE)) is not None:
        complete_job(site.db, claim, fake_report(60.0))


def test_the_readme_is_rendered_markdown_with_contents_and_no_live_markup(site) -> None:
    page = site.get(f"/i/{_invite(site)}").text
    assert '<pre class="readme">' not in page
    assert "<table>" in page and "<th>function</th>" in page
    assert '<pre><code class="language-python">def train' in page
    assert '<h3 id="readme-what-to-build">What to build</h3>' in page
    assert '<a href="#readme-files">Files</a>' in page  # the contents list, ### included
    # The author's markup is text, and a script link is not a link.
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert 'href="javascript:' not in page


def test_a_short_readme_has_no_contents_and_the_rag_readme_has_one() -> None:
    assert render_markdown("# A\n\n## One\n\n## Two\n").toc == []
    rag = Path(__file__).resolve().parents[2] / "assignments/rag_pipeline/candidate/README.md"
    toc = render_markdown(rag.read_text()).toc
    assert [h.text for h in toc][:2] == ["What to build", "The data"]


def test_submissions_are_numbered_per_invite_and_keep_their_id_in_urls(site) -> None:
    first_invite, second_invite = _invite(site), _invite(site)
    a = _upload(site, first_invite)
    b = _upload(site, second_invite)
    c = _upload(site, second_invite)
    assert (a["number"], b["number"], c["number"]) == (1, 1, 2)
    assert b["id"] == a["id"] + 1 and b["url"].endswith(f"/submissions/{b['id']}")
    listed = site.get(f"/api/candidate/{second_invite}").json()["submissions"]
    assert [s["number"] for s in listed] == [2, 1]
    page = site.get(f"/i/{second_invite}/submissions/{b['id']}").text
    assert "<h1>Submission 1</h1>" in page
    invite_page = site.get(f"/i/{second_invite}").text
    assert f'<a href="{b["url"]}">Submission 1</a>' in invite_page
    assert f'<a href="{c["url"]}">Submission 2</a>' in invite_page


def test_reloading_the_upload_address_leads_back_to_the_invite(site) -> None:
    token = _invite(site)
    refused = site.post(f"/i/{token}/upload", files={"file": ("s.zip", b"not a zip")})
    assert refused.status_code in (400, 403, 422)
    again = site.get(f"/i/{token}/upload")
    assert again.status_code == 303 and again.headers["location"] == f"/i/{token}"


def test_the_upload_field_has_a_short_label_and_its_limits_as_a_hint(site) -> None:
    page = site.get(f"/i/{_invite(site)}").text
    assert '<label for="upload-file">Your submission zip</label>' in page
    assert 'aria-describedby="upload-hint"' in page and 'id="upload-hint"' in page


def test_progress_while_queued_then_grading_in_the_json_and_the_page(site) -> None:
    _drain(site)
    token = _invite(site)
    _upload(site, token)  # the one ahead
    mine = _upload(site, token)
    api = f"/api/candidate/{token}/submissions/{mine['id']}"
    queued = site.get(api).json()["progress"]
    assert queued["state"] == "queued" and queued["queue_position"] == 2
    assert queued["message"] == "Waiting in the queue: 1 submission ahead of yours."
    assert queued["typical_seconds"] is not None  # _drain graded some: there is a median

    page = site.get(f"/i/{token}/submissions/{mine['id']}")
    assert 'http-equiv="refresh"' not in page.text
    assert re.search(r'<p id="progress-message" role="status" aria-live="polite">Waiting in '
                     r'the queue: 1 submission ahead', page.text)
    assert f'data-poll="{api}"' in page.text and "/static/candidate.js" in page.text
    assert f'<a href="{mine["url"]}">Reload this page</a>' in page.text  # without script
    assert "script-src 'self'" in page.headers["content-security-policy"]

    _claim(site)  # `ahead`
    second = _claim(site)
    assert second.submission_id == mine["id"]
    assert record_progress(site.db, second, "hidden tests: contract")
    grading = site.get(api).json()["progress"]
    assert grading["state"] == "grading" and grading["queue_position"] is None
    assert grading["step"] == "hidden tests: contract"
    assert grading["message"] == "Grading now: hidden tests: contract."
    assert grading["timing"].startswith("Grading for ")


def test_a_final_page_runs_no_script_and_keeps_the_strict_policy(site) -> None:
    from support.fakes import fake_report

    _drain(site)
    token = _invite(site)
    done = _upload(site, token)
    complete_job(site.db, _claim(site), fake_report(70.0))
    page = site.get(f"/i/{token}/submissions/{done['id']}")
    assert "candidate.js" not in page.text and 'id="progress"' not in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert site.get(done["url"].replace("/i/", "/api/candidate/")).json()["progress"] is None


def test_the_status_page_policy_differs_from_the_app_s_only_in_its_script() -> None:
    app_policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert app_policy.replace("script-src 'none'", "script-src 'self'") == STATUS_PAGE_CSP


def _progress(position: int | None, running: int, typical: float | None) -> GradingProgress:
    from grader.store import utcnow

    return GradingProgress(state=JobState.QUEUED if position else JobState.RUNNING, step=None,
                           since=utcnow(), queue_position=position, running=running,
                           typical_seconds=typical)


def test_estimates_share_the_queue_among_the_gradings_running_now() -> None:
    assert remaining_seconds(_progress(None, 1, 100.0), elapsed=30) == 70
    assert remaining_seconds(_progress(None, 1, 100.0), elapsed=130) == 0
    assert remaining_seconds(_progress(1, 0, 100.0), elapsed=5) == 100  # taken at the next poll
    assert remaining_seconds(_progress(1, 1, 100.0), elapsed=5) == 200  # after the one running
    assert remaining_seconds(_progress(3, 2, 100.0), elapsed=5) == 300  # 4 ahead on 2 workers
    assert remaining_seconds(_progress(2, 1, None), elapsed=5) is None
    assert [duration(s) for s in (42, 185, 3720)] == ["42 s", "3 min 05 s", "1 h 02 min"]
