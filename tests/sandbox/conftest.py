"""Fixtures for the hostile-program suite: tight limits and a check that the host is unharmed."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator

import docker
import pytest

import sandbox
from sandbox._container import OWNER_PID_LABEL

# Small enough that every limit is reached in well under a second or two on 2 cores.
TIGHT = sandbox.Limits(
    memory="256m",
    cpus=1.0,
    pids=64,
    open_files=64,
    file_size="4m",
    tmp_size="16m",
    tmp_inodes=500,
    work_size="16m",
    work_inodes=500,
    shm_size="16m",
    timeout=5,
    log_bytes="64k",
    output_bytes="4m",
)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


def our_containers(client: docker.DockerClient) -> list[str]:
    """Sandbox containers made by this test process (other workers may share the engine)."""
    labels = [sandbox.LABEL, f"{OWNER_PID_LABEL}={os.getpid()}"]
    return [c.name for c in client.containers.list(all=True, filters={"label": labels})]


@pytest.fixture
def host_unharmed(runner_image: str, docker_client: docker.DockerClient) -> Iterator[None]:
    """After the test: no sandbox container is left, and this process can still fork and open."""
    assert our_containers(docker_client) == [], "a container was left over by an earlier test"
    yield
    assert our_containers(docker_client) == [], "the sandbox left a container behind"
    assert subprocess.run(["true"], check=False, timeout=10).returncode == 0
    with open(os.devnull) as devnull:
        assert devnull.fileno() > 2


RUNTIMES = ("runc", "runsc")


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> str:
    """Every hostile program runs under both isolation tiers, with the same expected outcomes."""
    name = request.param
    if name not in (docker_client.info().get("Runtimes") or {}):
        pytest.fail(f"the engine has no {name} runtime; run `bash scripts/setup.sh --with-gvisor`",
                    pytrace=False)
    return name


@pytest.fixture
def tight(runtime: str) -> sandbox.Limits:
    return TIGHT.tightened(runtime=runtime)


RunPy = Callable[..., tuple[sandbox.RunResult, float]]


@pytest.fixture
def run_py(runner_image: str, tight: sandbox.Limits) -> RunPy:
    """Run Python source (dedented) with ``python3 -c`` under ``tight`` unless told otherwise;
    return the result and the seconds it took on the host."""

    def run(
        source: str,
        *args: str,
        limits: sandbox.Limits | None = None,
        mounts: tuple[sandbox.ReadOnlyMount, ...] = (),
    ) -> tuple[sandbox.RunResult, float]:
        started = time.monotonic()
        result = sandbox.run_command(
            ["python3", "-c", textwrap.dedent(source), *args],
            image=runner_image,
            limits=limits or tight,
            mounts=mounts,
        )
        return result, time.monotonic() - started

    return run
