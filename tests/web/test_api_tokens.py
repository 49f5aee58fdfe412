"""API tokens: every reviewer JSON route names one scope (in its OpenAPI security) and enforces
it, and every ATS route its own ``integration:<ats>``; a token lacking it gets 403 saying which,
one holding it gets in without the CSRF dance; revoked, expired and unknown tokens get 401;
tokens never manage tokens; the store keeps no usable secret. In process over a temporary SQLite
store (no worker pool: nothing is graded).

The walk covers the app's routes as ``create_app`` mounts them, whoever added them: a new reviewer
route that takes tokens without naming a scope, or a GET that asks for more than ``read``, fails
here until it does, or until it is listed as session-only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.store import ApiToken, create_reviewer, utcnow
from grader.tokens import Scope, secret_sha256
from grader.web import create_app

EMAIL, OTHER, PASSWORD = "reviewer@example.com", "other@example.com", "a long enough password"
PROBLEM = "application/problem+json"
# Reviewer JSON routes a token may never call: a session's own business.
SESSION_ONLY = {("POST", "/api/review/logout"), ("GET", "/api/review/tokens"),
                ("POST", "/api/review/tokens"), ("DELETE", "/api/review/tokens/{token_id}")}
PUBLIC = {("POST", "/api/review/login")}
# Webhook endpoints and their deliveries, read or written, take `webhooks`: they name where the
# grader sends data, which a `read` token for reports has no need to know.
WEBHOOK_PATHS = ("/api/review/webhooks", "/api/review/deliveries")
MISSING_ID = "999999999"  # ids no row has: a write a token may make changes nothing here
PARAMETERS = {"assignment_id": "rag_pipeline", "item_id": "readme", "path": "solution.py"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("data")
    app = create_app(Settings(data_dir=data, assignments_dir=BUILT_IN_ASSIGNMENTS, demo=True,
                              database_url=f"sqlite:///{data / 'grader.db'}"))
    with TestClient(app) as client:
        with app.state.service.db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
            create_reviewer(session, OTHER, PASSWORD)
        yield client


def _session(client: TestClient, email: str = EMAIL) -> TestClient:
    """A separate client logged in as ``email``, sending its CSRF header."""
    browser = TestClient(client.app)
    response = browser.post("/api/review/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    browser.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return browser


@pytest.fixture(scope="module")
def reviewer(client: TestClient) -> TestClient:
    return _session(client)


def _make(reviewer: TestClient, *scopes: str, name: str = "script", **extra) -> dict:
    response = reviewer.post("/api/review/tokens",
                             json={"name": name, "scopes": list(scopes), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _bearer(token: dict | str) -> dict[str, str]:
    secret = token if isinstance(token, str) else token["token"]
    return {"Authorization": f"Bearer {secret}"}


def _routes(routes: list) -> Iterator[APIRoute]:
    """Every API route, those of included routers too (FastAPI keeps them behind a wrapper)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def _reviewer_api(client: TestClient) -> list[tuple[str, str, list[str] | None]]:
    """Every reviewer JSON operation of the app: (method, path template, the scopes its OpenAPI
    security grants a token, None when it takes no token)."""
    document = client.get("/openapi.json").json()["paths"]
    found = []
    for route in _routes(client.app.routes):
        if not route.path.startswith("/api/review"):
            continue
        assert route.include_in_schema, f"{route.path} is missing from the OpenAPI document"
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in PUBLIC:
                continue
            operation = document[route.path_format][method.lower()]
            granted = [r["apiToken"] for r in operation.get("security", []) if "apiToken" in r]
            found.append((method, route.path, granted[0] if granted else None))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: PARAMETERS.get(m.group(1), MISSING_ID), path)


