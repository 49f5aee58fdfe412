"""Time-boxed invites through the HTTP surface, in process (conftest.py's ``server``): made with a
working-time limit and an accommodation, started by the first bundle download, shown to the
candidate, refused after the limit with a message naming whom to ask, and extended by a reviewer;
and feedback held until the invite closes, or never released, by the assignment's
``release.feedback``."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from support.kit import REVIEWER, solution_zip, upload, wait_final

from grader.authoring import new_assignment
from grader.store import Database, Invite, sha256_hex, utcnow

INVITES = "/api/review/assignments/starter/invites"


def _make(reviewer, **fields) -> dict:
    response = reviewer.post(INVITES, json={"cohort": "timed", "label": "Ada", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _started_ago(server, invite_id: int, ago: timedelta) -> None:
    """The first download ``ago``: the clock as it would stand by now."""
    db = Database(server.env["GRADER_DATABASE_URL"])
    try:
        with db.write() as session:
            session.execute(update(Invite).where(Invite.id == invite_id)
                            .values(started_at=utcnow() - ago))
    finally:
        db.dispose()


def test_a_time_boxed_invite_from_first_download_to_refusal_and_extension(server,
                                                                           reviewer) -> None:
    made = _make(reviewer, time_limit_minutes=300, extra_time_percent=25)
    assert made["time_limit_seconds"] == 300 * 60 and made["extra_time_percent"] == 25
    token = made["token"]
    with server.client() as client:
        box = client.get(f"/api/candidate/{token}").json()["time_box"]
        assert box["working_seconds"] == 375 * 60 and box["started_at"] is None
        page = client.get(f"/i/{token}").text
        assert "6 h 15 min" in page and "first download" in page

        assert client.get(f"/i/{token}/starter.zip").status_code == 200
        box = client.get(f"/api/candidate/{token}").json()["time_box"]
        assert box["started_at"] is not None
        assert 375 * 60 - 30 < box["seconds_left"] <= 375 * 60 and not box["closed"]
        assert 'role="timer"' in client.get(f"/i/{token}").text

        _started_ago(server, made["id"], timedelta(hours=6, minutes=16))
        late = upload(client, token, solution_zip())
        assert late.status_code == 409, late.text
        detail = late.json()["detail"]
        assert "working time" in detail and "first download" in detail and REVIEWER in detail
        assert client.get(f"/api/candidate/{token}").json()["time_box"]["closed"]
        assert "Your working time ended" in client.get(f"/i/{token}").text

        extended = reviewer.post(f"{INVITES}/{made['id']}/extend", json={"working_minutes": 60})
        assert extended.status_code == 200, extended.text
        assert 3600 - 30 < extended.json()["time_box"]["seconds_left"] <= 3600
        assert extended.json()["extension_seconds"] >= 3600
        assert upload(client, token, solution_zip()).status_code == 201
    listed = next(i for i in reviewer.get(INVITES).json() if i["id"] == made["id"])
    assert listed["time_box"]["working_seconds"] == extended.json()["time_box"]["working_seconds"]

    export = reviewer.get("/api/review/assignments/starter/export.csv", params={"cohort": "timed"})
    [row] = [r for r in csv.DictReader(io.StringIO(export.text))
             if r["time_limit_minutes"] == "300"]
    assert row["extra_time_percent"] == "25" and int(row["extension_minutes"]) >= 60
    assert row["started_at"].endswith("+00:00") and row["deadline"]
    assert 375 <= int(row["minutes_from_start"]) <= 378  # uploaded 6 h 16 min after the download


def test_time_box_requests_that_make_no_sense_are_refused(server, reviewer) -> None:
    refused = reviewer.post(INVITES, json={"extra_time_percent": 25})
    assert refused.status_code == 422 and "time_limit_minutes" in refused.text
    plain = _make(reviewer)
    assert plain["time_limit_seconds"] is None
    with server.client() as client:
        client.get(f"/i/{plain['token']}/starter.zip")
        assert client.get(f"/api/candidate/{plain['token']}").json()["time_box"][
            "working_seconds"] is None
    no_limit = reviewer.post(f"{INVITES}/{plain['id']}/extend", json={"working_minutes": 60})
    assert no_limit.status_code == 422 and "no working-time limit" in no_limit.json()["detail"]
    nothing = reviewer.post(f"{INVITES}/{plain['id']}/extend", json={})
    assert nothing.status_code == 422
    unknown = reviewer.post(f"{INVITES}/{2**40}/extend", json={"window_days": 1})
    assert unknown.status_code == 404 and "no invite" in unknown.json()["detail"]
    window = reviewer.post(f"{INVITES}/{plain['id']}/extend", json={"window_days": 2})
    assert window.status_code == 200
    assert window.json()["expires_at"] > plain["expires_at"]


def _release(assignments_dir: Path, mode: str) -> None:
    """The ``held`` assignment (the starter's copy) with ``release.feedback: mode``."""
    folder = assignments_dir / "held"
    if not folder.exists():
        new_assignment(assignments_dir, "held")
    spec = folder / "assignment.yaml"
    text = re.sub(r"\n  feedback: \w+", "", spec.read_text())
    spec.write_text(text.replace("\nrelease:\n", f"\nrelease:\n  feedback: {mode}\n"))
    later = spec.stat().st_mtime + 1  # the catalogue reloads a spec whose mtime changed
    os.utime(spec, (later, later))


def test_feedback_release_after_close_and_never(server, reviewer, assignments_dir) -> None:
    _release(assignments_dir, "after_close")
    response = reviewer.post("/api/review/assignments/held/invites", json={"cohort": "held"})
    assert response.status_code == 201, response.text
    made = response.json()
    token = made["token"]
    with server.client() as client:
        submitted = upload(client, token, solution_zip())
        assert submitted.status_code == 201, submitted.text
        graded = wait_final(client, token, submitted.json()["id"])
        assert graded["feedback"] == "after_close" and graded["result"] is None
        assert graded["results_from"] is not None
        page = client.get(graded["url"]).text
        assert "Results show here once your invite takes no more uploads" in page
        assert 'class="total"' not in page

        _close(server, made["id"])
        released = client.get(f"/api/candidate/{token}/submissions/{graded['id']}").json()
        assert released["feedback"] == "released" and "total" in released["result"]
        assert 'class="total"' in client.get(graded["url"]).text

        _release(assignments_dir, "never")
        withheld = client.get(f"/api/candidate/{token}/submissions/{graded['id']}").json()
        assert withheld["feedback"] == "withheld" and withheld["result"] is None
        assert "The hiring team will share the results" in client.get(graded["url"]).text
    _release(assignments_dir, "immediately")


def _close(server, invite_id: int) -> None:
    db = Database(server.env["GRADER_DATABASE_URL"])
    try:
        with db.write() as session:
            session.execute(update(Invite).where(Invite.id == invite_id)
                            .values(expires_at=utcnow() - timedelta(minutes=1)))
    finally:
        db.dispose()


@pytest.mark.browser
def test_the_countdown_ticks_and_announces_in_a_browser(live_server, make_live_invite,
                                                         browser) -> None:
    token = make_live_invite(cohort="countdown", time_limit_minutes=60)
    with live_server.client() as client:
        assert client.get(f"/i/{token}/starter.zip").status_code == 200
        invite_id = _invite_id(live_server, token)
    # 15 min and 10 s left: the page's own clock crosses the 15-minute mark within seconds.
    _started_ago(live_server, invite_id, timedelta(minutes=44, seconds=50))
    from playwright.sync_api import expect

    page = browser.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(f"{live_server.base}/i/{token}")
        timer = page.locator("#countdown")
        assert timer.get_attribute("role") == "timer"
        assert page.locator("#countdown-reload").is_hidden()  # the script runs under the CSP
        expect(page.locator("#countdown-notice")).to_have_text("15 min of working time left.",
                                                               timeout=30_000)
        assert re.fullmatch(r"1[45] min left", timer.text_content())
        assert blocked == []
    finally:
        page.close()


def _invite_id(server, token: str) -> int:
    db = Database(server.env["GRADER_DATABASE_URL"])
    try:
        with db.read() as session:
            return session.scalars(select(Invite.id)
                                   .where(Invite.token_sha256 == sha256_hex(token))).one()
    finally:
        db.dispose()
