"""Faults: a worker killed with SIGKILL mid-grading, a server killed mid-queue, the engine losing a
grading's containers. Nothing accepted is lost, every job stores its report once, and a fault of
the grader's side is retried, never scored."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from pathlib import Path

import docker
import pytest
from support.kit import (
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


# --- the engine loses a grading's container: the job is retried, never scored on it -------------

def _grading_children(parent: int) -> list[int]:
    found = []
    for pid in _children(parent):
        try:
            if b"grader.jobs.grading" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def _running_phase(owners: set[int], phase: str) -> str | None:
    """A running build or serve container of these grading processes: the agent's, with /work a
    tmpfs (build) or the build's work dir mounted (serve)."""
    client = docker.from_env()
    try:
        listed = client.api.containers(filters={"label": LABEL, "status": "running"})
    finally:
        client.close()
    for info in listed:
        if info["Labels"].get("ml-grader.owner-pid") not in {str(p) for p in owners}:
            continue
        if "agent.py" not in info.get("Command", ""):
            continue  # the candidate's own tests (engineering signals)
        serving = any(m.get("Destination") == "/work" for m in info.get("Mounts", []))
        if serving == (phase == "serve"):
            return info["Id"]
    return None


@pytest.fixture(scope="module")
def paced_reference(assignments_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference solution, taking 3 s to build and 2 s to load: time to disturb each."""
    folder = tmp_path_factory.mktemp("paced-reference")
    source = (assignments_dir / "starter" / "reference" / "solution" / "solution.py").read_text()
    for signature, seconds in (("def train(train_path, work_dir):\n", 3),
                               ("def load(work_dir):\n", 2)):
        assert signature in source
        source = source.replace(signature, f"{signature}    import time\n"
                                           f"    time.sleep({seconds})\n", 1)
    (folder / "solution.py").write_text(source)
    return folder


def _disturbed_then_undisturbed(tmp_path: Path, assignments_dir: Path, reference: Path,
                                runner_image: str, disturb, **settings: str
                                ) -> tuple[dict, dict, dict, set[int], str]:
    """Grade ``reference`` while ``disturb(container_id)`` hits its build (first attempt) and a
    serve session (second attempt), each 1.2 s after it started (past the import, in train() or
    load()); then grade it again, undisturbed. Returns both finals, the disturbed job, the
    grading processes seen and the service's log."""
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("sqlite", tmp_path), port=free_port(),
                      fake=False, GRADER_WORKERS="1", GRADER_DEMO="1",
                      GRADER_RUNNER_IMAGE=runner_image, **{"GRADER_MAX_ATTEMPTS": "3", **settings})
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    server = Server(env, tmp_path / "serve.log").start()
    seen: set[int] = set()

    def container_of(phase: str):
        def find():
            seen.update(_grading_children(server.proc.pid))
            return _running_phase(seen, phase)
        return find
    try:
        with server.client() as client:
            client.headers["X-CSRF-Token"] = login(client)
            token = client.post("/api/review/assignments/starter/invites",
                                json={"cohort": "faults", "allowance": 2}).json()["token"]
            archive = folder_zip(reference)
            disturbed = upload(client, token, archive).json()["id"]
            for phase in ("build", "serve"):
                container_id = wait_for(container_of(phase), timeout=120, interval=0.1,
                                        what=f"a {phase} container of the grading")
                time.sleep(1.2)
                disturb(container_id)
            first = wait_final(client, token, disturbed, timeout=300)
            [job] = client.get(f"/api/review/submissions/{disturbed}").json()["jobs"]
            second = wait_final(client, token, upload(client, token, archive).json()["id"],
                                timeout=120)
            seen.update(_grading_children(server.proc.pid))
    finally:
        server.stop()
    return first, second, job, seen, server.log.read_text(errors="replace")


def _docker_kill(container_id: str) -> None:
    subprocess.run(["docker", "kill", container_id], capture_output=True, check=False,
                   timeout=30)


@pytest.mark.docker
@pytest.mark.timeout(300)
def test_a_container_killed_from_outside_in_build_and_in_serve_is_retried_to_the_same_score(
        tmp_path: Path, assignments_dir: Path, paced_reference: Path, runner_image: str) -> None:
    """An operator's `docker kill` (or anything outside the grader ending its container) is no
    outcome of the candidate's: the job is retried and ends as an undisturbed grading does."""
    disturbed, undisturbed, job, graders, log = _disturbed_then_undisturbed(
        tmp_path, assignments_dir, paced_reference, runner_image, _docker_kill)
    assert undisturbed["status"] == "graded" and undisturbed["result"]["total"] == 100.0
    assert disturbed["status"] == "graded"
    assert disturbed["result"]["total"] == undisturbed["result"]["total"]
    assert job["state"] == "done" and job["attempts"] == 3
    retried = [line for line in log.splitlines() if "killed from outside the grader" in line]
    assert len(retried) == 2, log[-3000:]
    assert "the build phase could not run" in retried[0]
    # The serve session killed may be the one running or the next, started ahead of it.
    assert re.search(r"the serve: \w+ phase could not run", retried[1]), retried[1]
    assert _our_containers(sorted(graders)) == []


# --- a real engine restart -----------------------------------------------------------------------

