"""Test kit for the service: a throwaway PostgreSQL, `grader serve`/`grader worker` processes,
submission zips. Used by tests/service, tests/web, tests/store and bench/api_load.py."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

# The folder that holds this package: on a grading child's PYTHONPATH, it makes the fakes below
# importable by name (GRADER_WORKER_GRADER).
TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
GRADER = Path(sys.executable).with_name("grader")
PASSWORD = "correct horse battery staple"
REVIEWER = "reviewer@example.com"
FAKE_GRADER = "support.fakes:fast_grade"
UPLOAD_CAP = 256 * 1024  # the web tests' servers take zips up to this size


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- PostgreSQL ----------------------------------------------------------------------------------

def _pg_bin() -> Path:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=True).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed (no initdb); run `bash scripts/setup.sh`, "
                    "which installs Debian's postgresql", pytrace=False)
    return found[-1].parent


@dataclass
class Postgres:
    """A private cluster on 127.0.0.1 in a temp folder, run as `postgres` when we are root."""

    port: int
    folder: Path
    as_user: list[str]
    bindir: Path
    databases: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://grader@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://grader@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D",
                        str(self.folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


_postgres: Postgres | None = None


def postgres() -> Postgres:
    """The session's one PostgreSQL server, started on first use; fails (never skips)."""
    global _postgres
    if _postgres is not None:
        return _postgres
    bindir = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="grader-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data, log = folder / "data", folder / "server.log"
    steps = [
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "grader", "-A", "trust",
         "--no-sync", "-E", "UTF8"],
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
         "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
         "start"],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            pytest.fail(f"PostgreSQL could not be started: {' '.join(step[:4])}... exited "
                        f"{result.returncode}: {result.stderr.strip()} {server_log[-2000:]}",
                        pytrace=False)
    _postgres = Postgres(port=port, folder=folder, as_user=as_user, bindir=bindir)
    atexit.register(_postgres.stop)
    return _postgres


def database_url(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'grader.db'}"
    server = postgres()
    return server.url(server.create_database())


# --- processes -----------------------------------------------------------------------------------

def service_env(*, data_dir: Path, assignments_dir: Path, database_url: str, port: int = 0,
                fake: bool = True, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GRADER_")}
    env.update({
        "GRADER_DATA_DIR": str(data_dir), "GRADER_ASSIGNMENTS_DIR": str(assignments_dir),
        "GRADER_DATABASE_URL": database_url, "GRADER_HOST": "127.0.0.1",
        "GRADER_PORT": str(port), "GRADER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GRADER_POLL_SECONDS": "0.2", "GRADER_LIMITS__CPUS": "1",
        "GRADER_RETRY_BACKOFF_SECONDS": "0.5",
        # Tests' webhook and ATS receivers listen on 127.0.0.1.
        "GRADER_DELIVERIES__PRIVATE_NETWORKS": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS),
                                                     os.environ.get("PYTHONPATH")])),
    })
    if fake:
        env["GRADER_WORKER_GRADER"] = FAKE_GRADER
    env.update(extra)
    return env


class Process:
    """A `grader serve` or `grader worker` process, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen([str(GRADER), *self.args], env=self.env, cwd=REPO,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


class Server(Process):
    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(["serve"], env, log)
        self.base = f"http://127.0.0.1:{env['GRADER_PORT']}"

    def start(self, timeout: float = 60) -> Server:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"grader serve exited {self.proc.returncode}:\n{self.output()}",
                            pytrace=False)
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"grader serve did not answer within {timeout}s:\n{self.output()}",
                    pytrace=False)

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, **options)


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    result = subprocess.run([str(GRADER), *args], env=env, cwd=REPO, input=stdin,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"grader {' '.join(args)}: {result.stderr}"
    return result.stdout


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- submissions ---------------------------------------------------------------------------------

def solution_zip(source: str = "", **directives: float) -> bytes:
    """A zip holding solution.py with the fake grader's directives (and any source)."""
    lines = [f"# {name.replace('_', '-')}: {value}" for name, value in directives.items()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("solution.py", "\n".join(lines) + "\n" + textwrap.dedent(source))
        archive.writestr("README.md", "my submission\n")
    return buffer.getvalue()


def folder_zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def wait_for(predicate, *, timeout: float, interval: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def upload(client: httpx.Client, token: str, data: bytes) -> httpx.Response:
    return client.post(f"/api/candidate/{token}/submissions", content=data,
                       headers={"content-type": "application/zip"})


def wait_final(client: httpx.Client, token: str, submission_id: int, timeout: float = 60
               ) -> dict:
    def final():
        body = client.get(f"/api/candidate/{token}/submissions/{submission_id}").json()
        return body if body["final"] else None
    return wait_for(final, timeout=timeout, what=f"submission {submission_id} to be graded")


def login(client: httpx.Client, email: str = REVIEWER, password: str = PASSWORD) -> str:
    response = client.post("/api/review/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]
