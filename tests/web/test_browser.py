"""Headless Chromium (Debian's, driven by Playwright): a candidate uploads and watches the status
page turn graded; a reviewer logs in and reads the report. Real pipeline, real engine.
Screenshots are saved under the test's tmp folder (screenshots/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.kit import (
    PASSWORD,
    REVIEWER,
    Server,
    database_url,
    free_port,
    run_cli,
    service_env,
    token_of,
)

from grader.authoring import zip_folder

pytestmark = [pytest.mark.docker, pytest.mark.browser]  # the `browser` fixture: conftest.py


def test_candidate_upload_to_graded_status_then_reviewer_report(
        tmp_path: Path, assignments_dir: Path, runner_image: str, browser) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("sqlite", tmp_path), port=free_port(),
                      fake=False, GRADER_RUNNER_IMAGE=runner_image)
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    url = run_cli(env, "invite", "create", "starter", "--cohort", "browser",
                  "--label", "Grace").strip().splitlines()[-1]
    submission = zip_folder(assignments_dir / "starter" / "reference" / "solution",
                            tmp_path / "submission.zip")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{server.base}/i/{token_of(url)}")
        page.get_by_text("Download the starter bundle").wait_for()
        page.screenshot(path=shots / "1-invite.png", full_page=True)
        page.set_input_files("input[type=file]", str(submission))
        page.get_by_role("button", name="Upload and grade").click()
        page.wait_for_url(re.compile(r"/submissions/\d+$"))
        page.screenshot(path=shots / "2-queued.png", full_page=True)
        # The page follows the grading, then reloads once when the report is ready.
        page.locator("#status", has_text="graded").wait_for(timeout=180_000)
        assert page.locator(".total").inner_text() == "100.0"
        assert "Accuracy on hidden texts" in page.content()
        page.screenshot(path=shots / "3-graded.png", full_page=True)

        reviewer = browser.new_page(viewport={"width": 1100, "height": 900})
        reviewer.goto(f"{server.base}/review")
        assert "/review/login" in reviewer.url
        reviewer.fill("input[name=email]", REVIEWER)
        reviewer.fill("input[name=password]", PASSWORD)
        reviewer.get_by_role("button", name="Log in").click()
        reviewer.get_by_role("link", name="browser").click()
        reviewer.screenshot(path=shots / "4-cohort.png", full_page=True)
        reviewer.locator("#submissions td a").first.click()
        reviewer.locator("#total").wait_for()
        assert reviewer.locator("#total").inner_text() == "100.0"
        assert reviewer.locator("svg.chart").count() >= 2  # cohort totals and the metric strip
        reviewer.screenshot(path=shots / "5-report.png", full_page=True)
        reviewer.get_by_role("link", name="solution.py").click()
        reviewer.locator(".highlight").wait_for()
        reviewer.screenshot(path=shots / "6-file.png", full_page=True)
    finally:
        server.stop()
    assert len(list(shots.glob("*.png"))) == 6
