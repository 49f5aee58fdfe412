"""The reviewer's pages as HTML, in process (support/report_site.py): a phase that raised reads
as failed, long reprs are cut with the whole text kept, tables name their headers' scope, radio
groups have a legend, a re-grade asks first, the login form keeps the email after a wrong
password; the standalone report renders the same tables. Layout in a browser:
test_accessibility.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from support.report_site import (
    EMAIL,
    LONG_REPR,
    PASSWORD,
    RAISED,
    Seeded,
    add_graded,
    app_for,
    graded_report,
    seed,
)

from grader.report import Report, render_html
from grader.web._charts import metric_strip, total_histogram


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    app = app_for(tmp_path_factory.mktemp("report-page"))
    with TestClient(app) as client:
        yield app, client


@pytest.fixture(scope="module")
def site(served: tuple[FastAPI, TestClient]) -> Seeded:
    return seed(served[0])


@pytest.fixture(scope="module")
def reviewer(served: tuple[FastAPI, TestClient], site: Seeded) -> TestClient:
    client = served[1]
    response = client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


@pytest.fixture(scope="module")
def report_page(site: Seeded, reviewer: TestClient) -> str:
    page = reviewer.get(f"/review/submissions/{site.submission}")
    assert page.status_code == 200, page.text
    return page.text


def _phase_rows(page: str) -> dict[str, tuple[str, str]]:
    """phase name -> (the outcome cell's class, its text), from the phases table."""
    table = re.search(r'<table id="phases">(.*?)</table>', page, re.S)
    assert table is not None
    return {name: (cls, text.strip()) for name, cls, text in re.findall(
        r'<tr><td>(\w+)</td><td class="(\w+)">([^<]*)</td>', table.group(1))}


def test_a_phase_whose_code_raised_shows_as_failed(report_page: str) -> None:
    # The build's container ended "ok": the agent reported the raise and exited cleanly.
    rows = _phase_rows(report_page)
    assert rows["build"] == ("failed", "failed")
    assert rows["serve"] == ("passed", "ok")
    assert escape(RAISED) in report_page


def test_the_standalone_report_shares_the_tables(site: Seeded, reviewer) -> None:
    report = reviewer.get(f"/api/review/submissions/{site.submission}").json()["report"]
    page = render_html(Report.model_validate(report))
    assert _phase_rows(page)["build"] == ("failed", "failed")
    assert 'id="hidden-tests"' in page and 'details class="long"' in page
    assert "<style>" in page and "overflow-wrap" in page  # the pages' stylesheet, inlined


def test_a_long_repr_is_cut_and_kept_whole_behind_a_disclosure(report_page: str) -> None:
    cell = re.search(r'<details class="long"><summary><code>(.*?)</code></summary>'
                     r'<pre class="wrap">(.*?)</pre></details>', report_page, re.S)
    assert cell is not None
    shown, whole = cell.groups()
    assert len(shown) < len(whole) and shown.endswith("…")
    assert whole == escape(LONG_REPR)


class _Headers(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.unscoped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th" and dict(attrs).get("scope") not in {"col", "row"}:
            self.unscoped.append(f"line {self.getpos()[0]}")


@pytest.mark.parametrize("path", ["/review", "/review/assignments/starter?cohort=spring",
                                  "report"])
def test_every_table_header_has_a_scope(site: Seeded, reviewer, path: str) -> None:
    page = reviewer.get(f"/review/submissions/{site.submission}" if path == "report" else path)
    assert page.status_code == 200
    parser = _Headers()
    parser.feed(page.text)
    assert page.text.count("<th") > 3 and not parser.unscoped, parser.unscoped


def test_radio_groups_are_fieldsets_with_a_legend(report_page: str) -> None:
    forms = re.findall(r'<form method="post" action="[^"]*/(?:decision|manual-scores/\w+)"'
                       r'.*?</form>', report_page, re.S)
    assert len(forms) == 3  # the decision and the two manual rubric items
    for form in forms:
        fieldset = re.search(r"<fieldset[^>]*>\s*<legend[^>]*>[^<]+</legend>(.*?)</fieldset>",
                             form, re.S)
        assert fieldset is not None, form
        assert fieldset.group(1).count('type="radio"') == form.count('type="radio"') >= 3


def test_a_regrade_is_confirmed_before_it_is_queued(site: Seeded, report_page: str) -> None:
    # Without scripts: the form that posts sits in a closed disclosure, so one click only opens
    # it, and its button says what it does.
    regrade = re.search(r'<details class="confirm" id="regrade">\s*<summary>Re-grade…</summary>'
                        r'(.*?)</details>', report_page, re.S)
    assert regrade is not None
    assert f'action="/review/submissions/{site.submission}/regrade"' in regrade.group(1)
    assert ">Re-grade now</button>" in regrade.group(1)
    assert report_page.count("/regrade\"") == 1


def test_a_wrong_password_keeps_the_email(served: tuple[FastAPI, TestClient], site: Seeded
                                          ) -> None:
    client = TestClient(served[0])  # logged out: the module's reviewer client holds a session
    form = client.get("/review/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    page = client.post("/review/login", data={"email": EMAIL, "password": "wrong",
                                              "csrf_token": csrf.group(1), "next": "/review"})
    assert page.status_code == 401
    assert "Wrong email or password." in page.text
    assert re.search(rf'<input type="email" name="email" value="{re.escape(EMAIL)}"', page.text)
    assert re.search(r'name="password"[^>]*autofocus', page.text)  # the field to retype


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_chart_text_reaches_wcag_aa_contrast_on_white() -> None:
    charts = (total_histogram([10, 55, 90], 55),
              metric_strip("m", 0.5, [0.4, 0.6], {"a": 0.3, "b": 0.7}, higher_is_better=True))
    fills = {fill for chart in charts for fill in re.findall(r'<text [^>]*fill="(#\w{6})"', chart)}
    assert len(fills) >= 3
    for fill in fills:
        assert 1.05 / (_luminance(fill) + 0.05) >= 4.5, fill


EXPOSED = "The hidden questions are worded by the public catalogue (hidden/catalogue.py)."


def test_a_private_instance_that_public_code_still_reads_is_flagged(
        served: tuple[FastAPI, TestClient], reviewer: TestClient, report_page: str) -> None:
    """A reviewer defending a decision sees, on the report, that a candidate who read the
    repository could have scored without the work; the demo report carries its own banner."""
    report = graded_report(50.0, metric=0.6)
    report = report.model_copy(update={"reproduction": report.reproduction.model_copy(
        update={"demo": False, "instance_id": "5f0c1e", "seeds": {}, "exposure": [EXPOSED]})})
    submission = add_graded(served[0], "Linus", report)
    page = reviewer.get(f"/review/submissions/{submission}").text
    flag = re.search(r'<p class="flag" id="exposure-flag">(.*?)</p>', page, re.S)
    assert flag is not None and escape(EXPOSED) in flag.group(1)
    assert 'class="exposure"' in page and 'class="demo-banner"' not in page.split("<main")[-1]
    assert 'id="exposure-flag"' not in report_page
    assert 'readable from public code</th><td>' + str(escape(EXPOSED)) in render_html(report)
