"""``Container._classify``: how a container's end becomes an ``Outcome`` (no container started)."""

from __future__ import annotations

import docker
import pytest

from sandbox import Limits, Outcome
from sandbox import _container as container_module
from sandbox._container import Container

# A client that is never called: with its API version given, making it does not reach an engine.
UNUSED_CLIENT = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")


def container(runtime: str, host_tasks: int | None) -> Container:
    made = Container(client=UNUSED_CLIENT, image="unused", command=["true"],
                     limits=Limits(pids=64, runtime=runtime))
    made._host_tasks = host_tasks
    return made


@pytest.mark.parametrize(("runtime", "host_tasks", "expected"), [
    # gVisor's kernel aborts with Go's exit code 2 when its host-task budget is reached between
    # two samples: with the tasks last seen high, that is the process limit...
    ("runsc", 1000, Outcome.PROCESS_LIMIT),
    # ...and otherwise a candidate's own exit code 2 (pytest's, argparse's).
    ("runsc", 60, Outcome.NONZERO_EXIT),
    ("runsc", None, Outcome.NONZERO_EXIT),
    ("runc", None, Outcome.NONZERO_EXIT),
])
def test_exit_code_2_is_a_process_limit_only_when_gvisor_ran_out_of_host_tasks(
    runtime: str, host_tasks: int | None, expected: Outcome
) -> None:
    assert container(runtime, host_tasks)._classify(2, False) is expected


def test_a_kill_reason_and_oom_come_before_the_exit_code() -> None:
    made = container("runsc", 1000)
    assert made._classify(137, True) is Outcome.OOM
    made.kill(Outcome.TIMEOUT)  # no container id: only the reason is recorded
    assert made._classify(2, False) is Outcome.TIMEOUT


def test_a_late_oom_event_counts_only_for_a_sigkill_nobody_in_the_grader_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under gVisor the engine's "oom" event can follow the exit (see ``_oom_reported``)."""
    monkeypatch.setattr(container_module, "EVENTS_GRACE_SECONDS", 0.01)
    made = container("runsc", None)
    assert made._oom_reported(137) is False  # no event came
    made._oom_event.set()
    assert made._oom_reported(137) is True
    # A process that exited by itself after one of its children was OOM-killed chose to.
    assert made._oom_reported(0) is False and made._oom_reported(1) is False
    made.kill(Outcome.TIMEOUT)  # the grader's own kill stands
    assert made._oom_reported(137) is False
