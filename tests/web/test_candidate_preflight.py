"""The pre-flight check's doors (grader.preflight): the candidate API, documented and limited per
invite, and the form on the invite page; neither uses a submission."""

from __future__ import annotations

import re

import pytest
from support.kit import solution_zip

from grader.settings import PreflightRules

CRASHES = '''
def train(train_path, work_dir):
    raise KeyError("label")
'''


def _preflight(client, token: str, data: bytes):
    return client.post(f"/api/candidate/{token}/preflight", content=data,
                       headers={"content-type": "application/zip"})


def test_the_preflight_route_is_documented_with_its_refusals(server) -> None:
    with server.client() as client:
        operation = client.get("/openapi.json").json()["paths"][
            "/api/candidate/{token}/preflight"]["post"]
    assert {"200", "400", "409", "413", "422", "429", "503"} <= set(operation["responses"])
    assert "no attempt used" in operation["description"]


def test_an_invite_has_its_checks_per_hour_and_none_uses_a_submission(server,
                                                                      make_invite) -> None:
    token = make_invite()
    with server.client() as client:
        # Refused by intake, but started: each counts, so a flood of bad zips is limited too.
        for _ in range(PreflightRules().per_hour):
            refused = _preflight(client, token, b"this is not a zip")
            assert refused.status_code == 422 and refused.json()["rule"] == "not_a_zip"
        limited = _preflight(client, token, solution_zip())
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert "pre-flight checks for this hour" in limited.json()["detail"]
        assert client.get(f"/api/candidate/{token}").json()["used"] == 0
        assert _preflight(client, make_invite(), b"not a zip either").status_code == 422


@pytest.mark.docker
def test_a_check_runs_from_the_invite_page_and_the_api(server, make_invite,
                                                      runner_image: str) -> None:
    token = make_invite()
    with server.client() as client:
        page = client.get(f"/i/{token}").text
        assert f'action="/i/{token}/preflight"' in page
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        shown = client.post(f"/i/{token}/preflight", data={"csrf_token": csrf},
                            files={"file": ("s.zip", solution_zip(CRASHES), "application/zip")})
        assert shown.status_code == 200, shown.text
        assert "Your code raised KeyError in train()." in shown.text
        assert "no submission was used" in shown.text
        answered = _preflight(client, token, solution_zip(CRASHES))
        assert answered.status_code == 200
        assert answered.json()["status"] == "failed"
        assert answered.json()["failure"]["exception_message"] == "'label'"
        assert client.get(f"/api/candidate/{token}").json()["used"] == 0
