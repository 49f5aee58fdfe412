"""Access control: reviewer routes refuse anonymous and candidate callers, candidates cannot reach
each other's submissions, file routes refuse traversal (through a real server, which receives the
request target as written), forms need CSRF."""

from __future__ import annotations

import http.client
import re

import pytest
from support.kit import PASSWORD, REVIEWER, login, solution_zip, upload, wait_final

from grader.web._app import app_routes

PUBLIC = {"/api/review/login", "/review/login"}


def _reviewer_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the app that belongs to reviewers, ids filled in."""
    found = []
    for route in app_routes():
        path = getattr(route, "path", "")
        if not path.startswith(("/review", "/api/review")) or path in PUBLIC:
            continue
        concrete = (path.replace("{assignment_id}", "starter").replace("{submission_id}", "1")
                    .replace("{path:path}", "solution.py").replace("{item_id}", "readme")
                    .replace("{invite_id}", "1"))
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, concrete))
    return found


ROUTES = _reviewer_routes()


def test_the_route_list_covers_pages_and_api() -> None:
    paths = {path for _, path in ROUTES}
    assert {"/review", "/review/submissions/1", "/review/submissions/1/files/solution.py",
            "/api/review/submissions/1", "/api/review/assignments/starter/export.csv",
            "/api/review/submissions/1/regrade", "/review/assignments/starter/invites",
            "/api/review/submissions/1/manual-scores/readme", "/api/review/submissions/1/reveal",
            "/api/review/submissions/1/notes", "/api/review/submissions/1/decision",
            "/api/review/submissions/1/judgement", "/api/review/assignments/starter/similarity",
            "/review/submissions/1/manual-scores/readme", "/review/submissions/1/reveal",
            "/review/submissions/1/notes", "/review/submissions/1/decision",
            "/api/review/assignments/starter/invites/1/extend",
            "/api/review/submissions/1/results.json"} <= paths
    assert len(ROUTES) == 44  # update when adding reviewer routes: each is checked below


@pytest.fixture(scope="module")
def graded(server):
    """Two candidates with one graded submission each (per server)."""
    with server.client() as client:
        client.headers["X-CSRF-Token"] = login(client)
        tokens = [client.post("/api/review/assignments/starter/invites",
                              json={"cohort": "security", "label": label}).json()["token"]
                  for label in ("a", "b")]
    with server.client() as client:
        ids = [upload(client, token, solution_zip(score=10)).json()["id"] for token in tokens]
        for token, submission_id in zip(tokens, ids, strict=True):
            wait_final(client, token, submission_id)
    return list(zip(tokens, ids, strict=True))


@pytest.mark.parametrize("method,path", ROUTES)
def test_reviewer_routes_refuse_anonymous_and_candidates(server, graded, method, path) -> None:
    token, _ = graded[0]
    attempts = {
        "anonymous": {},
        "candidate bearer": {"headers": {"Authorization": f"Bearer {token}"}},
        "candidate cookie": {"cookies": {"grader_session": token}},
        "forged cookie": {"cookies": {"grader_session": f"{token}.forged"}},
    }
    for who, options in attempts.items():
        cookies = options.pop("cookies", None)
        with server.client(cookies=cookies) as client:
            response = client.request(method, path, params={"token": token}, **options)
        if path.startswith("/api/"):
            assert response.status_code == 401, (who, response.status_code, response.text)
        else:
            assert response.status_code == 303, (who, response.status_code)
            assert response.headers["location"].startswith("/review/login")
        assert "SECRET-LOG-LINE" not in response.text and "# score" not in response.text
        assert "signals" not in response.text and "manual_rubric" not in response.text


def test_a_candidate_cannot_reach_another_candidates_submission(server, graded) -> None:
    (token_a, id_a), (token_b, id_b) = graded
    with server.client() as client:
        for path in (f"/api/candidate/{token_a}/submissions/{id_b}",
                     f"/i/{token_a}/submissions/{id_b}",
                     f"/api/candidate/{token_b}/submissions/{id_a}"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "10.0" not in response.text
        mine = client.get(f"/api/candidate/{token_a}").json()
        assert [s["id"] for s in mine["submissions"]] == [id_a]
        for guess in (id_b, id_b + 1000, 0, -1, "1 OR 1=1"):
            assert client.get(f"/api/candidate/{token_a}/submissions/{guess}"
                              ).status_code in (404, 422)


TRAVERSALS = ["../../session_secret", "..%2F..%2Fsession_secret", "%2e%2e/%2e%2e/grader.db",
              "/etc/passwd", "%2Fetc%2Fpasswd", "a/../../../session_secret", "..", ".",
              "solution.py/../../..", "..%5C..%5Csession_secret", "solution.py%00.txt",
              "./solution.py", "README.md/", ""]


@pytest.mark.parametrize("kind", ["/api/review/submissions/{id}/files/",
                                  "/review/submissions/{id}/files/"])
def test_file_routes_refuse_path_traversal(live_server, make_live_invite, live_reviewer,
                                           kind) -> None:
    token = make_live_invite(cohort="security")
    with live_server.client() as client:
        submission_id = upload(client, token, solution_zip(score=10)).json()["id"]
        wait_final(client, token, submission_id)
    prefix = kind.format(id=submission_id)
    ok = live_reviewer.get(prefix + "solution.py")
    assert ok.status_code == 200
    secret = (live_server.data_dir / "session_secret").read_text().strip()
    for attempt in TRAVERSALS:
        status, body = _raw_get(live_server, prefix + attempt,
                                live_reviewer.cookies["grader_session"])
        assert status in (404, 400, 422), (attempt, status)
        assert secret not in body and "root:" not in body


def _raw_get(server, target: str, session_cookie: str) -> tuple[int, str]:
    """GET with the request target sent exactly as written (clients normalise '..' away)."""
    connection = http.client.HTTPConnection("127.0.0.1", int(server.base.rsplit(":", 1)[1]),
                                            timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.putheader("Cookie", f"grader_session={session_cookie}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_forms_without_csrf_are_refused(server, graded, reviewer) -> None:
    token, submission_id = graded[0]
    cookies = {"grader_session": reviewer.cookies["grader_session"]}
    with server.client(cookies=cookies) as browser:
        for path, data in ((f"/review/submissions/{submission_id}/regrade", {}),
                           ("/review/assignments/starter/invites", {"cohort": "x"}),
                           (f"/review/submissions/{submission_id}/manual-scores/readme",
                            {"points": "2"}),
                           (f"/review/submissions/{submission_id}/reveal", {}),
                           (f"/review/submissions/{submission_id}/notes", {"body": "x"}),
                           (f"/review/submissions/{submission_id}/decision",
                            {"decision": "hold"}),
                           ("/review/logout", {})):
            for csrf in (None, "wrong-token"):
                form = {**data, **({"csrf_token": csrf} if csrf else {})}
                response = browser.post(path, data=form)
                assert response.status_code == 403, (path, csrf, response.status_code)
        # The JSON twins need the header instead.
        assert browser.post(f"/api/review/submissions/{submission_id}/regrade"
                            ).status_code == 403
        assert browser.post("/api/review/assignments/starter/invites", json={}
                            ).status_code == 403
        for method, path, body in (
                ("PUT", f"/api/review/submissions/{submission_id}/manual-scores/readme",
                 {"points": 2}),
                ("POST", f"/api/review/submissions/{submission_id}/reveal", None),
                ("POST", f"/api/review/submissions/{submission_id}/notes", {"body": "x"}),
                ("PUT", f"/api/review/submissions/{submission_id}/decision",
                 {"decision": "hold"})):
            assert browser.request(method, path, json=body).status_code == 403, path
        # Still logged in (logout was refused), and nothing was queued or recorded.
        detail = browser.get(f"/api/review/submissions/{submission_id}").json()
        assert [job["state"] for job in detail["jobs"]] == ["done"]
        judgement = detail["judgement"]
        assert (judgement["scores"], judgement["notes"], judgement["decision"],
                judgement["revealed"]) == ([], [], None, False)
    with server.client() as anonymous:
        refused = anonymous.post("/review/login", data={"email": REVIEWER,
                                                        "password": PASSWORD})
        assert refused.status_code == 403
        page = anonymous.get(f"/i/{token}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        used = anonymous.get(f"/api/candidate/{token}").json()["used"]
        for fields in ({}, {"csrf_token": "nope"}):
            response = anonymous.post(f"/i/{token}/upload", data=fields,
                                      files={"file": ("s.zip", solution_zip(), "application/zip")})
            assert response.status_code == 403
        assert anonymous.get(f"/api/candidate/{token}").json()["used"] == used
        good = anonymous.post(f"/i/{token}/upload", data={"csrf_token": csrf},
                              files={"file": ("s.zip", solution_zip(), "application/zip")})
        assert good.status_code == 303 and "/submissions/" in good.headers["location"]


def test_pages_send_security_headers(server, graded) -> None:
    token, _ = graded[0]
    response = server.client().get(f"/i/{token}")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
