"""Attacks on the machine doors (API tokens, the ATS partner APIs, webhooks), each made against
the app in process as the attacker would make it: a leaked token with a narrow scope, one ATS
account's key reaching for another's interviews, an ATS sending hostile candidates or the same
candidate again and again."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi.testclient import TestClient
from support.kit import solution_zip, token_of, upload, wait_final, wait_for
from support.receiver import receiver

from grader import deliveries, webhooks
from grader.tokens import Scope, parse_scopes

GREENHOUSE = "/api/integrations/greenhouse/"
ASHBY = "/api/integrations/ashby/"


def _token(reviewer: TestClient, *scopes: str) -> str:
    made = reviewer.post("/api/review/tokens", json={"name": "attack", "scopes": list(scopes)})
    assert made.status_code == 201, made.text
    return made.json()["token"]


def _candidate(**changes: str) -> dict[str, str]:
    return {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/1", **changes}


def _send_test(client: TestClient, key: str, candidate: dict[str, str]):
    return client.post(GREENHOUSE + "send_test", auth=(key, ""),
                       json={"partner_test_id": "starter", "candidate": candidate})


def _ashby_start(client: TestClient, key: str, candidate_id: str, **changes: str):
    candidate = {"ashby_id": candidate_id, "first_name": "Grace", "last_name": "Hopper",
                 "email": "grace@example.com", **changes}
    return client.post(ASHBY + "assessment.start", auth=(key, ""), json={
        "assessment_type_id": "starter", "candidate": candidate,
        "application": {"ashby_id": "app-1"}, "job": {"ashby_id": "job-1"}})


def test_one_ats_accounts_key_never_reads_or_cancels_anothers_interviews(
        server, reviewer, second_reviewer) -> None:
    """Two hiring teams, each with its own reviewer's Greenhouse (and Ashby) key: an interview
    answers only to keys acting for the reviewer whose key made it (test_status carries the
    candidate's link, which opens their invite)."""
    client = server.client()
    ours = _token(reviewer, "integration:greenhouse")
    theirs = _token(second_reviewer, "integration:greenhouse")
    sent = _send_test(client, ours, _candidate(greenhouse_profile_url="https://gh/people/iso"))
    assert sent.status_code == 200, sent.text
    interview = sent.json()["partner_interview_id"]
    params = {"partner_interview_id": interview}

    stolen = client.get(GREENHOUSE + "test_status", auth=(theirs, ""), params=params)
    assert stolen.status_code == 404, stolen.text
    assert "Candidate Link" not in stolen.text
    # The same reviewer's next key (a rotated one) still reads it.
    rotated = _token(reviewer, "integration:greenhouse")
    assert client.get(GREENHOUSE + "test_status", auth=(rotated, ""),
                      params=params).status_code == 200

    ours, theirs = _token(reviewer, "integration:ashby"), _token(second_reviewer,
                                                                 "integration:ashby")
    started = _ashby_start(client, ours, "cand-iso")
    assert started.status_code == 200, started.text
    assessment = started.json()["results"]["assessment_id"]
    cancelled = client.post(ASHBY + "assessment.cancel", auth=(theirs, ""),
                            json={"assessment_id": assessment})
    assert cancelled.status_code == 404, cancelled.text
    # Another account's candidate with the same Ashby id is its own assessment, not a 409.
    assert _ashby_start(client, theirs, "cand-iso").status_code == 200


def test_greenhouse_sending_the_same_candidate_again_reuses_the_open_interview(
        server, reviewer) -> None:
    """A retried or replayed send_test must not mint an invite (and a submission allowance)
    each time: the candidate's open interview on the test is answered again."""
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    candidate = _candidate(greenhouse_profile_url="https://gh/people/replayed")
    before = len(reviewer.get("/api/review/assignments/starter/invites").json())
    answers = [_send_test(client, key, candidate) for _ in range(5)]
    assert all(answer.status_code == 200 for answer in answers), answers[0].text
    assert len({answer.json()["partner_interview_id"] for answer in answers}) == 1
    after = len(reviewer.get("/api/review/assignments/starter/invites").json())
    assert after == before + 1
    # Another candidate (another profile) gets an interview of their own.
    other = _send_test(client, key, _candidate(greenhouse_profile_url="https://gh/people/2"))
    assert other.json()["partner_interview_id"] != answers[0].json()["partner_interview_id"]


@pytest.mark.parametrize("field", ["first_name", "last_name", "email"])
def test_ats_candidates_with_control_characters_are_refused_with_422(server, reviewer,
                                                                     field) -> None:
    client = server.client()
    hostile = "Ada\x1b[2J\u202e"
    answer = _send_test(client, _token(reviewer, "integration:greenhouse"),
                        _candidate(**{field: hostile}))
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    refused = _ashby_start(client, _token(reviewer, "integration:ashby"), f"cand-ctl-{field}",
                           **{field: hostile})
    assert refused.status_code == 422, refused.text
    assert field in refused.text


def test_ats_candidate_names_with_html_are_shown_escaped(server, reviewer) -> None:
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    name = "<script>alert(1)</script>"
    sent = _send_test(client, key, _candidate(first_name=name,
                                              greenhouse_profile_url="https://gh/people/html"))
    assert sent.status_code == 200, sent.text
    page = reviewer.get("/review/assignments/starter")
    assert page.status_code == 200, page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert name not in page.text


def test_a_narrow_token_reaches_nothing_past_its_scope(server, reviewer) -> None:
    client = server.client()
    read = {"Authorization": f"Bearer {_token(reviewer, 'read')}"}
    assert client.get("/api/review/assignments", headers=read).status_code == 200
    # No write, no token management, no webhooks, no replay, no ATS door, no page.
    assert client.post("/api/review/tokens", headers=read,
                       json={"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.get("/api/review/tokens", headers=read).status_code == 403
    assert client.get("/api/review/deliveries", headers=read).status_code == 403
    assert client.post("/api/review/deliveries/1/replay", headers=read).status_code == 403
    assert client.post("/api/review/webhooks", headers=read, json={
        "url": "https://example.com/h", "events": ["submission.graded"]}).status_code == 403
    assert client.get(GREENHOUSE + "list_tests", headers=read).status_code == 401
    page = client.get("/review/tokens", headers=read)
    assert page.status_code in (302, 303, 307) and "login" in page.headers["location"]
    # A Greenhouse key on Ashby's door, and the other way round.
    greenhouse = _token(reviewer, "integration:greenhouse")
    ashby = _token(reviewer, "integration:ashby")
    assert client.post(ASHBY + "assessment.list", auth=(greenhouse, "")).status_code == 403
    assert client.get(GREENHOUSE + "list_tests", auth=(ashby, "")).status_code == 403


def test_a_webhook_receiver_learns_nothing_of_the_ats_key_the_candidate_or_their_link(
        server, reviewer) -> None:
    """A candidate sent by Greenhouse uploads; the webhook receiver (another party than the ATS)
    gets ids and the grader's sentences only: never the Greenhouse key (which its callback
    carries), the candidate's link, name or email, nor the endpoint's own signing secret."""
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    with receiver() as hook, receiver() as callback:
        made = reviewer.post("/api/review/webhooks", json={
            "url": hook.url, "events": ["submission.received", "submission.graded",
                                        "submission.errored"]})
        assert made.status_code == 201, made.text
        try:
            sent = client.post(GREENHOUSE + "send_test", auth=(key, ""), json={
                "partner_test_id": "starter", "url": callback.url,
                "candidate": _candidate(first_name="Mallory",
                                        greenhouse_profile_url="https://gh/people/leak")})
            assert sent.status_code == 200, sent.text
            interview = sent.json()["partner_interview_id"]
            status = client.get(GREENHOUSE + "test_status", auth=(key, ""),
                                params={"partner_interview_id": interview}).json()
            link = status["metadata"]["Candidate Link"]
            token = token_of(link)
            with server.client() as candidate:
                submission = upload(candidate, token, solution_zip(score=64)).json()["id"]
                wait_final(candidate, token, submission)
            wait_for(lambda: len(hook.requests) >= 2 and callback.requests, timeout=30,
                     what="the events and the callback")
        finally:
            reviewer.delete(f"/api/review/webhooks/{made.json()['id']}")
    for request in hook.requests:
        seen = request.body.decode() + repr(request.headers)
        for secret in (key, token, link, "Mallory", "ada@example.com", greenhouse_basic(key),
                       made.json()["secret"]):
            assert secret not in seen, (secret, seen)
    # The ATS's own callback carries its key, and nothing of the candidate either.
    [patch] = callback.requests
    assert patch.body == b"" and patch.headers["Authorization"] == greenhouse_basic(key)


def greenhouse_basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_a_receivers_answer_is_shown_to_reviewers_as_text(server, reviewer) -> None:
    hostile = b"<script>alert(document.cookie)</script>\x1b[2J"
    db = server.app.state.service.db
    with receiver(answer=hostile) as hook:
        with db.write() as session:
            delivery_id = deliveries.enqueue(session, purpose="test", url=hook.url, body=b"{}")

        def settled() -> dict | None:
            found = [d for d in reviewer.get("/api/review/deliveries").json()
                     if d["id"] == delivery_id and d["state"] == "done"]
            return found[0] if found else None

        done = wait_for(settled, timeout=30, what="the delivery")
    assert done["attempts"][0]["response_excerpt"] == hostile.decode()
    page = reviewer.get("/review/webhooks")
    assert page.status_code == 200
    assert "<script>alert(document.cookie)" not in page.text
    assert "\x1b" not in page.text


@pytest.mark.parametrize("scopes", [["integration:greenhouse", "read"],
                                    ["integration:ashby", "review", "webhooks"],
                                    ["integration:greenhouse", "integration:ashby"]])
def test_an_ats_key_opens_its_door_and_nothing_else(server, reviewer, scopes) -> None:
    """Greenhouse's key is kept in clear on its interviews and their callbacks (to be sent
    back): held with ``read`` it would hand whoever reads the store, or a compromised ATS,
    every report. So an ATS's scope is never combined with another."""
    refused = reviewer.post("/api/review/tokens", json={"name": "ats", "scopes": scopes})
    assert refused.status_code == 422, refused.text
    assert "stands alone" in refused.text
    csrf = reviewer.headers["X-CSRF-Token"]
    page = reviewer.post("/review/tokens", data={"name": "ats", "scopes": scopes,
                                                 "csrf_token": csrf})
    assert page.status_code == 422, page.text
    assert "stands alone" in page.text


def test_the_cli_refuses_an_ats_scope_combined_too() -> None:
    with pytest.raises(ValueError, match="stands alone"):
        parse_scopes(["integration:greenhouse,read"])
    assert parse_scopes(["integration:ashby"]) == {Scope.ASHBY}


def test_greenhouse_response_error_cannot_forge_log_lines(server, reviewer, caplog) -> None:
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    forged = "fine\n2026-12-03 12:00:00 CRITICAL grader: operator password is hunter2\x1b[2J"
    with caplog.at_level("WARNING", logger="grader.web.integrations"):
        noted = client.post(GREENHOUSE + "response_error", auth=(key, ""), json={
            "api_call": "test_status\nINFO forged", "errors": [forged, "x" * 100_000]})
    assert noted.status_code == 200, noted.text
    [record] = [r for r in caplog.records if r.name == "grader.web.integrations"]
    line = record.getMessage()
    assert "\n" not in line and "\x1b" not in line
    assert len(line) < 4000


def test_a_long_email_does_not_slip_past_the_open_interview(server, reviewer) -> None:
    """Without a profile URL the email names the candidate; one longer than the store keeps
    must still find its open interview, or every retry mints an invite."""
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    candidate = {"first_name": "Ada", "last_name": "Lovelace",
                 "email": "a" * 240 + "@example.com"}
    ids = {_send_test(client, key, candidate).json()["partner_interview_id"] for _ in range(3)}
    assert len(ids) == 1


def test_a_webhooks_token_cannot_register_endpoints_without_end(server, reviewer) -> None:
    """Each event fans out to every endpoint, one delivery at a time."""
    client = server.client()
    token = {"Authorization": f"Bearer {_token(reviewer, 'webhooks')}"}
    made = []
    try:
        for number in range(webhooks.MAX_ENDPOINTS + 1):
            answer = client.post("/api/review/webhooks", headers=token, json={
                "url": f"https://hooks.example.com/{number}", "events": ["submission.graded"]})
            if answer.status_code != 201:
                break
            made.append(answer.json()["id"])
        assert answer.status_code == 422, answer.text
        assert "remove one" in answer.json()["detail"]
        assert len(made) <= webhooks.MAX_ENDPOINTS
    finally:
        for endpoint in made:
            client.delete(f"/api/review/webhooks/{endpoint}", headers=token)


def test_a_removed_endpoint_is_never_sent_to_again_by_a_replay(server, reviewer) -> None:
    """Removing an endpoint (its domain lapsed, its receiver was compromised) stops what goes
    there: replaying one of its old events, notes and all, must not revive it."""
    db = server.app.state.service.db
    token = {"Authorization": f"Bearer {_token(reviewer, 'webhooks')}"}
    client = server.client()
    with receiver() as hook:
        made = client.post("/api/review/webhooks", headers=token, json={
            "url": hook.url, "events": ["decision.made"], "include_notes": True})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        with db.write() as session:
            delivery_id = deliveries.enqueue(
                session, purpose="webhook decision.made", url=hook.url, body=b'{"notes": 1}',
                secret=endpoint["secret"], endpoint_id=endpoint["id"], event_id="evt_removed")
        wait_for(lambda: hook.requests, timeout=30, what="the first delivery")
        assert client.delete(f"/api/review/webhooks/{endpoint['id']}",
                             headers=token).status_code == 204
        replayed = client.post(f"/api/review/deliveries/{delivery_id}/replay", headers=token)
        assert replayed.status_code == 409, replayed.text
        assert "removed" in replayed.json()["detail"]
        time.sleep(1.5)  # the delivery loop polls each second: nothing may arrive
    assert len(hook.requests) == 1


def test_a_token_expiring_in_a_sliver_of_a_day_is_refused_not_a_server_error(reviewer) -> None:
    answer = reviewer.post("/api/review/tokens", json={
        "name": "sliver", "scopes": ["read"], "expires_in_days": 2.2250738585072014e-308})
    assert answer.status_code == 422, answer.text
    assert "expires_in_days" in answer.text


def test_a_revoked_greenhouse_key_is_never_sent_back(server, reviewer) -> None:
    """A reviewer revokes the key of an ATS account they no longer trust: the grader stops
    PATCHing the URLs that account gave, which would carry the key and say who finished."""
    client = server.client()
    key = _token(reviewer, "integration:greenhouse")
    with receiver() as callback:
        sent = client.post(GREENHOUSE + "send_test", auth=(key, ""), json={
            "partner_test_id": "starter", "url": callback.url,
            "candidate": _candidate(greenhouse_profile_url="https://gh/people/revoked")})
        assert sent.status_code == 200, sent.text
        status = client.get(GREENHOUSE + "test_status", auth=(key, ""), params={
            "partner_interview_id": sent.json()["partner_interview_id"]}).json()
        token = token_of(status["metadata"]["Candidate Link"])
        made = next(t for t in reviewer.get("/api/review/tokens").json()
                    if key.startswith(t["prefix"]))
        assert reviewer.delete(f"/api/review/tokens/{made['id']}").status_code == 204
        with server.client() as candidate:
            submission = upload(candidate, token, solution_zip(score=64)).json()["id"]
            wait_final(candidate, token, submission)
        time.sleep(2)  # the delivery loop polls every 0.2 s here
    assert callback.requests == []
