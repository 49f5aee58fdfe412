"""Run one command in a fresh hardened container and report what happened."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import docker.errors
import requests.exceptions

from sandbox._container import Container, ReadOnlyMount
from sandbox._engine import engine_client
from sandbox._errors import SandboxError
from sandbox._limits import Limits
from sandbox._result import CapturedOutput, Outcome, RunResult


def run_command(
    command: Sequence[str],
    *,
    image: str,
    limits: Limits,
    mounts: Sequence[ReadOnlyMount] = (),
    env: Mapping[str, str] | None = None,
    working_dir: str = "/tmp",
) -> RunResult:
    """Run ``command`` with stdin closed; never raises for what the command itself does."""
    try:
        with Container(client=engine_client(), image=image, command=command, limits=limits,
                       mounts=mounts, env=env, working_dir=working_dir) as container:
            return container.wait()
    except (SandboxError, docker.errors.DockerException,
            requests.exceptions.RequestException) as exc:
        return infrastructure_failure(f"the container could not be run: {exc}")


def infrastructure_failure(message: str) -> RunResult:
    empty = CapturedOutput(text="", total_bytes=0, truncated=False)
    return RunResult(outcome=Outcome.INFRASTRUCTURE_ERROR, exit_code=None, stdout=empty,
                     stderr=empty, wall_seconds=0.0, cpu_seconds=None, peak_memory_bytes=None,
                     message=message)