RESTART_OPT_IN = "GRADER_TEST_RESTART_ENGINE"
DEFAULT_HOST = "unix:///var/run/docker.sock"
DOCKERD_LOG = Path("/var/log/dockerd.log")  # where scripts/setup.sh's dockerd writes
_engines_started: list[subprocess.Popen] = []


def _engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _local_dockerd() -> tuple[int, list[str]] | None:
    """The process and command line of the dockerd on this machine that serves DOCKER_HOST (by
    default the one listening on the default socket, as scripts/setup.sh starts it)."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    for entry in Path("/proc").iterdir():
        try:
            argv = [a.decode() for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except (OSError, ValueError):
            continue
        if not argv or Path(argv[0]).name != "dockerd":
            continue
        hosts = [value for flag, value in itertools.pairwise(argv)
                 if flag in ("-H", "--host")]
        hosts += [a.split("=", 1)[1] for a in argv if a.startswith(("-H=", "--host="))]
        if host in hosts or (not hosts and host == DEFAULT_HOST):
            return int(entry.name), argv
    return None


def _start_dockerd(argv: list[str]) -> None:
    """As scripts/setup.sh does (`nohup dockerd >/var/log/dockerd.log 2>&1 &`), in a session of
    its own so that nothing of this test's process group takes it down; another engine's log
    goes beside its pid file."""
    pidfile = next((value for flag, value in itertools.pairwise(argv)
                    if flag in ("-p", "--pidfile")), None)
    log_path = Path(pidfile).with_name("dockerd.log") if pidfile else DOCKERD_LOG
    with log_path.open("ab") as log:
        _engines_started.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT,
                                                 start_new_session=True))


def _restart_engine(measured: list[dict[str, float]]) -> None:
    """Stop the local dockerd (SIGTERM: it stops every container), start it again, and wait until
    `docker info` answers; each step bounded."""
    found = _local_dockerd()
    assert found is not None, "the local dockerd went away"
    pid, argv = found
    began = time.monotonic()
    os.kill(pid, 15)
    try:
        wait_for(lambda: not _alive(pid), timeout=60, interval=0.05, what="dockerd to stop")
    finally:
        if _alive(pid):
            os.kill(pid, 9)
            wait_for(lambda: not _alive(pid), timeout=10, interval=0.05, what="dockerd to die")
        stopped = time.monotonic()
        _start_dockerd(argv)
        wait_for(_engine_answers, timeout=60, interval=0.2, what="the restarted engine to answer")
    measured.append({"stop_seconds": round(stopped - began, 2),
                     "start_seconds": round(time.monotonic() - stopped, 2)})


@pytest.fixture
def restartable_engine() -> object:
    """The local dockerd serving DOCKER_HOST, restored whatever the test does. Opt-in: a restart
    stops every container on the engine, other tests' included (a private engine for the test:
    `dockerd -H unix:///tmp/d/docker.sock --data-root ... --exec-root ... --pidfile ...` with the
    runner image loaded, and DOCKER_HOST pointing at it)."""
    if os.environ.get(RESTART_OPT_IN) != "1":
        pytest.skip(f"restarts the Docker Engine (every container on it stops): set "
                    f"{RESTART_OPT_IN}=1 to run it, as root, where nothing else uses the engine")
    found = _local_dockerd()
    if os.geteuid() != 0 or found is None:
        pytest.fail(f"{RESTART_OPT_IN}=1 needs root and the dockerd serving DOCKER_HOST running "
                    "on this machine (as scripts/setup.sh starts it)", pytrace=False)
    yield found
    if not _engine_answers():  # never leave the machine without its engine
        if _local_dockerd() is None:
            _start_dockerd(found[1])
        wait_for(_engine_answers, timeout=60, interval=0.2, what="the engine to answer again")


@pytest.mark.docker
@pytest.mark.timeout(420)
def test_the_engine_restarted_in_build_and_in_serve_is_retried_to_the_same_score(
        tmp_path: Path, assignments_dir: Path, paced_reference: Path, runner_image: str,
        restartable_engine: object) -> None:
    """What happened for real to a fraud_detection reference (graded 0 for a build the engine
    lost): the same grading now retries, and ends as an undisturbed grading does."""
    measured: list[dict[str, float]] = []
    disturbed, undisturbed, job, graders, log = _disturbed_then_undisturbed(
        tmp_path, assignments_dir, paced_reference, runner_image,
        lambda _container: _restart_engine(measured),
        GRADER_MAX_ATTEMPTS="5", GRADER_RETRY_BACKOFF_SECONDS="2")
    retried = [line for line in log.splitlines() if "-> queued" in line]
    print("engine restarts:", measured, f"attempts: {job['attempts']}, totals: "
          f"{disturbed['result']['total']} vs {undisturbed['result']['total']}", "retried:",
          *retried, sep="\n")
    assert undisturbed["status"] == "graded" and undisturbed["result"]["total"] == 100.0
    assert disturbed["status"] == "graded"
    assert disturbed["result"]["total"] == undisturbed["result"]["total"]
    assert job["state"] == "done" and job["attempts"] >= 3
    assert "the build phase could not run" in retried[0]
    assert any("serve: behaviour phase could not run" in line for line in retried[1:])
    assert _our_containers(sorted(graders)) == []
