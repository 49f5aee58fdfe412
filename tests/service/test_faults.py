"""Faults: a worker killed with SIGKILL mid-grading, a server killed mid-queue. Nothing accepted
is lost, and every job stores its report once."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest
from _kit import (
    PASSWORD,
    REVIEWER,
    Process,
    Server,
    database_url,
    folder_zip,
    free_port,
    login,
    run_cli,
    service_env,
    solution_zip,
    upload,
    wait_final,
    wait_for,
)

from sandbox import LABEL


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _our_containers(owner_pids: list[int]) -> list[str]:
    client = docker.from_env()
    try:
        return [c["Id"] for c in client.api.containers(all=True, filters={"label": LABEL})
                if c["Labels"].get("ml-grader.owner-pid") in {str(p) for p in owner_pids}]
    finally:
        client.close()


@pytest.mark.docker
@pytest.mark.postgres
def test_sigkilled_worker_restarts_and_the_job_is_graded_once(
        tmp_path: Path, assignments_dir: Path, slow_reference: Path, runner_image: str) -> None:
    """`grader serve` without workers takes the upload; a standalone `grader worker` (PostgreSQL,
    real pipeline) is killed in the build phase, restarted, and grades the job exactly once."""
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("postgres", tmp_path), port=free_port(),
                      fake=False, GRADER_WORKERS="0", GRADER_LEASE_SECONDS="4",
                      GRADER_RUNNER_IMAGE=runner_image)
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    server = Server(env, tmp_path / "serve.log").start()
    worker_env = {key: value for key, value in env.items() if key != "GRADER_WORKERS"}
    worker = Process(["worker"], worker_env, tmp_path / "worker.log")
    try:
        with server.client() as client:
            client.headers["X-CSRF-Token"] = login(client)
            token = client.post("/api/review/assignments/starter/invites",
                                json={"cohort": "faults"}).json()["token"]
            submission_id = upload(client, token, folder_zip(slow_reference)).json()["id"]
            assert client.get("/api/health").json()["workers"] == 0

            worker.start()

            def grading_child():
                children = [c for c in _children(worker.proc.pid)
                            if b"grader.jobs.grading" in Path(f"/proc/{c}/cmdline").read_bytes()]
                return children if children and _our_containers(children) else None
            children = wait_for(grading_child, timeout=60, what="a container of the grading")
            assert client.get(f"/api/review/submissions/{submission_id}"
                              ).json()["jobs"][0]["state"] == "running"
            worker.kill()
            # The grading process notices its worker is gone and exits at once.
            wait_for(lambda: not any(_alive(c) for c in children), timeout=10,
                     what="the orphaned grading process to exit")

            worker = Process(["worker"], worker_env, tmp_path / "worker2.log").start()
            # At start the new worker reaps the dead grading's container.
            wait_for(lambda: not _our_containers(children), timeout=30,
                     what="the orphaned container to be reaped")
            final = wait_final(client, token, submission_id, timeout=120)
            detail = client.get(f"/api/review/submissions/{submission_id}").json()
    finally:
        worker.stop()
        server.stop()
    assert final["status"] == "graded" and final["result"]["total"] == 100.0
    [job] = detail["jobs"]
    assert job["state"] == "done" and job["attempts"] == 2
    import sqlalchemy

    engine = sqlalchemy.create_engine(env["GRADER_DATABASE_URL"])
    with engine.connect() as connection:
        reports = connection.execute(sqlalchemy.text(
            "SELECT count(*) FROM reports WHERE submission_id = :s"), {"s": submission_id})
        assert reports.scalar() == 1
    engine.dispose()


def test_server_killed_mid_queue_loses_nothing(tmp_path: Path, assignments_dir: Path) -> None:
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("sqlite", tmp_path), port=free_port(),
                      GRADER_WORKERS="1", GRADER_LEASE_SECONDS="3")
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        with server.client() as client:
            client.headers["X-CSRF-Token"] = login(client)
            token = client.post("/api/review/assignments/starter/invites",
                                json={"cohort": "restart", "allowance": 10}).json()["token"]
            accepted = [upload(client, token, solution_zip(score=10 * i, sleep=1.5)).json()["id"]
                        for i in range(6)]
            wait_for(lambda: client.get("/api/health").json()["queue"]["done"] >= 1,
                     timeout=60, what="the first grading")
        server.kill()  # SIGKILL: no shutdown of any kind, a grading in flight
        server = Server(env, tmp_path / "serve2.log").start()
        with server.client() as client:
            finals = {i: wait_final(client, token, i, timeout=120) for i in accepted}
            health = client.get("/api/health").json()
    finally:
        server.stop()
    assert {f["status"] for f in finals.values()} == {"graded"}
    assert sorted(f["result"]["total"] for f in finals.values()) == [0, 10, 20, 30, 40, 50]
    assert health["queue"] == {"queued": 0, "running": 0, "done": 6, "errored": 0}
    import sqlite3

    with sqlite3.connect(tmp_path / "grader.db") as connection:
        per_job = connection.execute("SELECT job_id, count(*) FROM reports GROUP BY job_id"
                                     ).fetchall()
    assert len(per_job) == 6 and all(count == 1 for _, count in per_job)
    assert os.listdir(tmp_path / "data" / "uploads") == []
