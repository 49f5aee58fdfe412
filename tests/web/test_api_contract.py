"""The API's contract, in process (the app over a temporary SQLite store): every error in the
Problem shape (RFC 9457, ``application/problem+json``) on API routes and as the HTML error page on
pages, methods and bodies handled after the access checks, and times that carry their zone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.intake import IntakeRules
from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.store import accept_submission, create_reviewer, invite_candidate
from grader.web import create_app

EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"
ASSIGNMENT = "rag_pipeline"
PROBLEM = "application/problem+json"
UPLOAD_CAP = 256 * 1024


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data, assignments_dir=BUILT_IN_ASSIGNMENTS, demo=True,
                        database_url=f"sqlite:///{data / 'grader.db'}",
                        intake=IntakeRules(max_compressed_bytes=UPLOAD_CAP))
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.service.db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
        yield client


def log_in(client: TestClient) -> str:
    """The client gets a session cookie; the CSRF token returned is the caller's to send."""
    response = client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


@pytest.fixture
def reviewer(client: TestClient) -> Iterator[TestClient]:
    client.headers["X-CSRF-Token"] = log_in(client)
    yield client
    del client.headers["X-CSRF-Token"]
    client.cookies.clear()


def assert_problem(response, status: int, title: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    if title is not None:
        assert body["title"] == title
    return body


def test_unknown_api_routes_answer_a_problem(client: TestClient) -> None:
    missing = assert_problem(client.get("/api/no/such/route"), 404, "Not Found")
    assert "check the link" in missing["detail"]
    anonymous = assert_problem(client.get("/api/review/submissions/1"), 401, "Unauthorized")
    assert "POST /api/review/login" in anonymous["detail"]


def test_pages_answer_the_html_error_page(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in page.text


def test_invalid_requests_name_each_invalid_field(reviewer: TestClient) -> None:
    body = assert_problem(reviewer.post(f"/api/review/assignments/{ASSIGNMENT}/invites",
                                        json={"allowance": 0}), 422, "Invalid request")
    assert body["errors"][0]["loc"] == ["body", "allowance"]
    assert "allowance" in body["detail"]


def test_domain_exceptions_answer_through_the_table(client: TestClient) -> None:
    service = client.app.state.service
    _, token = invite_candidate(service.db, assignment_id=ASSIGNMENT, max_submissions=3,
                                cohort="spring", label="Ada", allowance=None, valid_days=1,
                                created_by=EMAIL)
    refused = client.post(f"/api/candidate/{token}/submissions", content=b"not a zip",
                          headers={"content-type": "application/zip"})
    body = assert_problem(refused, 422, "Submission zip refused")
    assert body["rule"] == "not_a_zip"


def test_the_openapi_document_says_who_may_call_what(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    session, both = {"reviewerSession": []}, {"reviewerSession": [], "csrfToken": []}
    invites = paths[INVITES.replace(ASSIGNMENT, "{assignment_id}")]
    assert invites["get"]["security"] == [session, {"apiToken": ["read"]}]
    assert invites["post"]["security"] == [both, {"apiToken": ["invite"]}]
    assert paths["/api/review/tokens"]["post"]["security"] == [both]  # tokens make no tokens
    assert "security" not in paths["/api/review/login"]["post"]
    assert "security" not in paths["/api/candidate/{token}"]["get"]


def test_the_openapi_document_says_every_error_is_a_problem(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["Problem"]["required"]) >= {
        "title", "status", "detail"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "default" in responses, (method, path)
            for code, response in responses.items():
                if code == "default" or int(code) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, code)


INVITES = f"/api/review/assignments/{ASSIGNMENT}/invites"


@pytest.mark.parametrize("body", [b'{"cohort": ', b'{"cohort": "\xff"}'],
                         ids=["malformed", "not-utf8"])
def test_unreadable_bodies_are_refused_after_authentication(client: TestClient,
                                                            body: bytes) -> None:
    sent = {"content": body, "headers": {"content-type": "application/json"}}
    assert_problem(client.post(INVITES, **sent), 401)
    sent["headers"]["X-CSRF-Token"] = log_in(client)
    problem = assert_problem(client.post(INVITES, **sent), 422, "Invalid request")
    assert problem["errors"] == [{"loc": ["body"], "type": "json_invalid",
                                  "msg": problem["errors"][0]["msg"]}]
    assert "not valid JSON" in problem["detail"] or "not UTF-8" in problem["detail"]
    client.cookies.clear()


def test_a_body_without_a_json_content_type_is_told_so(reviewer: TestClient) -> None:
    problem = assert_problem(reviewer.post(INVITES, content=b"{}",
                                           headers={"content-type": "text/plain"}), 422)
    assert "Content-Type: application/json" in problem["detail"]


def test_json_bodies_are_capped(client: TestClient) -> None:
    huge = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    assert_problem(client.post("/api/review/login", content=huge,
                               headers={"content-type": "application/json"}), 413)


def test_options_and_405_list_every_method_of_the_path(client: TestClient) -> None:
    options = client.options(INVITES)
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    wrong = client.delete(INVITES)
    assert "does not take DELETE requests" in assert_problem(wrong, 405)["detail"]
    assert wrong.headers["allow"] == "GET, OPTIONS, POST"
    assert_problem(client.options("/api/no/such/route"), 404)


def assert_utc(value: str) -> None:
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0), value


def test_times_carry_their_zone(client: TestClient, reviewer: TestClient) -> None:
    created = reviewer.post(INVITES, json={"cohort": "zones", "label": "Ada"})
    assert created.status_code == 201, created.text
    assert_utc(created.json()["expires_at"])
    listed = next(i for i in reviewer.get(INVITES).json() if i["id"] == created.json()["id"])
    assert_utc(listed["created_at"])
    assert_utc(listed["expires_at"])
    accept_submission(client.app.state.service.db, invite_id=created.json()["id"],
                      sha256="0" * 64, size_bytes=1, files_dir="nowhere")
    seen = client.get(f"/api/candidate/{created.json()['token']}").json()
    assert_utc(seen["expires_at"])
    assert_utc(seen["submissions"][0]["created_at"])
    row = reviewer.get(f"/api/review/assignments/{ASSIGNMENT}/submissions",
                       params={"cohort": "zones"}).json()[0]
    assert_utc(row["created_at"])


@pytest.mark.parametrize(("field", "value", "named"), [
    ("cohort", "spring\n2026", "U+000A"), ("cohort", "a\x1b[2Jb", "U+001B"),
    ("label", "Ada \u202eevil", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("label", "lone \ud800", "U+D800")])
def test_invites_refuse_unprintable_text(reviewer: TestClient, field: str, value: str,
                                         named: str) -> None:
    body = json.dumps({field: value}).encode()  # \u escapes: a lone surrogate can be sent
    problem = assert_problem(reviewer.post(INVITES, content=body, headers={
        "content-type": "application/json"}), 422)
    assert problem["errors"][0]["loc"] == ["body", field]
    assert named in problem["detail"] and "remove it" in problem["detail"]


def test_invites_take_any_script(reviewer: TestClient) -> None:
    made = reviewer.post(INVITES, json={"cohort": "春季-2026", "label": "Zoë Ødegård"})
    assert made.status_code == 201, made.text
    assert (made.json()["cohort"], made.json()["label"]) == ("春季-2026", "Zoë Ødegård")


def test_uploads_over_the_cap_are_refused_naming_the_cap(client: TestClient) -> None:
    _, token = invite_candidate(client.app.state.service.db, assignment_id=ASSIGNMENT,
                                max_submissions=3, cohort="big", label="Ada", allowance=None,
                                valid_days=1, created_by=EMAIL)
    url = f"/api/candidate/{token}/submissions"
    over = b"x" * (UPLOAD_CAP + 1000)  # over the zip's cap, within the multipart framing's

    def chunks():  # no Content-Length: counted as the bytes arrive
        yield over

    refusals = [client.post(url, content=over, headers={"content-type": "application/zip"}),
                client.post(url, content=chunks(), headers={"content-type": "application/zip"}),
                client.post(url, files={"file": ("s.zip", over, "application/zip")})]
    for refused in refusals:
        body = assert_problem(refused, 413, "Upload too large")
        assert "larger than 0.25 MiB (262,144 bytes)" in body["detail"], body["detail"]


def test_the_graders_own_errors_are_problems_too(client: TestClient) -> None:
    def broken() -> None:
        raise RuntimeError("a bug in trusted code")

    client.app.add_api_route("/api/test/broken", broken)
    answering = TestClient(client.app, raise_server_exceptions=False)  # no second lifespan
    problem = assert_problem(answering.get("/api/test/broken"), 500, "Internal Server Error")
    assert "operators can see it in the log" in problem["detail"]
    assert "trusted code" not in problem["detail"]  # nothing of the bug reaches the caller
