"""Reviewer judgement through the web app (conftest.py's in-process ``server``): manual rubric
scores (validation, CSRF, blind scoring, agreement), notes and decisions, the CSV's new columns,
engineering signals and cohort similarity on reviewer pages, and none of it shown to candidates.

The starter assignment's manual rubric (tests/web/conftest.py): ``readme`` (0, 2, 4 points) and
``structure`` (0, 1.5, 3 points); 7 manual points beside the automatic 100. The arithmetic behind
the pages: tests/grader/test_judgement_arithmetic.py.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from support.kit import PASSWORD, login, run_cli, solution_zip, upload, wait_final
from support.web import COPIED, DIFFERENT, MANUAL_MAX, RENAMED, SECOND_REVIEWER, SIGNALLED, zip_of

# --- helpers ------------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)



def _graded(server, reviewer: httpx.Client, cohort: str, *zips: bytes, label: str = "cand"
            ) -> list[tuple[str, int]]:
    """One invite per zip, each uploaded and graded: [(token, submission id)]."""
    found = []
    with server.client() as client:
        for index, data in enumerate(zips):
            token = reviewer.post("/api/review/assignments/starter/invites",
                                  json={"cohort": cohort, "label": f"{label}{index}"}
                                  ).json()["token"]
            response = upload(client, token, data)
            assert response.status_code == 201, response.text
            found.append((token, response.json()["id"]))
        for token, submission_id in found:
            wait_final(client, token, submission_id)
    return found


def _score(client: httpx.Client, submission_id: int, item: str, points) -> httpx.Response:
    return client.put(f"/api/review/submissions/{submission_id}/manual-scores/{item}",
                      json={"points": points})


def _judgement(client: httpx.Client, submission_id: int) -> dict:
    response = client.get(f"/api/review/submissions/{submission_id}/judgement")
    assert response.status_code == 200, response.text
    return response.json()


def _csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- manual scoring -----------------------------------------------------------------------------

def test_manual_scoring_validates_item_level_and_csrf(server, reviewer) -> None:
    [(_, sid)] = _graded(server, reviewer, "manual", solution_zip(score=80))
    fresh = _judgement(reviewer, sid)
    assert [item["id"] for item in fresh["items"]] == ["readme", "structure"]
    assert [level["points"] for level in fresh["items"][0]["levels"]] == [0, 2, 4]
    assert fresh["points"] | {"how": None} == {
        "automatic": 80, "automatic_max": 100, "manual": None, "manual_max": MANUAL_MAX,
        "manual_items": 2, "manual_items_scored": 0, "combined": None,
        "combined_max": 100 + MANUAL_MAX, "how": None}
    assert "automatic total" in fresh["points"]["how"] and "mean" in fresh["points"]["how"]

    unknown = _score(reviewer, sid, "teamwork", 2)
    assert unknown.status_code == 404
    assert "no manual rubric item 'teamwork'; declared: readme, structure" in unknown.text
    not_offered = _score(reviewer, sid, "readme", 3)
    assert not_offered.status_code == 422
    assert "3 is not a level of 'readme'; it offers 0, 2, 4" in not_offered.text
    for bad in ("two", None, "NaN"):
        assert _score(reviewer, sid, "readme", bad).status_code == 422, bad
    assert _score(reviewer, 999_999, "readme", 2).status_code == 404
    no_header = reviewer.put(f"/api/review/submissions/{sid}/manual-scores/readme",
                             json={"points": 2}, headers={"X-CSRF-Token": "wrong"})
    assert no_header.status_code == 403
    cookies = {"grader_session": reviewer.cookies["grader_session"]}
    with server.client(cookies=cookies) as browser:
        for form in ({"points": "2"}, {"points": "2", "csrf_token": "forged"}):
            refused = browser.post(f"/review/submissions/{sid}/manual-scores/readme", data=form)
            assert refused.status_code == 403
    assert _judgement(reviewer, sid)["scores"] == []  # nothing refused was recorded

    before = _now() - timedelta(seconds=5)
    first = _score(reviewer, sid, "readme", 2)
    assert first.status_code == 200, first.text
    [mine] = first.json()["scores"]
    assert (mine["item_id"], mine["points"], mine["reviewer"], mine["mine"], mine["blind"]) == (
        "readme", 2, "reviewer@example.com", True, True)
    scored_at = datetime.fromisoformat(mine["scored_at"])
    assert before <= scored_at <= _now() + timedelta(seconds=5)
    assert first.json()["points"]["manual"] == 2 and first.json()["points"]["combined"] is None

    # The page's form: its own CSRF token, a redirect back to the item.
    page = reviewer.get(f"/review/submissions/{sid}")
    assert f'action="/review/submissions/{sid}/manual-scores/structure"' in page.text
    assert "Weighs accuracy against cost with evidence" in page.text
    with server.client(cookies=cookies) as browser:
        posted = browser.post(f"/review/submissions/{sid}/manual-scores/structure",
                              data={"points": "1.5", "csrf_token": _csrf_of(page.text)})
        assert posted.status_code == 303
        assert posted.headers["location"].endswith(f"/review/submissions/{sid}#manual-structure")
    changed = _score(reviewer, sid, "readme", 4).json()
    readme = next(s for s in changed["scores"] if s["item_id"] == "readme")
    assert readme["points"] == 4 and readme["scored_at"] == mine["scored_at"]
    assert readme["updated_at"] >= readme["scored_at"]
    # Scoring the last item revealed the (absent) others; the points are complete now.
    assert changed["revealed"] and changed["revealed_reason"] == "completed"
    assert changed["points"] | {"how": None} == {
        "automatic": 80, "automatic_max": 100, "manual": 5.5, "manual_max": MANUAL_MAX,
        "manual_items": 2, "manual_items_scored": 2, "combined": 85.5,
        "combined_max": 100 + MANUAL_MAX, "how": None}
    page = reviewer.get(f"/review/submissions/{sid}").text
    assert re.search(r'id="combined-points">85\.5<', page)
    assert re.search(r'id="manual-points">5\.5<', page)


def test_blind_scoring_then_agreement(server, reviewer, second_reviewer) -> None:
    [(_, sid)] = _graded(server, reviewer, "blind", solution_zip(score=60))
    _score(reviewer, sid, "readme", 2)
    first = _score(second_reviewer, sid, "readme", 4).json()
    # The second reviewer has not finished: they see only their own score.
    assert not first["revealed"] and first["other_reviewers"] == 1
    assert [(s["reviewer"], s["points"]) for s in first["scores"]] == [(SECOND_REVIEWER, 4)]
    assert first["agreement"] is None and first["points"]["manual"] == 4
    page = second_reviewer.get(f"/review/submissions/{sid}").text
    assert "reviewer@example.com" not in page and "1 other reviewer has scored" in page
    detail = second_reviewer.get(f"/api/review/submissions/{sid}").json()
    assert [s["reviewer"] for s in detail["judgement"]["scores"]] == [SECOND_REVIEWER]

    done = _score(second_reviewer, sid, "structure", 1.5).json()
    assert done["revealed"] and done["revealed_reason"] == "completed"
    assert sorted((s["reviewer"], s["item_id"], s["points"]) for s in done["scores"]) == [
        ("reviewer@example.com", "readme", 2), (SECOND_REVIEWER, "readme", 4),
        (SECOND_REVIEWER, "structure", 1.5)]
    assert done["agreement"]["items_compared"] == 1
    assert done["agreement"]["items"] == [{"item_id": "readme", "reviewers": 2, "exact": False,
                                           "mean_abs_diff": 2.0}]
    # The first reviewer is still blind to the second's scores.
    still_blind = _judgement(reviewer, sid)
    assert not still_blind["revealed"] and still_blind["other_reviewers"] == 1
    assert [s["reviewer"] for s in still_blind["scores"]] == ["reviewer@example.com"]

    both = _score(reviewer, sid, "structure", 1.5).json()
    assert both["revealed"]
    a = both["agreement"]
    assert a["reviewers"] == ["reviewer@example.com", SECOND_REVIEWER]
    assert (a["items_compared"], a["exact_share"], a["mean_abs_diff"], a["all_blind"]) == (
        2, 0.5, 1.0, True)
    assert [(i["item_id"], i["exact"]) for i in a["items"]] == [("readme", False),
                                                                 ("structure", True)]
    # An item's manual points are the mean of the reviewers' points: (2 + 4) / 2 + 1.5.
    assert both["points"]["manual"] == 4.5 and both["points"]["combined"] == 64.5
    page = reviewer.get(f"/review/submissions/{sid}").text
    assert "Exact agreement on" in page and SECOND_REVIEWER in page

    # Changing a score after seeing the others' is shown, and the blind value kept.
    changed = _score(reviewer, sid, "readme", 4).json()
    mine = next(s for s in changed["scores"] if s["mine"] and s["item_id"] == "readme")
    assert (mine["blind"], mine["blind_points"]) == (False, 2)
    assert changed["agreement"]["exact_share"] == 1.0 and not changed["agreement"]["all_blind"]


def test_revealing_before_scoring_every_item(server, reviewer, second_reviewer) -> None:
    [(_, sid)] = _graded(server, reviewer, "reveal", solution_zip())
    _score(second_reviewer, sid, "readme", 0)
    assert _judgement(reviewer, sid)["scores"] == []
    cookies = {"grader_session": reviewer.cookies["grader_session"]}
    with server.client(cookies=cookies) as browser:
        assert browser.post(f"/review/submissions/{sid}/reveal").status_code == 403
        page = browser.get(f"/review/submissions/{sid}").text
        assert "Reveal the other scores now" in page
        revealed = browser.post(f"/review/submissions/{sid}/reveal",
                                data={"csrf_token": _csrf_of(page)})
        assert revealed.status_code == 303
    seen = _judgement(reviewer, sid)
    assert seen["revealed"] and seen["revealed_reason"] == "requested"
    assert [(s["reviewer"], s["points"]) for s in seen["scores"]] == [(SECOND_REVIEWER, 0)]
    # A score given after the reveal is never counted as blind.
    after = _score(reviewer, sid, "readme", 0).json()
    mine = next(s for s in after["scores"] if s["mine"])
    assert (mine["blind"], mine["blind_points"]) == (False, None)
    assert reviewer.post(f"/api/review/submissions/{sid}/reveal").status_code == 200


# --- notes and decisions ------------------------------------------------------------------------

def test_notes_and_decisions_record_who_and_when(server, reviewer, second_reviewer) -> None:
    [(_, sid)] = _graded(server, reviewer, "decide", solution_zip(score=70))
    note = reviewer.post(f"/api/review/submissions/{sid}/notes",
                         json={"body": "  Strong README; ask about the threshold.  "})
    assert note.status_code == 201, note.text
    [saved] = note.json()["notes"]
    assert saved["body"] == "Strong README; ask about the threshold."
    assert saved["reviewer"] == "reviewer@example.com" and saved["created_at"]
    for body in ("", "   ", "x" * 5001):
        assert reviewer.post(f"/api/review/submissions/{sid}/notes",
                             json={"body": body}).status_code == 422
    assert reviewer.post("/api/review/submissions/999999/notes",
                         json={"body": "x"}).status_code == 404

    assert reviewer.put(f"/api/review/submissions/{sid}/decision",
                        json={"decision": "maybe"}).status_code == 422
    first = reviewer.put(f"/api/review/submissions/{sid}/decision", json={"decision": "advance"})
    assert first.status_code == 200 and first.json()["decision"]["decision"] == "advance"
    second = second_reviewer.put(f"/api/review/submissions/{sid}/decision",
                                 json={"decision": "hold"}).json()
    assert (second["decision"]["decision"], second["decision"]["reviewer"]) == (
        "hold", SECOND_REVIEWER)
    assert [(d["decision"], d["reviewer"]) for d in second["decision_history"]] == [
        ("hold", SECOND_REVIEWER), ("advance", "reviewer@example.com")]

    # The page's forms: CSRF required, then a redirect back.
    cookies = {"grader_session": second_reviewer.cookies["grader_session"]}
    with server.client(cookies=cookies) as browser:
        for path, form in ((f"/review/submissions/{sid}/decision", {"decision": "reject"}),
                           (f"/review/submissions/{sid}/notes", {"body": "forged"})):
            assert browser.post(path, data=form).status_code == 403
            assert browser.post(path, data={**form, "csrf_token": "x"}).status_code == 403
        csrf = _csrf_of(browser.get(f"/review/submissions/{sid}").text)
        decided = browser.post(f"/review/submissions/{sid}/decision",
                               data={"decision": "reject", "csrf_token": csrf})
        assert decided.status_code == 303 and decided.headers["location"].endswith("#decision")
        noted = browser.post(f"/review/submissions/{sid}/notes",
                             data={"body": "Second look: the tests are thin.",
                                   "csrf_token": csrf})
        assert noted.status_code == 303
        page = browser.get(f"/review/submissions/{sid}").text
    assert 'id="current-decision">reject<' in page
    assert "Second look: the tests are thin." in page and "Strong README" in page
    seen = _judgement(reviewer, sid)
    assert seen["decision"]["decision"] == "reject" and len(seen["decision_history"]) == 3
    assert [n["reviewer"] for n in seen["notes"]] == ["reviewer@example.com", SECOND_REVIEWER]
    rows = reviewer.get("/api/review/assignments/starter/submissions",
                        params={"cohort": "decide"}).json()
    assert [row["decision"] for row in rows] == ["reject"]
    assert "reject</span>" in reviewer.get("/review/assignments/starter",
                                           params={"cohort": "decide"}).text


# --- the CSV ------------------------------------------------------------------------------------

def test_csv_exports_manual_points_decisions_and_notes(server, reviewer, second_reviewer
                                                       ) -> None:
    cohort = f"csv-{server.backend}"
    (_, scored), (_, blind), (_, untouched) = _graded(
        server, reviewer, cohort, solution_zip(score=50), solution_zip(score=40),
        solution_zip(score=30), label="=cmd|' /C calc'!A0 ")
    _score(reviewer, scored, "readme", 2)
    _score(reviewer, scored, "structure", 3)
    for body in ("one", "two"):
        reviewer.post(f"/api/review/submissions/{scored}/notes", json={"body": body})
    _score(second_reviewer, blind, "readme", 4)  # the first reviewer has not scored this one
    # A reviewer whose email would be a formula in a spreadsheet.
    email = f"=HYPERLINK-{uuid.uuid4().hex[:6]}@example.com"
    run_cli(server.env, "reviewer", "create", email, "--password-stdin", stdin=PASSWORD + "\n")
    with server.client() as evil:
        evil.headers["X-CSRF-Token"] = login(evil, email)
        assert evil.put(f"/api/review/submissions/{scored}/decision",
                        json={"decision": "advance"}).status_code == 200

    def export(client: httpx.Client) -> dict[int, dict[str, str]]:
        response = client.get("/api/review/assignments/starter/export.csv",
                              params={"cohort": cohort})
        assert response.status_code == 200
        return {int(r["submission_id"]): r for r in csv.DictReader(io.StringIO(response.text))}

    rows = export(reviewer)
    assert {"manual.readme", "manual.structure", "manual_points", "manual_max", "combined",
            "combined_max", "decision", "decided_by", "decided_at", "notes_count"} <= set(
        rows[scored])
    row = rows[scored]
    assert (row["manual.readme"], row["manual.structure"], row["manual_points"],
            row["manual_max"], row["combined"], row["combined_max"]) == (
        "2", "3", "5", "7", "55", "107")
    assert (row["decision"], row["decided_by"], row["notes_count"]) == (
        "advance", "'" + email.lower(), "2")
    assert datetime.fromisoformat(row["decided_at"]) > _now() - timedelta(minutes=5)
    assert all(r["label"].startswith("'=cmd") for r in rows.values())  # no formula survives
    # The blind rule holds in the export: the second reviewer's score is not the first's to see.
    assert (rows[blind]["manual.readme"], rows[blind]["manual_points"]) == ("", "")
    assert export(second_reviewer)[blind]["manual_points"] == "4"
    untouched_row = rows[untouched]
    assert (untouched_row["decision"], untouched_row["decided_by"], untouched_row["notes_count"],
            untouched_row["combined"]) == ("", "", "0", "")
    # The page export is the same document.
    page_export = reviewer.get("/review/assignments/starter/export.csv",
                               params={"cohort": cohort})
    assert page_export.status_code == 200 and "notes_count" in page_export.text


# --- signals and similarity ---------------------------------------------------------------------

def test_signals_are_shown_to_reviewers(server, reviewer) -> None:
    [(_, sid)] = _graded(server, reviewer, "signals", zip_of(SIGNALLED))
    signals = reviewer.get(f"/api/review/submissions/{sid}").json()["report"]["signals"]
    assert signals["own_tests"]["counts"]["passed"] == 5
    assert any(f["prefix"] == "F" for f in signals["static"]["lint"]["families"])
    assert [m["module"] for m in signals["dependencies"]["missing"]] == ["lightgbm"]

    page = reviewer.get(f"/review/submissions/{sid}").text
    assert "Engineering signals" in page
    assert "5 passed, 1 failed" in page  # own tests: counts and pytest's summary
    assert re.search(r"<code>F</code> pyflakes</td><td class=\"num\">\d+", page)
    assert re.search(r"type hints</th><td>50%", page)  # train typed, predict not
    assert re.search(r"docstrings</th><td>50%", page)
    # README findings with the lines that are their evidence.
    assert "Run `python solution.py --fast` to train." in page
    assert "Accuracy 0.91 on the dev split." in page and "metric with a number" in page
    assert "<code>lightgbm</code>" in page and "environment lacks" in page


def test_cohort_similarity_flags_the_near_copy(server, reviewer) -> None:
    cohort = "similar"
    first, copy, other = _graded(server, reviewer, cohort, zip_of({"solution.py": COPIED}),
                                 zip_of({"solution.py": RENAMED}),
                                 zip_of({"solution.py": DIFFERENT}))
    with server.client() as client:  # a candidate's own resubmission is not compared with itself
        again = upload(client, other[0], zip_of({"solution.py": DIFFERENT + "\n# again\n"}))
        wait_final(client, other[0], again.json()["id"])
    found = reviewer.get("/api/review/assignments/starter/similarity",
                         params={"cohort": cohort}).json()
    assert found["submissions"] == 3 and found["flagged"] == 1
    top = found["pairs"][0]
    assert {top["a"], top["b"]} == {first[1], copy[1]} and top["flagged"]
    assert top["score"] >= found["threshold"] and top["files"][0]["path_a"] == "solution.py"
    assert not any(p["flagged"] for p in found["pairs"][1:])
    assert other[1] not in {p["a"] for p in found["pairs"]} | {p["b"] for p in found["pairs"]}

    page = reviewer.get("/review/assignments/starter", params={"cohort": cohort}).text
    assert "Most similar submissions" in page and 'class="flagged"' in page
    assert page.count('<span class="flag">flagged</span>') == 1


# --- candidates ---------------------------------------------------------------------------------

def test_candidates_never_see_signals_notes_decisions_or_manual_scores(
        server, reviewer, second_reviewer) -> None:
    [(token, sid)] = _graded(server, reviewer, "private", zip_of(SIGNALLED))
    _score(reviewer, sid, "readme", 4)
    _score(second_reviewer, sid, "structure", 3)
    reviewer.post(f"/api/review/submissions/{sid}/notes", json={"body": "NOTE-7Q2 weak tests"})
    reviewer.put(f"/api/review/submissions/{sid}/decision", json={"decision": "reject"})
    assert _judgement(reviewer, sid)["notes"]

    never = ["NOTE-7Q2", "signals", "own_tests", "pyflakes", "lightgbm", "Engineering",
             "decision", "reject", "advance", "manual", "README explains trade-offs",
             "reviewer@example.com", SECOND_REVIEWER, "agreement", "5 passed"]
    with server.client() as candidate:
        invite = candidate.get(f"/api/candidate/{token}")
        status = candidate.get(f"/api/candidate/{token}/submissions/{sid}")
        pages = [candidate.get(f"/i/{token}"), candidate.get(f"/i/{token}/submissions/{sid}")]
        # The reviewer routes themselves refuse the candidate's token.
        for path in (f"/api/review/submissions/{sid}/judgement",
                     f"/api/review/submissions/{sid}"):
            assert candidate.get(path, headers={"Authorization": f"Bearer {token}"}
                                 ).status_code == 401
    assert status.json()["result"]["total"] == 75
    assert set(status.json()["result"]) == {"status", "message", "total", "components"}
    for response in (invite, status, *pages):
        assert response.status_code == 200
        for word in never:
            assert word not in response.text, (word, response.url)
