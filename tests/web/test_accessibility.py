"""Every page in headless Chromium (Debian's, through Playwright): axe-core finds no serious or
critical violation; every page, the report with a long pytest repr in it, fits a 1280 px window
and a 390 px phone without scrolling sideways; chart labels do not print over each other. One app
(in process, under uvicorn on a free port) and one browser for the module; no grading runs.
Screenshots go to test-artifacts/screenshots/ (CI keeps them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page
from support.kit import free_port, solution_zip
from support.report_site import EMAIL, PASSWORD, PREFLIGHT, Seeded, app_for, seed

from grader.web import _candidate

pytestmark = pytest.mark.browser  # the `browser` fixture: conftest.py

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BLOCKING = {"serious", "critical"}
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Site:
    base: str
    seeded: Seeded

    def pages(self) -> dict[str, str]:
        """Every page a person reads, by a name for its screenshot."""
        s = self.seeded
        return {"login": "/review/login", "home": "/review",
                "cohort": "/review/assignments/starter?cohort=spring",
                "report": f"/review/submissions/{s.submission}",
                "file": f"/review/submissions/{s.submission}/files/solution.py",
                "webhooks": "/review/webhooks", "tokens": "/review/tokens",
                "candidate-invite": f"/i/{s.token}",
                "candidate-status": f"/i/{s.token}/submissions/{s.submission}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app = app_for(tmp_path_factory.mktemp("a11y"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # startup migrates the schema
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", seed(app))
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def reviewer(site: Site, browser):
    """A browser context logged in as the reviewer (through the login form)."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{site.base}/review/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.base}/review")
    page.close()
    yield context
    context.close()


def _violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[node['target'] for node in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def _each_page(site: Site, reviewer, browser, viewport: dict[str, int]
               ) -> Iterator[tuple[str, Page]]:
    """Every page loaded at ``viewport``: the candidate's and the login page logged out."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    logged_out = browser.new_context(viewport=viewport)
    try:
        for name, path in site.pages().items():
            context = logged_out if name == "login" or name.startswith("candidate") else reviewer
            page = context.new_page()
            page.set_viewport_size(viewport)
            response = page.goto(site.base + path)
            assert response is not None and response.ok, (name, response and response.status)
            if name == "report":
                assert "0x7f3a9c2b1d80" in page.content()  # the long repr is on the page
            page.screenshot(path=SHOTS / f"page-{name}-{viewport['width']}px.png", full_page=True)
            yield name, page
            page.close()
    finally:
        logged_out.close()


def _too_wide(page: Page, viewport: dict[str, int]) -> int | None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    return width if width > viewport["width"] else None


def test_every_page_at_1280px_has_no_serious_violation_and_fits(site: Site, reviewer,
                                                                browser) -> None:
    # One visit per page for both checks: loading the pages is most of this module's time.
    found, wide = {}, {}
    for name, page in _each_page(site, reviewer, browser, DESKTOP):
        if problems := _violations(page):
            found[name] = problems
        if width := _too_wide(page, DESKTOP):
            wide[name] = width
    assert not found, found
    assert not wide, f"wider than a 1280 px window: {wide}"


def test_every_page_fits_a_phone(site: Site, reviewer, browser) -> None:
    wide = {name: width for name, page in _each_page(site, reviewer, browser, PHONE)
            if (width := _too_wide(page, PHONE))}
    assert not wide, f"wider than a 390 px phone: {wide}"


def test_the_preflight_answer_with_its_environment_section_has_no_serious_violation_and_fits(
        site: Site, browser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The answer to a POST, so reached through the invite page's form; the check itself (which
    # needs the engine) answers with the seeded result.
    monkeypatch.setattr(_candidate, "_run_preflight", lambda *_args: PREFLIGHT)
    upload = tmp_path / "submission.zip"
    upload.write_bytes(solution_zip())
    context = browser.new_context()
    try:
        found, wide = {}, {}
        for viewport in (DESKTOP, PHONE):
            page = context.new_page()
            page.set_viewport_size(viewport)
            page.goto(f"{site.base}/i/{site.seeded.token}")
            form = page.locator("form#preflight")
            form.locator("input[type=file]").set_input_files(upload)
            with page.expect_navigation():
                form.locator("button[type=submit]").click()
            assert page.locator("#environment-fit").count() == 1  # the section is on the page
            page.screenshot(path=SHOTS / f"page-candidate-preflight-{viewport['width']}px.png",
                            full_page=True)
            if viewport is DESKTOP and (problems := _violations(page)):
                found[viewport["width"]] = problems
            if width := _too_wide(page, viewport):
                wide[viewport["width"]] = width
            page.close()
    finally:
        context.close()
    assert not found, found
    assert not wide, f"wider than the window: {wide}"


def test_the_long_repr_is_shortened_with_the_whole_of_it_a_click_away(site: Site,
                                                                      reviewer) -> None:
    page = reviewer.new_page()
    page.goto(f"{site.base}/review/submissions/{site.seeded.submission}")
    cell = page.locator("#hidden-tests details.long")
    full = cell.locator("pre")
    assert not full.is_visible()
    cell.locator("summary").click()
    assert "'label_59']" in full.inner_text()
    page.close()


def test_chart_labels_do_not_overlap(site: Site, reviewer) -> None:
    page = reviewer.new_page()
    page.goto(f"{site.base}/review/submissions/{site.seeded.submission}")
    charts = page.locator("svg.chart")
    assert charts.count() >= 2  # the cohort's totals and the metric's strip
    for index in range(charts.count()):
        boxes = charts.nth(index).locator("text").evaluate_all(
            "texts => texts.map(t => { const b = t.getBoundingClientRect();"
            " return [t.textContent, b.left, b.top, b.right, b.bottom]; })")
        for i, (a, *box_a) in enumerate(boxes):
            for b, *box_b in boxes[i + 1:]:
                apart = (box_a[2] <= box_b[0] or box_b[2] <= box_a[0]
                         or box_a[3] <= box_b[1] or box_b[3] <= box_a[1])
                assert apart, f"chart {index}: {a!r} overlaps {b!r}"
    page.close()
