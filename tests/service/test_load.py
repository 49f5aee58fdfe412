"""50 concurrent uploads to a real server over loopback: all recorded, all graded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from support.kit import (
    PASSWORD,
    REVIEWER,
    Server,
    database_url,
    free_port,
    login,
    run_cli,
    service_env,
    solution_zip,
    wait_for,
)

UPLOADS = 50


def test_fifty_concurrent_uploads_are_all_recorded_and_graded(tmp_path: Path,
                                                              assignments_dir: Path) -> None:
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("sqlite", tmp_path), port=free_port(),
                      GRADER_LIMITS__CPUS="0.5")  # the fake grader uses no container CPUs
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        with server.client() as client:
            client.headers["X-CSRF-Token"] = login(client)
            tokens = [client.post("/api/review/assignments/starter/invites",
                                  json={"cohort": "load", "allowance": 5}).json()["token"]
                      for _ in range(UPLOADS // 5)]

        async def burst() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=UPLOADS)
            async with httpx.AsyncClient(base_url=server.base, timeout=60,
                                         limits=limits) as client:
                return await asyncio.gather(*(
                    client.post(f"/api/candidate/{tokens[i % len(tokens)]}/submissions",
                                content=solution_zip(score=i),
                                headers={"content-type": "application/zip"})
                    for i in range(UPLOADS)))

        responses = asyncio.run(burst())
        assert [r.status_code for r in responses] == [201] * UPLOADS
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == UPLOADS
        with server.client() as client:
            client.headers["X-CSRF-Token"] = login(client)
            wait_for(lambda: client.get("/api/health").json()["queue"]["done"] == UPLOADS,
                     timeout=240, interval=1, what="all 50 gradings")
            rows = client.get("/api/review/assignments/starter/submissions",
                              params={"cohort": "load"}).json()
    finally:
        server.stop()
    assert {row["id"] for row in rows} == ids
    assert {row["status"] for row in rows} == {"graded"}
    assert sorted(row["total"] for row in rows) == list(range(UPLOADS))