def test_every_reviewer_route_names_one_scope_and_enforces_it(client, reviewer) -> None:
    operations = _reviewer_api(client)
    assert len(operations) >= 20  # the walk sees the routers' routes, not an empty app
    every = [scope.value for scope in Scope]
    only = {scope: _make(reviewer, scope) for scope in every}
    # An ATS's scope stands alone (grader.tokens): the reviewer API's are combined without it,
    # and each ATS's key is tried on its own.
    ats = [scope for scope in every if scope.startswith("integration:")]
    api = [scope for scope in every if scope not in ats]
    all_but = {scope: _make(reviewer, *(s for s in api if s != scope)) for scope in api}
    holding_all = _make(reviewer, *api)
    checked = set()
    for method, path, granted in operations:
        url = _concrete(path)
        if (method, path) in SESSION_ONLY:
            assert granted is None, f"{method} {path} is session-only but grants {granted}"
            refused = client.request(method, url, headers=_bearer(holding_all), json={})
            assert refused.status_code == 403, (method, path, refused.text)
            assert "session" in refused.json()["detail"]
            continue
        assert granted is not None and len(granted) == 1, (
            f"{method} {path} takes no API token scope ({granted}): give it one of "
            f"grader.web._deps' Scoped... aliases, or list it here as session-only")
        scope = granted[0]
        if path.startswith(WEBHOOK_PATHS):
            assert scope == Scope.WEBHOOKS, f"{method} {path} needs {scope}, not webhooks"
        elif method == "GET":
            assert scope == Scope.READ, f"GET {path} needs {scope}: every read takes `read`"
        else:
            assert scope != Scope.READ, f"{method} {path} writes with the read scope"
        lacking = client.request(method, url, headers=_bearer(all_but[scope]), json={})
        assert lacking.status_code == 403, (method, path, lacking.status_code, lacking.text)
        assert lacking.headers["content-type"] == PROBLEM
        assert f"lacks the scope {scope}" in lacking.json()["detail"]
        for key in ats:
            assert client.request(method, url, headers=_bearer(only[key]),
                                  json={}).status_code == 403, (method, path, key)
        # No cookie, no CSRF header: the token alone is enough.
        holding = client.request(method, url, headers=_bearer(only[scope]), json={})
        assert holding.status_code not in (401, 403), (method, path, holding.text)
        assert holding.status_code < 500, (method, path, holding.text)
        checked.add(scope)
    assert {Scope.READ, Scope.INVITE, Scope.REVIEW} <= checked


def test_a_token_reads_and_writes_as_its_reviewer(client, reviewer) -> None:
    token = _make(reviewer, Scope.READ, Scope.INVITE)
    made = client.post("/api/review/assignments/rag_pipeline/invites", headers=_bearer(token),
                       json={"cohort": "tokens", "label": "Ada"})
    assert made.status_code == 201, made.text
    invites = client.get("/api/review/assignments/rag_pipeline/invites", headers=_bearer(token))
    listed = {i["id"]: i for i in invites.json()}
    assert listed[made.json()["id"]]["created_by"] == EMAIL
    assert client.cookies.get("grader_session") is None  # the token's requests set no session


