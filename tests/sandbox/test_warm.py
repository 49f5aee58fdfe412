"""Warm sessions: the stack imported ahead, and still nothing of the candidate's runs before its
phase, and nothing of one submission reaches the next.

The in-process tests check which modules the agent would import ahead of a submission (reading
its source as text); the Docker ones run real sessions under both runtimes and look into the
container from the trusted side (``docker exec``) while it waits for its phase.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import docker
import pytest

import sandbox
from grader.settings import Settings
from sandbox import Limits, Outcome, SessionSpec
from sandbox.agent.agent import modules_to_preload
from tests.sandbox.conftest import our_containers

LIMITS = Limits(memory="1g", cpus=1.0, timeout=120)
WARM_SECONDS = 120.0  # the pre-import's own bound here (under gVisor on a busy host: seconds)


def write_submission(folder: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    sandbox.make_readable(folder)
    return folder


# which modules are imported ahead (in process) ----------------------------------------------


def test_only_allowed_packages_the_source_imports_are_preloaded(tmp_path: Path) -> None:
    submission = write_submission(tmp_path, {
        "solution.py": """
            import json
            import torch as t
            from sklearn.linear_model import LogisticRegression
            from . import sibling
            def later():
                from sentence_transformers import SentenceTransformer
        """,
        "helpers/__init__.py": "import transformers\n",
        "notes.py": "this is not python (\n",
    })
    wanted = modules_to_preload(str(submission), {"torch", "sklearn", "transformers",
                                                  "sentence_transformers", "pandas"})
    assert wanted == ["torch", "sklearn.linear_model",
                      "sklearn.linear_model.LogisticRegression", "sentence_transformers",
                      "sentence_transformers.SentenceTransformer", "transformers"]


def test_a_package_the_submission_ships_itself_is_not_preloaded(tmp_path: Path) -> None:
    submission = write_submission(tmp_path, {
        "solution.py": "import torch\nimport numpy\nimport sklearn\n",
        "torch.py": "",
        "numpy/__init__.py": "",
        # A folder without __init__ is a namespace portion: the installed package still wins.
        "sklearn/data.csv": "",
    })
    assert modules_to_preload(str(submission), {"torch", "numpy", "sklearn"}) == ["sklearn"]


def test_preload_names_packages_not_strings_or_submodules(tmp_path: Path) -> None:
    # Refused when the session is described, before any container is made: no engine needed.
    for bad in ("torch", ["torch.nn"], ["torch", ""], None):
        with pytest.raises(ValueError, match="module name"):
            SessionSpec(image="no-such-image", limits=LIMITS, submission=tmp_path, preload=bad)


# Docker: sessions ------------------------------------------------------------------------------


def tmp_listing(client: docker.DockerClient) -> list[str]:
    """/tmp of this test's one sandbox container, read from the trusted side."""
    [name] = our_containers(client)
    exec_id = client.api.exec_create(name, ["ls", "-A", "/tmp"], user="10001:10001")
    return client.api.exec_start(exec_id).decode().split()


MARK = """\
import os
os.makedirs("/tmp/markers", exist_ok=True)
open("/tmp/markers/{name}", "w").close()
"""

HOOKED = {
    "solution.py": MARK.format(name="solution") + textwrap.dedent("""
        import numpy, sklearn, threadpoolctl, torch
        def markers():
            return sorted(os.listdir("/tmp/markers"))
    """),
    # Each of these runs if the submission is on sys.path (or is the working directory) while
    # the stack imports: a module the stack imports on its way, one named as a preloaded
    # package, and the interpreter's start-up hooks.
    "threadpoolctl.py": MARK.format(name="threadpoolctl"),
    "torch.py": MARK.format(name="torch"),
    "sitecustomize.py": MARK.format(name="sitecustomize"),
    "usercustomize.py": MARK.format(name="usercustomize"),
    "hook.pth": 'import os; os.makedirs("/tmp/markers", exist_ok=True); '
                'open("/tmp/markers/pth", "w").close()\n',
}


@pytest.mark.docker
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("host_unharmed")
def test_no_code_of_the_candidates_runs_before_its_phase(
        runner_image: str, runtime: str, tmp_path: Path,
        docker_client: docker.DockerClient) -> None:
    submission = write_submission(tmp_path, HOOKED)
    with sandbox.start_session(SessionSpec(image=runner_image,
                                           limits=LIMITS.tightened(runtime=runtime),
                                           submission=submission)) as pending:
        imported = pending.wait_warm(WARM_SECONDS)
        assert "markers" not in tmp_listing(docker_client)
        # The stack is imported (their torch.py shadows torch, so that is theirs to import).
        assert imported == ["numpy", "sklearn"]
        with pending.open() as session:
            # In its phase, their modules win over the preloaded ones, as they would cold; the
            # start-up hooks never run.
            assert session.call("markers") == ["solution", "threadpoolctl", "torch"]


