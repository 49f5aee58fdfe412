"""Ashby's assessment-partner calls against the app in process (the real store and worker pool,
grading with the fast fake; the pool's delivery loop sends Ashby's ``assessment.update`` to a
receiver on 127.0.0.1 standing in for api.ashbyhq.com). ``FakeAshby`` makes the calls as Ashby's
partner documentation describes them: HTTP Basic with the partner key as the username;
assessment.list, assessment.start, assessment.cancel."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from support.kit import solution_zip, token_of, upload, wait_final, wait_for
from support.receiver import receiver

BASE = "/api/integrations/ashby/"
ASHBY_KEY = "customer-ashby-api-key"


def _start_body(test_id: str, candidate_id: str = "cand-1") -> dict:
    return {"assessment_type_id": test_id,
            "candidate": {"ashby_id": candidate_id, "first_name": "Grace", "last_name": "Hopper",
                          "email": "grace@example.com",
                          "ashby_profile_url": "https://app.ashbyhq.com/candidates/cand-1"},
            "application": {"ashby_id": "app-1", "status": "Active"},
            "job": {"ashby_id": "job-1", "name": "ML engineer",
                    "ashby_job_url": "https://app.ashbyhq.com/jobs/job-1"}}


@dataclass
class FakeAshby:
    """Ashby's side of the partner API, as documented."""

    client: TestClient
    key: str

    def call(self, name: str, body: dict | None = None) -> httpx.Response:
        return self.client.post(BASE + name, auth=(self.key, ""), json=body or {})


@pytest.fixture
def ashby(server, reviewer: TestClient) -> FakeAshby:
    made = reviewer.post("/api/review/tokens",
                         json={"name": "ashby", "scopes": ["integration:ashby"]})
    assert made.status_code == 201, made.text
    return FakeAshby(server.client(), made.json()["token"])


def test_ashby_starts_an_assessment_and_is_told_the_result(server, reviewer, ashby,
                                                           monkeypatch) -> None:
    listed = ashby.call("assessment.list")
    assert listed.status_code == 200, listed.text
    assert listed.json()["success"] is True
    assert any(t["assessment_type_id"] == "starter" and t["name"]
               for t in listed.json()["results"])
    with receiver() as api:
        settings = server.app.state.service.settings
        monkeypatch.setattr(settings, "ashby_api_key", SecretStr(ASHBY_KEY))
        monkeypatch.setattr(settings, "ashby_api_url", api.url.removesuffix("/hook"))

        started = ashby.call("assessment.start", _start_body("starter"))
        assert started.status_code == 200, started.text
        results = started.json()["results"]
        assessment = results["assessment_id"]
        first = results["update_request"]
        assert first["assessment_id"] == assessment
        assert first["assessment_status"]["value"] == "sent"
        link = next(m["value"] for m in first["metadata"] if m["identifier"] == "candidate_link")
        again = ashby.call("assessment.start", _start_body("starter"))
        assert again.status_code == 409 and again.json()["message"]

        with server.client() as candidate:
            token = token_of(link)
            submission = upload(candidate, token, solution_zip(score=71)).json()["id"]
            wait_final(candidate, token, submission)
        wait_for(lambda: api.requests, timeout=30, what="assessment.update")
        told = api.requests[0]
        assert (told.method, told.path) == ("POST", "/assessment.update")
        expected = base64.b64encode(f"{ASHBY_KEY}:".encode()).decode()
        assert told.headers["Authorization"] == f"Basic {expected}"
        update = json.loads(told.body)
        total = reviewer.get(f"/api/review/submissions/{submission}").json()["report"]["total"]
        assert update["assessment_id"] == assessment
        assert update["assessment_status"]["value"] == "Completed"
        assert update["assessment_result"] == {
            "identifier": "total", "label": "Total (out of 100)", "type": "numeric_score",
            "value": pytest.approx(total, abs=0.01)}
        assert update["assessment_profile_url"]["value"].endswith(
            f"/review/submissions/{submission}")
        assert "candidate_link" not in {m["identifier"] for m in update["metadata"]}

    assert ashby.call("assessment.cancel", {"assessment_id": assessment}).json() == {
        "success": True}
    with server.client() as candidate:
        refused = upload(candidate, token_of(link), solution_zip(score=71))
        assert refused.status_code in (404, 409), refused.text
    assert ashby.call("assessment.start", _start_body("starter")).status_code == 200


def test_ashby_requests_are_checked(server, reviewer, ashby) -> None:
    unknown = ashby.call("assessment.start", _start_body("no_such_assignment", "cand-2"))
    assert unknown.status_code == 422 and "no_such_assignment" in unknown.json()["message"]
    assert ashby.call("assessment.cancel", {"assessment_id": "0" * 32}).status_code == 404
    assert ashby.call("assessment.start", {"assessment_type_id": "starter"}).status_code == 422
    client = server.client()
    assert client.post(BASE + "assessment.list", json={}).status_code == 401
    greenhouse = reviewer.post("/api/review/tokens", json={
        "name": "greenhouse", "scopes": ["integration:greenhouse"]}).json()["token"]
    wrong = FakeAshby(client, greenhouse).call("assessment.list")
    assert wrong.status_code == 403 and "integration:ashby" in wrong.json()["detail"]
