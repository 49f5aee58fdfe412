"""Reaping: a container outlives its owner only until a worker next looks."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

import sandbox

# Starts a container and leaves it behind, as a worker killed mid-grading would; then either exits
# (its parent does not wait, so it stays a zombie) or keeps running.
OWNER = """
import os, sys, time
from sandbox import Limits, engine_client
from sandbox._container import Container
container = Container(client=engine_client(), image=sys.argv[1], command=["sleep", "60"],
                      limits=Limits(timeout=120))
container.__enter__()
print(container.id, flush=True)
if sys.argv[2] == "exit":
    os._exit(0)
time.sleep(120)
"""


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def owner(request: pytest.FixtureRequest, runner_image: str,
          docker_client: docker.DockerClient) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([sys.executable, "-c", OWNER, runner_image, request.param],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    container_id = process.stdout.readline().strip()
    try:
        yield process, container_id
    finally:
        process.kill()
        process.wait()
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(container_id, force=True)


@pytest.mark.docker
@pytest.mark.parametrize("owner", ["exit"], indirect=True)
def test_a_container_whose_owner_is_a_zombie_is_reaped(
        owner: tuple[subprocess.Popen[str], str], docker_client: docker.DockerClient) -> None:
    process, container_id = owner
    deadline = time.monotonic() + 10
    while _state(process.pid) != "Z":
        assert time.monotonic() < deadline, "the owner did not exit"
        time.sleep(0.05)

    assert container_id in sandbox.reap_orphans()
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_container(container_id)


@pytest.mark.docker
@pytest.mark.parametrize("owner", ["stay"], indirect=True)
def test_a_container_whose_owner_runs_is_left_alone(
        owner: tuple[subprocess.Popen[str], str], docker_client: docker.DockerClient) -> None:
    process, container_id = owner
    assert process.poll() is None

    assert container_id not in sandbox.reap_orphans()
    assert docker_client.api.inspect_container(container_id)["State"]["Running"]