LEAVE_AND_LOOK = """
    import builtins, os, re, sys
    import numpy

    def state():
        fds = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds[fd] = re.sub(r"\\d+", "N", os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the listing's own descriptor, closed by now
                pass
        return {
            "tmp": sorted(os.listdir("/tmp")),
            "work": sorted(os.listdir("/work")),
            "env": dict(os.environ),
            "fds": fds,
            "left": [m.__name__ for m in (builtins, numpy, sys) if hasattr(m, "LEFT_BY_A")],
            "module_global": "LEFT_BY_A" in globals(),
        }
"""

FIRST = LEAVE_AND_LOOK + """
    kept = []

    def leave():
        global LEFT_BY_A
        LEFT_BY_A = True
        for module in (builtins, numpy, sys):
            module.LEFT_BY_A = True
        os.environ["LEFT_BY_A"] = "1"
        for folder in ("/tmp", "/work"):
            with open(f"{folder}/left-by-a", "w") as file:
                file.write("a")
        kept.append(open("/tmp/left-by-a"))
"""


@pytest.mark.docker
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("host_unharmed")
def test_a_warm_session_holds_nothing_of_the_submission_before_it(
        runner_image: str, runtime: str, tmp_path: Path) -> None:
    limits = LIMITS.tightened(runtime=runtime)
    first = write_submission(tmp_path / "a", {"solution.py": FIRST})
    second = write_submission(tmp_path / "b", {"solution.py": LEAVE_AND_LOOK})
    # The next submission's session is started (and warm) while the first one runs.
    with sandbox.start_session(SessionSpec(image=runner_image, limits=limits,
                                           submission=first)) as a_pending, \
            sandbox.start_session(SessionSpec(image=runner_image, limits=limits,
                                              submission=second)) as b_pending:
        with a_pending.open() as a:
            clean = a.call("state")
            a.call("leave")
            left = a.call("state")
        assert b_pending.wait_warm(WARM_SECONDS) == ["numpy"]
        with b_pending.open() as b:
            seen = b.call("state")
    for key in clean:  # what the first left is there to be seen, in its own session
        assert left[key] != clean[key], key
    assert seen == clean


@pytest.mark.docker
@pytest.mark.timeout(120)
@pytest.mark.usefixtures("host_unharmed")
def test_a_pending_sessions_clock_starts_when_it_opens(runner_image: str,
                                                        tmp_path: Path) -> None:
    submission = write_submission(tmp_path, {"solution.py": "def one():\n    return 1\n"})
    limits = Limits(memory="256m", cpus=1.0, timeout=3)
    with sandbox.start_session(SessionSpec(image=runner_image, limits=limits,
                                           submission=submission)) as pending:
        pending.wait_warm(WARM_SECONDS)
        time.sleep(limits.timeout + 1)  # a wait longer than the phase may last
        with pending.open() as session:
            assert session.call("one") == 1
    assert session.result is not None and session.result.outcome is Outcome.OK
    assert session.result.wall_seconds < limits.timeout


def test_the_deployments_switch_turns_every_preload_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().session_preload(["faiss"]) == (*sandbox.RUNNER_MODULES, "faiss")
    monkeypatch.setenv("GRADER_WARM_SESSIONS", "false")
    assert Settings().session_preload(["faiss"]) == ()


@pytest.mark.docker
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("host_unharmed")
def test_running_out_of_memory_while_importing_ahead_is_the_candidates_as_it_is_cold(
        runner_image: str, tmp_path: Path) -> None:
    # Only the modules their own source imports are imported ahead, within their phase's
    # limits: the outcome is the one the same import gets in the phase, never the grader's error.
    submission = write_submission(tmp_path, {"solution.py": "import torch, sklearn\n"})
    limits = Limits(memory="128m", cpus=1.0, timeout=120)
    with pytest.raises(sandbox.SessionClosed) as cold, sandbox.open_session(SessionSpec(
            image=runner_image, limits=limits, submission=submission, preload=())):
        pytest.fail("torch imported in 128 MiB")
    with sandbox.start_session(SessionSpec(image=runner_image, limits=limits,
                                           submission=submission)) as pending:
        assert pending.wait_warm(WARM_SECONDS) is None  # ended: open() says how
        with pytest.raises(sandbox.SessionClosed) as warm, pending.open():
            pytest.fail("torch imported in 128 MiB")
    assert cold.value.outcome == warm.value.outcome == Outcome.OOM


@pytest.mark.docker
@pytest.mark.timeout(120)
@pytest.mark.usefixtures("host_unharmed")
def test_a_session_left_waiting_past_its_wait_limit_is_the_graders_error(
        runner_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox._session, "PRESTART_WAIT_SECONDS", 1.0)
    submission = write_submission(tmp_path, {"solution.py": "def one():\n    return 1\n"})
    with sandbox.start_session(SessionSpec(image=runner_image, limits=LIMITS,
                                           submission=submission)) as pending:
        time.sleep(3)
        with pytest.raises(sandbox.EngineFailed) as caught, pending.open():
            pytest.fail("a session killed while it waited was opened")
    assert caught.value.result is not None
    assert caught.value.result.outcome is Outcome.INFRASTRUCTURE_ERROR
