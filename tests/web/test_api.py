"""The JSON API, in process (conftest.py's ``server``), and through a real `grader serve` on
SQLite and on PostgreSQL for what a deployment adds: the store backend, a grading end to end,
uploads streamed without a length.

Grading uses the fast fake of the pipeline (support/fakes.py), run by the real workers in
their real child processes; tests/service/test_end_to_end.py grades through the real pipeline.
"""

from __future__ import annotations

import csv
import io
import time

from support.kit import UPLOAD_CAP, solution_zip, upload, wait_final, wait_for

from grader.web._app import app_routes


def _files_under(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")} if folder.exists() \
        else set()


def test_health_and_openapi_document_every_api_route(live_server) -> None:
    with live_server.client() as client:
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["database"] == (
            "sqlite" if live_server.backend == "sqlite" else "postgresql")
        assert health["workers"] >= 1
        schema = client.get("/openapi.json").json()
    documented = {path for path in schema["paths"]}
    app_routes = {route.path.replace(":path}", "}") for route in _app_routes()
                  if route.path.startswith("/api/")}
    assert app_routes <= documented, app_routes - documented
    assert not any(path.startswith(("/i/", "/review")) for path in documented)
    upload_body = schema["paths"]["/api/candidate/{token}/submissions"]["post"]["requestBody"]
    assert {"application/zip", "multipart/form-data"} <= set(upload_body["content"])


def _app_routes():
    return app_routes()


def test_candidate_uploads_and_sees_only_the_released_fields(live_server, make_live_invite
                                                             ) -> None:
    token = make_live_invite(label="ada")
    with live_server.client() as client:
        invite = client.get(f"/api/candidate/{token}").json()
        assert invite["assignment_id"] == "starter" and invite["remaining"] == 3
        assert client.get(invite["starter_url"]).headers["content-type"] == "application/zip"
        response = upload(client, token, solution_zip(score=87.5))
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "queued" and response.headers["location"] == created["url"]
        final = wait_final(client, token, created["id"])
    assert final["status"] == "graded"
    # The starter assignment releases total, components and status: not metrics, tests or logs.
    assert final["result"]["total"] == 87.5
    assert set(final["result"]) == {"status", "message", "total", "components"}
    assert "SECRET-LOG-LINE" not in str(final)


def test_multipart_upload_is_accepted_too(server, make_invite) -> None:
    token = make_invite()
    with server.client() as client:
        response = client.post(f"/api/candidate/{token}/submissions",
                                files={"file": ("s.zip", solution_zip(), "application/zip")})
        assert response.status_code == 201, response.text


def test_intake_errors_name_the_rule_and_store_nothing(server, make_invite) -> None:
    token = make_invite()
    before = _files_under(server.data_dir / "submissions")
    with server.client() as client:
        bad = upload(client, token, b"this is not a zip at all")
        assert bad.status_code == 422
        assert bad.json()["rule"] == "not_a_zip" and "not a readable zip" in bad.json()["detail"]
        import zipfile
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("../evil.py", "x")
        slip = upload(client, token, buffer.getvalue())
        assert slip.status_code == 422 and slip.json()["rule"] == "zip_slip"
        assert client.get(f"/api/candidate/{token}").json()["used"] == 0
    assert _files_under(server.data_dir / "submissions") == before
    assert _files_under(server.data_dir / "uploads") == set()


def test_uploads_over_the_cap_get_413_while_streaming(live_server, make_live_invite) -> None:
    token = make_live_invite()
    big = b"PK" + b"\0" * (UPLOAD_CAP + 200_000)
    with live_server.client() as client:
        declared = upload(client, token, big)
        assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

        def chunks():  # no Content-Length: the server must count as the bytes arrive
            for start in range(0, len(big), 65536):
                yield big[start:start + 65536]
        streamed = client.post(f"/api/candidate/{token}/submissions", content=chunks(),
                               headers={"content-type": "application/zip"})
        assert streamed.status_code == 413
        form = client.post(f"/api/candidate/{token}/submissions",
                           files={"file": ("big.zip", big, "application/zip")})
        assert form.status_code == 413
        assert client.get(f"/api/candidate/{token}").json()["used"] == 0
    assert _files_under(live_server.data_dir / "uploads") == set()


def test_allowance_and_expiry(server, make_invite) -> None:
    once = make_invite(allowance=1)
    expired = make_invite(valid_days=0.00001)  # under a second
    time.sleep(1.0)
    with server.client() as client:
        assert upload(client, once, solution_zip()).status_code == 201
        refused = upload(client, once, solution_zip())
        assert refused.status_code == 409 and "used" in refused.json()["detail"]
        late = upload(client, expired, solution_zip())
        assert late.status_code == 409 and "expired" in late.json()["detail"]
        assert client.get("/api/candidate/not-a-real-token").status_code == 404


def test_reviewer_lists_sorts_reads_regrades_and_exports(server, make_invite, reviewer) -> None:
    token = make_invite(cohort="sorting", label="=HYPERLINK(1)")
    with server.client() as client:
        ids = [upload(client, token, solution_zip(score=score)).json()["id"]
               for score in (30, 90, 60)]
        for submission_id in ids:
            wait_final(client, token, submission_id)
    assignments = reviewer.get("/api/review/assignments").json()
    starter = next(a for a in assignments if a["id"] == "starter")
    cohort = next(c for c in starter["cohorts"] if c["cohort"] == "sorting")
    assert cohort["submissions"] == 3 and cohort["graded"] == 3 and cohort["mean_total"] == 60

    def listed(**params):
        rows = reviewer.get("/api/review/assignments/starter/submissions",
                            params={"cohort": "sorting", **params}).json()
        return [row["total"] for row in rows]
    assert listed(sort="score", order="desc") == [90, 60, 30]
    assert listed(sort="score", order="asc") == [30, 60, 90]
    assert listed(sort="date", order="asc") == [30, 90, 60]
    assert len(listed(sort="status")) == 3

    detail = reviewer.get(f"/api/review/submissions/{ids[1]}").json()
    assert detail["report"]["total"] == 90
    assert detail["report"]["phases"][0]["log"] == "SECRET-LOG-LINE"  # reviewers see logs
    assert sorted(detail["cohort"]["totals"]) == [30, 60, 90]
    assert len(detail["cohort"]["metrics"]["quality.accuracy"]) == 3
    assert {f["path"] for f in detail["files"]} == {"solution.py", "README.md"}
    source = reviewer.get(f"/api/review/submissions/{ids[1]}/files/solution.py")
    assert source.status_code == 200 and "# score: 90" in source.text
    page = reviewer.get(f"/review/submissions/{ids[1]}")
    assert page.status_code == 200 and "<svg" in page.text and "SECRET-LOG-LINE" in page.text

    regraded = reviewer.post(f"/api/review/submissions/{ids[0]}/regrade")
    assert regraded.status_code == 202
    assert reviewer.post(f"/api/review/submissions/{ids[0]}/regrade").status_code in (202, 409)
    wait_for(lambda: [j["state"] for j in reviewer.get(
        f"/api/review/submissions/{ids[0]}").json()["jobs"]] == ["done", "done"],
        timeout=60, what="the re-grade")

    exported = reviewer.get("/api/review/assignments/starter/export.csv",
                            params={"cohort": "sorting"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(float(r["total"]) for r in rows) == [30, 60, 90]
    assert {r["label"] for r in rows} == {"'=HYPERLINK(1)"}  # no formula reaches a spreadsheet
    assert "metric.quality.accuracy" in rows[0] and "points.accuracy" in rows[0]

    invites = reviewer.get("/api/review/assignments/starter/invites").json()
    assert any(i["cohort"] == "sorting" and i["used"] == 3 for i in invites)
    assert all("token" not in i for i in invites)


def test_login_logout(server) -> None:
    with server.client() as client:
        wrong = client.post("/api/review/login", json={"email": "reviewer@example.com",
                                                       "password": "wrong password!!"})
        assert wrong.status_code == 401
        from support.kit import login
        csrf = login(client)
        cookie = client.cookies.jar
        session_cookie = next(c for c in cookie if c.name == "grader_session")
        assert session_cookie.has_nonstandard_attr("HttpOnly")
        assert client.get("/api/review/assignments").status_code == 200
        assert client.post("/api/review/logout", headers={"X-CSRF-Token": csrf}
                           ).status_code == 204
        assert client.get("/api/review/assignments").status_code == 401


def test_set_cookie_flags(server) -> None:
    response = server.client().post("/api/review/login",
                                    json={"email": "reviewer@example.com",
                                          "password": "correct horse battery staple"})
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
