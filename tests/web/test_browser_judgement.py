"""Headless Chromium (Debian's, driven by Playwright): a reviewer sees the cohort's flagged pair
and a report's engineering signals, scores the manual rubric, sets a decision and leaves a note;
the points, the decision and the note are on the page afterwards. Graded by the fast fake with
signals (no Docker); screenshots are saved under the test's tmp folder (screenshots/)."""

from __future__ import annotations

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
    upload,
    wait_final,
)
from support.web import COPIED, RENAMED, SIGNALLED, grading_with_signals, zip_of

pytestmark = [pytest.mark.browser]


def test_reviewer_scores_manual_items_and_decides(tmp_path: Path, assignments_dir: Path,
                                                  browser) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = grading_with_signals(service_env(
        data_dir=tmp_path / "data", assignments_dir=assignments_dir,
        database_url=database_url("sqlite", tmp_path), port=free_port()))
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        submitted = []
        with server.client() as client:
            for label, files in (("Ada", {**SIGNALLED, "solution.py": COPIED}),
                                 ("Grace", {"solution.py": RENAMED}),
                                 ("Linus", SIGNALLED)):
                url = run_cli(env, "invite", "create", "starter", "--cohort", "judged",
                              "--label", label).strip().splitlines()[-1]
                token = token_of(url)
                response = upload(client, token, zip_of(files))
                assert response.status_code == 201, response.text
                submitted.append((token, response.json()["id"]))
            for token, submission_id in submitted:
                wait_final(client, token, submission_id)
        signalled = submitted[2][1]

        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{server.base}/review/assignments/starter?cohort=judged")
        page.fill("input[name=email]", REVIEWER)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator("#similar-pairs").wait_for()
        flagged = page.locator("#similar-pairs tr.flagged")
        assert flagged.count() == 1 and "Ada" in flagged.inner_text()
        assert "Grace" in flagged.inner_text()
        page.screenshot(path=shots / "1-cohort-similarity.png", full_page=True)

        page.goto(f"{server.base}/review/submissions/{signalled}")
        page.locator("#signals").wait_for()
        assert "5 passed, 1 failed" in page.locator("#own-tests").inner_text()
        assert "lightgbm" in page.locator("#dependencies").inner_text()
        assert page.locator("#lint-families").count() == 1
        page.screenshot(path=shots / "2-report-signals.png", full_page=True)

        readme = page.locator("#manual-readme")
        readme.get_by_label("Names what was tried").check()
        readme.get_by_role("button", name="Save my score").click()
        page.wait_for_url(f"**/review/submissions/{signalled}#manual-readme")
        assert "Your score: 2" in page.locator("#manual-readme").inner_text()
        assert page.locator("#combined-points").inner_text() == "—"  # one item still to score
        structure = page.locator("#manual-structure")
        structure.get_by_label("Modules with tests").check()
        structure.get_by_role("button", name="Save my score").click()
        page.wait_for_url(f"**/review/submissions/{signalled}#manual-structure")
        assert page.locator("#manual-points").inner_text() == "5.0"
        assert page.locator("#combined-points").inner_text() == "80.0"  # 75 + 5, out of 107

        page.get_by_label("advance").check()
        page.get_by_role("button", name="Save decision").click()
        page.wait_for_url(f"**/review/submissions/{signalled}#decision")
        assert page.locator("#current-decision").inner_text() == "advance"
        page.fill("textarea[name=body]", "Clear README; ask about the length threshold.")
        page.get_by_role("button", name="Add note").click()
        page.wait_for_url(f"**/review/submissions/{signalled}#notes")
        assert "Clear README; ask about the length threshold." in page.content()
        page.locator("#points").scroll_into_view_if_needed()
        page.screenshot(path=shots / "3-scored-and-decided.png", full_page=True)

        page.goto(f"{server.base}/review/assignments/starter?cohort=judged")
        assert "advance" in page.locator("#submissions").inner_text()
    finally:
        server.stop()
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "1-cohort-similarity.png", "2-report-signals.png", "3-scored-and-decided.png"]
