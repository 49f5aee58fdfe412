"""Reviewers' webhooks over the app in process (the real store and worker pool, whose delivery loop
sends to a receiver on 127.0.0.1): register (the secret answered once), list, see deliveries with
their response codes, replay, remove; the same from the page; the ``webhooks`` scope for tokens."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from support.kit import solution_zip, upload, wait_final, wait_for
from support.receiver import closed_port_url, receiver

from grader import deliveries


def _events(hook) -> list[dict]:
    return [json.loads(request.body) for request in hook.requests]


def test_an_endpoint_receives_events_and_its_deliveries_can_be_listed_and_replayed(
        reviewer: TestClient, make_invite, server) -> None:
    with receiver() as hook:
        made = reviewer.post("/api/review/webhooks", json={
            "url": hook.url, "events": ["submission.received", "submission.graded"]})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert endpoint["secret"].startswith("whsec_") and endpoint["include_notes"] is False
        try:
            listed = reviewer.get("/api/review/webhooks").json()
            assert [e for e in listed if e["id"] == endpoint["id"]] == [
                {k: v for k, v in endpoint.items() if k != "secret"}]
            assert all("secret" not in e for e in listed)

            token = make_invite()
            with server.client() as candidate:
                submission = upload(candidate, token, solution_zip(score=64)).json()["id"]
                wait_final(candidate, token, submission)
            wait_for(lambda: {"submission.received", "submission.graded"} <= {
                e["type"] for e in _events(hook)
                if e["data"]["submission"]["id"] == submission}, timeout=30, what="two events")

            sent = [d for d in reviewer.get("/api/review/deliveries").json()
                    if d["endpoint_id"] == endpoint["id"]]
            graded = next(d for d in sent if d["purpose"] == "webhook submission.graded")
            assert graded["state"] == "done" and graded["last_status_code"] == 200
            assert [a["status_code"] for a in graded["attempts"]] == [200]

            replay = reviewer.post(f"/api/review/deliveries/{graded['id']}/replay")
            assert replay.status_code == 202, replay.text
            assert replay.json()["replay_of"] == graded["id"]
            assert replay.json()["event_id"] == graded["event_id"]
            wait_for(lambda: [e["id"] for e in _events(hook)].count(graded["event_id"]) == 2,
                     timeout=30, what="the replay")
            assert reviewer.post("/api/review/deliveries/999999/replay").status_code == 404
        finally:
            assert reviewer.delete(f"/api/review/webhooks/{endpoint['id']}").status_code == 204
    assert reviewer.delete(f"/api/review/webhooks/{endpoint['id']}").status_code == 404


@pytest.mark.parametrize(("body", "says"), [
    ({"url": "ftp://example.com/x", "events": ["decision.made"]}, "http or https"),
    ({"url": "https://u:p@example.com/x", "events": ["decision.made"]}, "credentials"),
])
def test_an_endpoint_that_cannot_be_delivered_to_is_a_problem(reviewer: TestClient, body,
                                                              says: str) -> None:
    answer = reviewer.post("/api/review/webhooks", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]


def test_tokens_need_the_webhooks_scope(reviewer: TestClient, server) -> None:
    def token(scope: str) -> str:
        made = reviewer.post("/api/review/tokens", json={"name": scope, "scopes": [scope]})
        assert made.status_code == 201, made.text
        return made.json()["token"]

    with server.client() as machine:
        machine.headers["Authorization"] = f"Bearer {token('read')}"
        assert machine.get("/api/review/webhooks").status_code == 403
        assert machine.get("/api/review/deliveries").status_code == 403
        machine.headers["Authorization"] = f"Bearer {token('webhooks')}"
        assert machine.get("/api/review/deliveries").status_code == 200
        made = machine.post("/api/review/webhooks", json={  # no CSRF header: a token's request
            "url": "https://hooks.example.com/x", "events": ["decision.made"]})
        assert made.status_code == 201, made.text
        assert machine.delete(f"/api/review/webhooks/{made.json()['id']}").status_code == 204


def test_the_page_registers_shows_the_secret_once_and_replays(reviewer: TestClient,
                                                              server) -> None:
    page = reviewer.get("/review/webhooks")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    created = reviewer.post("/review/webhooks", data={
        "csrf_token": csrf, "url": "https://hooks.example.com/page",
        "events": ["decision.made", "submission.graded"], "include_notes": "true"})
    assert created.status_code == 200
    secret = re.search(r'value="(whsec_[0-9a-f]+)" id="endpoint-secret"', created.text).group(1)
    listed = reviewer.get("/review/webhooks")
    assert "https://hooks.example.com/page" in listed.text and secret not in listed.text
    [endpoint] = [e for e in reviewer.get("/api/review/webhooks").json()
                  if e["url"] == "https://hooks.example.com/page"]
    assert endpoint["events"] == ["submission.graded", "decision.made"]
    assert endpoint["include_notes"] is True
    removed = reviewer.post(f"/review/webhooks/{endpoint['id']}/delete",
                            data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert "https://hooks.example.com/page" not in reviewer.get("/review/webhooks").text
    refused = reviewer.post("/review/webhooks", data={
        "csrf_token": "wrong", "url": "https://hooks.example.com/page",
        "events": ["decision.made"]})
    assert refused.status_code == 403

    with server.app.state.service.db.write() as session:
        queued = deliveries.enqueue(session, purpose="page test", url=closed_port_url(),
                                    body=b"{}")
    replayed = reviewer.post(f"/review/deliveries/{queued}/replay", data={"csrf_token": csrf})
    assert replayed.status_code == 303
    again = int(replayed.headers["location"].removeprefix("/review/webhooks#delivery-"))
    assert f'id="delivery-{again}"' in reviewer.get("/review/webhooks").text
