"""Greenhouse's assessment-partner calls against the app in process (the real store and worker
pool, grading with the fast fake; the pool's delivery loop sends the callback to a receiver on
127.0.0.1). ``FakeGreenhouse`` makes the calls as Greenhouse's partner documentation describes
them (https://developers.greenhouse.io/assessment.html): HTTP Basic with the key as the username
and a blank password; list_tests, send_test with a callback url, test_status polled until
``complete``, and the PATCH "mark test as completed" received on that url."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from support.kit import solution_zip, token_of, upload, wait_final, wait_for
from support.receiver import receiver

BASE = "/api/integrations/greenhouse/"
CANDIDATE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
             "phone_number": "123-456-7890", "resume_url": "https://example.com/resume",
             "greenhouse_profile_url": "https://app.greenhouse.io/people/17681532"
                                       "?application_id=26234709"}


@dataclass
class FakeGreenhouse:
    """Greenhouse's side of the partner API, as documented."""

    client: TestClient
    key: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, "")  # "Greenhouse will append a : (colon) to the API token"

    def list_tests(self) -> httpx.Response:
        return self.client.get(BASE + "list_tests", auth=self.auth)

    def send_test(self, test_id: str, url: str | None, candidate: dict = CANDIDATE
                  ) -> httpx.Response:
        body = {"partner_test_id": test_id, "candidate": candidate}
        if url is not None:
            body["url"] = url
        return self.client.post(BASE + "send_test", auth=self.auth, json=body)

    def test_status(self, interview_id: str) -> httpx.Response:
        return self.client.get(BASE + "test_status", auth=self.auth,
                               params={"partner_interview_id": interview_id})


def _token(reviewer: TestClient, *scopes: str) -> str:
    made = reviewer.post("/api/review/tokens", json={"name": "greenhouse", "scopes": scopes})
    assert made.status_code == 201, made.text
    return made.json()["token"]


@pytest.fixture
def greenhouse(server, reviewer: TestClient) -> FakeGreenhouse:
    return FakeGreenhouse(server.client(), _token(reviewer, "integration:greenhouse"))


def test_greenhouse_sends_a_test_polls_it_and_is_called_back(server, reviewer,
                                                             greenhouse) -> None:
    offered = greenhouse.list_tests()
    assert offered.status_code == 200, offered.text
    assert any(t["partner_test_id"] == "starter" and t["partner_test_name"]
               for t in offered.json())
    with receiver() as callback:
        sent = greenhouse.send_test("starter", url=callback.url)
        assert sent.status_code == 200, sent.text
        assert list(sent.json()) == ["partner_interview_id"]  # "a single key"
        interview = sent.json()["partner_interview_id"]

        pending = greenhouse.test_status(interview).json()
        assert pending["partner_status"] == "sent" and pending["partner_score"] is None
        assert pending["partner_profile_url"] is None
        link = pending["metadata"]["Candidate Link"]
        assert all(isinstance(v, (str, int, float, bool, type(None)))
                   for v in pending["metadata"].values())

        with server.client() as candidate:
            token = token_of(link)
            submission = upload(candidate, token, solution_zip(score=64)).json()["id"]
            wait_final(candidate, token, submission)

        def complete() -> dict | None:
            answer = greenhouse.test_status(interview).json()
            return answer if answer["partner_status"] == "complete" else None

        done = wait_for(complete, timeout=30, what="test_status to say complete")
        total = reviewer.get(f"/api/review/submissions/{submission}").json()["report"]["total"]
        assert done["partner_score"] == pytest.approx(total, abs=0.01)
        assert done["partner_profile_url"].endswith(f"/review/submissions/{submission}")
        assert "Candidate Link" not in done["metadata"]
        assert done["metadata"]["Submissions"].startswith("1 of ")

        wait_for(lambda: callback.requests, timeout=30, what="the PATCH callback")
        patch = callback.requests[0]
        assert (patch.method, patch.body) == ("PATCH", b"")
        expected = base64.b64encode(f"{greenhouse.key}:".encode()).decode()
        assert patch.headers["Authorization"] == f"Basic {expected}"

    invites = reviewer.get("/api/review/assignments/starter/invites").json()
    mine = [i for i in invites if i["label"] == "Ada Lovelace <ada@example.com>"]
    assert mine and mine[0]["cohort"] == "greenhouse" and mine[0]["used"] == 1


def test_greenhouse_without_a_callback_url_polls(greenhouse) -> None:
    polled = {**CANDIDATE, "greenhouse_profile_url": "https://app.greenhouse.io/people/2"}
    sent = greenhouse.send_test("starter", url=None, candidate=polled)
    assert sent.status_code == 200, sent.text
    status = greenhouse.test_status(sent.json()["partner_interview_id"])
    assert status.status_code == 200 and status.json()["partner_status"] == "sent"


def test_greenhouse_calls_need_a_token_with_its_scope(server, reviewer, greenhouse) -> None:
    client = server.client()
    for auth in (None, ("not-a-token", ""), (greenhouse.key + "x", "")):
        refused = client.get(BASE + "list_tests", auth=auth)
        assert refused.status_code == 401, (auth, refused.text)
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.headers["content-type"] == "application/problem+json"
    bearer = client.get(BASE + "list_tests",
                        headers={"Authorization": f"Bearer {greenhouse.key}"})
    assert bearer.status_code == 401  # Greenhouse's door takes Basic, as Greenhouse sends it
    reader = FakeGreenhouse(client, _token(reviewer, "read"))
    for answer in (reader.list_tests(), reader.send_test("starter", url=None),
                   reader.test_status("x")):
        assert answer.status_code == 403, answer.text
        assert "integration:greenhouse" in answer.json()["detail"]
    # The Greenhouse key opens nothing else.
    assert client.get("/api/review/assignments", headers={
        "Authorization": f"Bearer {greenhouse.key}"}).status_code == 403
    made = next(t for t in reviewer.get("/api/review/tokens").json()
                if greenhouse.key.startswith(t["prefix"]) and t["revoked_at"] is None)
    assert reviewer.delete(f"/api/review/tokens/{made['id']}").status_code == 204
    assert greenhouse.list_tests().status_code == 401


def test_greenhouse_requests_are_checked(greenhouse) -> None:
    unknown = greenhouse.send_test("no_such_assignment", url=None)
    assert unknown.status_code == 404 and "list_tests" in unknown.json()["detail"]
    assert greenhouse.test_status("0" * 32).status_code == 404
    refused = greenhouse.send_test("starter", url="ftp://example.com/x")
    assert refused.status_code == 422 and "url" in refused.json()["detail"]
    invalid = greenhouse.client.post(BASE + "send_test", auth=greenhouse.auth,
                                     json={"partner_test_id": "starter"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "candidate"]
    numeric = greenhouse.client.post(BASE + "send_test", auth=greenhouse.auth, json={
        "partner_test_id": 12345, "candidate": CANDIDATE})
    assert numeric.status_code == 404  # Greenhouse's own examples send a number: read as an id
    noted = greenhouse.client.post(BASE + "response_error", auth=greenhouse.auth, json={
        "api_call": "test_status", "errors": ["partner_profile_url is missing"],
        "partner_interview_id": 98765, "candidate_email": "ada@example.com"})
    assert noted.status_code == 200, noted.text
