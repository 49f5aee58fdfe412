"""A submission's latest report as Gradescope's results.json, for reviewers only: valid against
Gradescope's documented fields, 404 until there is a report. In process (the ``server`` site)."""

from __future__ import annotations

import jsonschema
from support.gradescope import RESULTS_SCHEMA
from support.kit import solution_zip, upload, wait_final


def test_reviewers_get_results_json(server, make_invite, reviewer) -> None:
    token = make_invite(cohort="gradescope")
    with server.client() as client:
        submission_id = upload(client, token, solution_zip(score=64, sleep=2)).json()["id"]
        url = f"/api/review/submissions/{submission_id}/results.json"
        pending = reviewer.get(url)
        assert pending.status_code == 404, pending.text
        assert "no report yet" in pending.json()["detail"]
        assert client.get(url).status_code == 401  # candidates and strangers get nothing
        wait_final(client, token, submission_id)

    done = reviewer.get(url)
    assert done.status_code == 200, done.text
    results = done.json()
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == 64
    # The starter releases total and components immediately.
    assert results["visibility"] == "visible"
    assert [t["visibility"] for t in results["tests"] if "max_score" in t] == ["visible"]
    unknown = reviewer.get("/api/review/submissions/999999/results.json")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