def test_revoked_expired_and_unknown_tokens_are_refused(client, reviewer) -> None:
    revoked, expired, live = (_make(reviewer, Scope.READ, name=name)
                              for name in ("revoked", "expired", "live"))
    assert reviewer.delete(f"/api/review/tokens/{revoked['id']}").status_code == 204
    assert reviewer.delete(f"/api/review/tokens/{revoked['id']}").status_code == 204  # again
    with client.app.state.service.db.write() as session:
        session.execute(update(ApiToken).where(ApiToken.id == expired["id"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    for secret in (revoked["token"], expired["token"], live["token"] + "x", "grt_nope", ""):
        refused = client.get("/api/review/assignments", headers=_bearer(secret))
        assert refused.status_code == 401, (secret, refused.text)
        assert refused.headers["content-type"] == PROBLEM
    assert client.get("/api/review/assignments", headers=_bearer(live)).status_code == 200
    listed = {t["name"]: t for t in reviewer.get("/api/review/tokens").json()}
    assert listed["revoked"]["revoked_at"] is not None and listed["live"]["revoked_at"] is None
    assert listed["live"]["last_used_at"] is not None
    assert "token" not in listed["live"]


def test_an_expiry_is_kept_and_a_token_lapses_after_it(client, reviewer) -> None:
    token = _make(reviewer, Scope.READ, name="short", expires_in_days=1)
    assert token["expires_at"] is not None
    assert client.get("/api/review/assignments", headers=_bearer(token)).status_code == 200


def test_the_store_keeps_no_usable_secret(client, reviewer) -> None:
    token = _make(reviewer, Scope.REVIEW, name="stored")
    secret = token["token"]
    assert secret.startswith("grt_") and len(secret) >= 40
    with client.app.state.service.db.read() as session:
        row = session.get(ApiToken, token["id"])
        values = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert row.secret_sha256 == secret_sha256(secret)
    assert row.prefix == secret[:12] == token["prefix"]
    assert not any(secret[12:20] in value for value in values)  # no more than the prefix


def test_reviewers_see_and_revoke_only_their_own_tokens(client, reviewer) -> None:
    mine = _make(reviewer, Scope.READ, name="mine")
    other = _session(client, OTHER)
    assert mine["id"] not in {t["id"] for t in other.get("/api/review/tokens").json()}
    assert other.delete(f"/api/review/tokens/{mine['id']}").status_code == 404
    assert client.get("/api/review/assignments", headers=_bearer(mine)).status_code == 200


def test_token_requests_are_checked(reviewer) -> None:
    for body in ({"name": "x", "scopes": []}, {"name": "x", "scopes": ["admin"]},
                 {"name": "", "scopes": ["read"]}, {"name": "x", "scopes": ["read"],
                                                    "expires_in_days": 0}):
        refused = reviewer.post("/api/review/tokens", json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"] == PROBLEM


def test_a_session_still_needs_its_csrf_header_to_write(client, reviewer) -> None:
    cookie_only = TestClient(client.app, cookies=dict(reviewer.cookies))
    refused = cookie_only.post("/api/review/tokens", json={"name": "x", "scopes": ["read"]})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]


def test_the_tokens_page_makes_shows_once_and_revokes(client, reviewer) -> None:
    anonymous = TestClient(client.app, follow_redirects=False)
    assert anonymous.get("/review/tokens").headers["location"].startswith("/review/login")
    page = TestClient(client.app, cookies=dict(reviewer.cookies), follow_redirects=False)
    csrf = reviewer.headers["X-CSRF-Token"]
    made = page.post("/review/tokens", data={"csrf_token": csrf, "name": "from the page",
                                              "scopes": ["read", "invite"],
                                              "expires_in_days": ""})
    assert made.status_code == 200, made.text
    secret = re.search(r'value="(grt_[^"]+)" id="token-secret"', made.text).group(1)
    assert client.get("/api/review/assignments", headers=_bearer(secret)).status_code == 200
    listed = page.get("/review/tokens")
    assert "from the page" in listed.text and secret not in listed.text
    token_id = next(t["id"] for t in reviewer.get("/api/review/tokens").json()
                    if t["name"] == "from the page")
    assert page.post(f"/review/tokens/{token_id}/revoke", data={}).status_code == 403
    revoked = page.post(f"/review/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert client.get("/api/review/assignments", headers=_bearer(secret)).status_code == 401


def test_every_ats_route_takes_its_own_integration_scope(client, reviewer) -> None:
    document = client.get("/openapi.json").json()["paths"]
    routes = [(method, route.path) for route in _routes(client.app.routes)
              if route.path.startswith("/api/integrations/")
              for method in sorted(route.methods - {"HEAD"})]
    assert {path.split("/")[3] for _, path in routes} >= {"greenhouse", "ashby"}
    every = [scope.value for scope in Scope]
    for method, path in routes:
        scope = f"integration:{path.split('/')[3]}"
        assert document[path][method.lower()]["security"] == [{"atsKey": [scope]}], path
        # An ATS's scope stands alone: each other one is a token of its own.
        for other in (s for s in every if s != scope):
            lacking = _make(reviewer, other)["token"]
            refused = client.request(method, path, auth=(lacking, ""), json={})
            assert refused.status_code == 403 and scope in refused.json()["detail"], path
        holding = _make(reviewer, scope)["token"]
        allowed = client.request(method, path, auth=(holding, ""), json={},
                                 params={"partner_interview_id": MISSING_ID})
        assert allowed.status_code not in (401, 403) and allowed.status_code < 500, (
            path, allowed.text)
