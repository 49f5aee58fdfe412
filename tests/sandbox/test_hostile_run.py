"""Hostile programs run with ``run_command`` against the real engine.

Each program attacks one limit and reports what it saw as one JSON line on stdout; the test checks
the ``Outcome``, what the program saw, and (through the ``host_unharmed`` fixture) that no
container is left and this process is fine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from sandbox import LABEL, Limits, Outcome, ReadOnlyMount, RunResult
from sandbox._container import OWNER_PID_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed")]

RunPy = Callable[..., tuple[RunResult, float]]  # the conftest's run_py fixture

# Killing and removing a container takes well under this on a healthy engine.
GRACE = 10.0


def report(result: RunResult) -> Any:
    """The JSON the hostile program printed last."""
    lines = result.stdout.text.strip().splitlines()
    assert lines, f"the program printed nothing: {result.message}; stderr {result.stderr.text!r}"
    return json.loads(lines[-1])


# resources -----------------------------------------------------------------------------------

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


@pytest.mark.timeout(60)
def test_fork_bomb_is_contained_by_the_pids_limit(run_py: RunPy, tight: Limits) -> None:
    limits = tight.tightened(timeout=3)
    result, elapsed = run_py(FORK_BOMB, limits=limits)
    assert result.outcome is not Outcome.OK
    if limits.runtime == "runc":
        assert result.outcome in (Outcome.TIMEOUT, Outcome.OOM), result
    else:
        # gVisor: the bomb's processes also grow the sandbox kernel's host tasks, which cost memory
        # and are stopped at their budget; never the kernel's own abort (exit 2, "nonzero_exit").
        assert result.outcome in (Outcome.TIMEOUT, Outcome.OOM, Outcome.PROCESS_LIMIT), result
    assert elapsed < limits.timeout + GRACE


COUNT_PROCESSES = """
import errno, json, os, sys, time
started = 1  # this process
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
except OSError as exc:
    print(json.dumps({"errno": errno.errorcode[exc.errno], "started": started}), flush=True)
"""


@pytest.mark.timeout(60)
def test_processes_past_the_pids_limit_are_refused_with_eagain(run_py: RunPy,
                                                                tight: Limits) -> None:
    # The same limit seen from inside under both runtimes: runc's pids cgroup, gVisor's
    # RLIMIT_NPROC (which its kernel counts per sandbox, not per host uid). 32: under gVisor a
    # process costs more memory (64 idle Pythons do not fit in 256 MiB there).
    limits = tight.tightened(pids=32)
    result, _ = run_py(COUNT_PROCESSES, limits=limits)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert seen["errno"] == "EAGAIN"
    assert limits.pids // 2 < seen["started"] < limits.pids  # the init process counts too


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runtime", ["runsc"], indirect=True)
def test_a_fork_bomb_that_outgrows_gvisors_host_budget_is_a_process_limit(
    run_py: RunPy, tight: Limits
) -> None:
    # gVisor only: a fork bomb capped by RLIMIT_NPROC still grows the sandbox kernel's host
    # threads; the container is stopped and reported as a process limit before the pids cgroup
    # would make Go's runtime abort the kernel (exit code 2). Memory to spare, so the budget bites.
    limits = Limits.model_validate({**tight.model_dump(), "pids": 32, "timeout": 30})
    result, elapsed = run_py(FORK_BOMB, limits=limits)
    assert result.outcome is Outcome.PROCESS_LIMIT, result
    assert result.message == "started more processes than the sandbox allows and was stopped"
    assert result.wall_seconds < limits.timeout
    assert elapsed < limits.timeout + GRACE


MEMORY_BOMB = """
blocks = []
while True:
    blocks.append(b"m" * (16 * 1024 * 1024))  # written, so the pages are really used
"""


@pytest.mark.timeout(60)
def test_memory_past_the_limit_is_oom(run_py: RunPy, tight: Limits) -> None:
    result, elapsed = run_py(MEMORY_BOMB)
    assert result.outcome is Outcome.OOM, result
    assert elapsed < tight.timeout + GRACE


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "source",
    [
        pytest.param("while True:\n    pass\n", id="busy-loop"),
        pytest.param("import time\ntime.sleep(10 ** 6)\n", id="sleep-forever"),
        pytest.param("import threading\nthreading.Event().wait()\n", id="wait-forever"),
    ],
)
def test_running_past_the_timeout_is_timeout(run_py: RunPy, tight: Limits, source: str) -> None:
    limits = tight.tightened(timeout=2)
    result, elapsed = run_py(source, limits=limits)
    assert result.outcome is Outcome.TIMEOUT, result
    assert limits.timeout <= elapsed < limits.timeout + GRACE
    assert result.wall_seconds >= limits.timeout


@pytest.mark.timeout(60)
def test_stdin_is_closed(run_py: RunPy, tight: Limits) -> None:
    result, _ = run_py("""
        import json, sys
        print(json.dumps(sys.stdin.read()))
    """)
    assert result.outcome is Outcome.OK, result
    assert report(result) == ""


FLOOD = """
import os, sys
chunk = b"y" * (1 << 20)
stream = sys.stdout.buffer if sys.argv[1] == "stdout" else sys.stderr.buffer
for _ in range(1024):  # 1 GiB
    stream.write(chunk)
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_gigabyte_of_output_is_cut_at_the_output_limit(
    run_py: RunPy, tight: Limits, stream: str
) -> None:
    result, elapsed = run_py(FLOOD, stream)
    assert result.outcome is Outcome.OUTPUT_LIMIT, result
    captured = getattr(result, stream)
    assert captured.truncated
    assert tight.output_bytes < captured.total_bytes < 1024**3 // 4
    # The head and tail kept, plus one line saying how much was cut.
    assert len(captured.text.encode()) <= tight.log_bytes + 100
    assert captured.text.startswith("yyyy") and "bytes cut" in captured.text
    assert result.wall_seconds < tight.timeout  # stopped by the output cap, not the timer
    assert elapsed < tight.timeout + GRACE


FILL_DIR = """
import errno, json, os, sys
directory, written, files = sys.argv[1], 0, 0
try:
    while True:
        with open(os.path.join(directory, f"fill{files}"), "wb") as f:
            files += 1
            for _ in range(16):
                f.write(b"z" * 65536)
                f.flush()
                written += 65536
except OSError as exc:
    print(json.dumps({"errno": errno.errorcode[exc.errno], "written": written}))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("directory", "size_limit"),
    [("/tmp", "tmp_size"), ("/work", "work_size"), ("/dev/shm", "shm_size")],
)
def test_filling_a_writable_dir_hits_enospc(
    run_py: RunPy, tight: Limits, directory: str, size_limit: str
) -> None:
    size = getattr(tight, size_limit)
    result, _ = run_py(FILL_DIR, directory)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert seen["errno"] == "ENOSPC"
    assert size // 2 <= seen["written"] <= size


MANY_FILES = """
import errno, json, os
made = 0
try:
    for made in range(1_000_000):
        open(f"/tmp/f{made}", "w").close()
except OSError as exc:
    print(json.dumps({"errno": errno.errorcode[exc.errno], "made": made}))
"""


@pytest.mark.timeout(60)
def test_a_million_tiny_files_hit_the_inode_limit(run_py: RunPy, tight: Limits) -> None:
    if tight.runtime == "runsc":
        # gVisor's tmpfs ignores nr_inodes: the files live in the sandbox kernel's memory, so the
        # memory limit and the timeout bound them (a few thousand files a second there).
        limits = tight.tightened(timeout=2)
        result, elapsed = run_py(MANY_FILES, limits=limits)
        assert result.outcome in (Outcome.TIMEOUT, Outcome.OOM), result
        assert elapsed < limits.timeout + GRACE
        return
    result, _ = run_py(MANY_FILES)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert seen["errno"] == "ENOSPC"
    assert seen["made"] <= tight.tmp_inodes


BIG_FILE = """
import errno, json, signal, sys
if sys.argv[1] == "default-signal":
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # what a C program gets: killed by SIGXFSZ
written = 0
try:
    with open("/tmp/big", "wb", buffering=0) as f:
        while True:
            written += f.write(b"b" * 65536)
except OSError as exc:
    print(json.dumps({"errno": errno.errorcode[exc.errno], "written": written}))
"""


@pytest.mark.timeout(60)
def test_one_file_past_the_file_size_limit_gets_efbig(run_py: RunPy, tight: Limits) -> None:
    limits = tight.tightened(file_size="1m")  # below the 16m /tmp, so fsize bites first
    result, _ = run_py(BIG_FILE, "python-ignores-sigxfsz", limits=limits)
    assert result.outcome is Outcome.OK, result
    assert report(result) == {"errno": "EFBIG", "written": limits.file_size}


@pytest.mark.timeout(60)
def test_one_file_past_the_file_size_limit_is_killed_by_sigxfsz(
    run_py: RunPy, tight: Limits
) -> None:
    limits = tight.tightened(file_size="1m")
    result, _ = run_py(BIG_FILE, "default-signal", limits=limits)
    assert result.outcome is Outcome.KILLED, result
    assert result.exit_code == 128 + 25  # SIGXFSZ
    assert result.stdout.text == ""


@pytest.mark.timeout(60)
def test_file_descriptors_run_out_at_the_nofile_limit(run_py: RunPy, tight: Limits) -> None:
    result, _ = run_py("""
        import errno, json
        held = []
        try:
            while True:
                held.append(open("/dev/null"))
        except OSError as exc:
            print(json.dumps({"errno": errno.errorcode[exc.errno], "held": len(held)}))
    """)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert seen["errno"] == "EMFILE"
    assert 0 < seen["held"] <= tight.open_files


# the filesystem ------------------------------------------------------------------------------

READ_ONLY_TARGETS = [
    ("/evil", "w"),
    ("/etc/passwd", "a"),
    ("/etc/evil", "w"),
    ("/usr/lib/evil", "w"),
    ("/opt/grader/agent/agent.py", "a"),
    ("/submission/solution.py", "a"),
    ("/submission/evil.py", "w"),
]


@pytest.mark.timeout(60)
def test_writes_outside_the_writable_dirs_are_refused(
    run_py: RunPy, tight: Limits, tmp_path: Path
) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solution.py").write_text("ANSWER = 42\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mode) for p in submission.iterdir()}
    result, _ = run_py(
        """
        import errno, json, os, sys
        seen = {}
        for path, mode in json.loads(sys.argv[1]):
            try:
                with open(path, mode) as f:
                    f.write("pwned")
                seen[path] = "written"
            except OSError as exc:
                seen[path] = errno.errorcode[exc.errno]
        for path in ("/submission/solution.py", "/etc/passwd"):
            try:
                os.chmod(path, 0o777)
                seen["chmod " + path] = "done"
            except OSError as exc:
                seen["chmod " + path] = errno.errorcode[exc.errno]
        print(json.dumps(seen))
    """,
        json.dumps(READ_ONLY_TARGETS),
        mounts=(ReadOnlyMount(submission, "/submission"),),
    )
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert set(seen) == {p for p, _ in READ_ONLY_TARGETS} | {
        "chmod /submission/solution.py",
        "chmod /etc/passwd",
    }
    for path, error in seen.items():
        assert error in ("EROFS", "EACCES", "EPERM"), f"{path}: {error}"
    assert {p.name: (p.read_bytes(), p.stat().st_mode) for p in submission.iterdir()} == before


# the network ---------------------------------------------------------------------------------


def _host_addresses(client: docker.DockerClient) -> tuple[str, str]:
    """The docker bridge's gateway, and this host's own address on its default route."""
    config = client.networks.get("bridge").attrs["IPAM"]["Config"]
    gateway = next((c["Gateway"] for c in config if "Gateway" in c), "172.17.0.1")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("1.1.1.1", 53))  # UDP: no packet is sent, the kernel only picks a route
        own = probe.getsockname()[0]
    except OSError:
        own = socket.gethostbyname(socket.gethostname())
    finally:
        probe.close()
    return gateway, own


@pytest.mark.timeout(60)
def test_no_connection_leaves_the_container(
    run_py: RunPy, tight: Limits, docker_client: docker.DockerClient
) -> None:
    gateway, own = _host_addresses(docker_client)
    listener = socket.create_server(("0.0.0.0", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[Any] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, address = listener.accept()
                connection.close()
                accepted.append(address)
            except TimeoutError:
                continue

    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    targets = [("1.1.1.1", 53), ("1.1.1.1", 443), (gateway, port), (own, port)]
    try:
        # The listener does answer on both host addresses, so silence later means something.
        for host in (gateway, own):
            socket.create_connection((host, port), timeout=5).close()
        deadline = time.monotonic() + 5
        while len(accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(accepted) == 2, "the host's own listener is unreachable: the test proves nothing"
        accepted.clear()
        result, _ = run_py(
            """
            import errno, json, socket, sys
            seen = {}
            for host, port in json.loads(sys.argv[1]):
                try:
                    socket.create_connection((host, port), timeout=2).close()
                    seen[f"tcp {host}:{port}"] = "connected"
                except OSError as exc:
                    seen[f"tcp {host}:{port}"] = type(exc).__name__
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    udp.sendto(b"hello", (host, port))
                    seen[f"udp {host}:{port}"] = "sent"
                except OSError as exc:
                    seen[f"udp {host}:{port}"] = type(exc).__name__
            try:
                socket.getaddrinfo("example.com", 443)
                seen["dns"] = "resolved"
            except OSError as exc:
                seen["dns"] = type(exc).__name__
            with open("/proc/net/dev") as f:
                seen["interfaces"] = [line.split(":")[0].strip() for line in f.readlines()[2:]]
            print(json.dumps(seen))
        """,
            json.dumps(targets),
        )
    finally:
        stop.set()
        watcher.join(timeout=5)
        listener.close()
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert seen.pop("interfaces") == ["lo"]
    assert len(seen) == 2 * len(targets) + 1
    for what, answer in seen.items():
        assert answer not in ("connected", "sent", "resolved"), f"{what}: {answer}"
    assert accepted == [], "a connection from the sandbox reached the host"


# secrets and the engine ----------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_host_secrets_are_not_in_the_environment(
    run_py: RunPy, tight: Limits, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("GRADER_TEST_SECRET", secret)
    result, _ = run_py("""
        import json, os
        seen = {"environ": dict(os.environ)}
        for pid in ("1", "self"):
            with open(f"/proc/{pid}/environ", "rb") as f:
                seen[pid] = f.read().decode(errors="replace")
        print(json.dumps(seen))
    """)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert "PATH" in seen["environ"] and "PATH=" in seen["1"]  # the reads did work
    assert secret not in result.stdout.text
    assert "GRADER_TEST_SECRET" not in result.stdout.text
    assert not any(name.startswith(("GRADER_", "DOCKER_")) for name in seen["environ"])


@pytest.mark.timeout(60)
def test_the_docker_socket_is_not_reachable(run_py: RunPy, tight: Limits) -> None:
    result, _ = run_py("""
        import json, os
        paths = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                 "/var/run/docker", "/run/docker"]
        seen = {path: os.path.exists(path) for path in paths}
        with open("/proc/self/mountinfo") as f:
            mounts = f.read()
        seen["mounted"] = "docker.sock" in mounts or "containerd" in mounts
        print(json.dumps(seen))
    """)
    assert result.outcome is Outcome.OK, result
    seen = report(result)
    assert not any(seen.values()), seen


# processes that try to outlive the container -------------------------------------------------

DAEMON = """
import os, signal, sys, time
marker, parent_seconds = sys.argv[1], float(sys.argv[2])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("python3", ["python3", "-c",
                  "import signal, time\\n"
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                  "signal.signal(signal.SIGHUP, signal.SIG_IGN)\\n"
                  "time.sleep(10 ** 6)", marker + "-daemon"])
    os._exit(0)
time.sleep(parent_seconds)
print("parent exits")
"""


def _processes_with(marker: str) -> list[str]:
    """Host processes (container processes included) whose command line mentions ``marker``."""
    # -ww: without a terminal, ps would cut command lines at 80 columns and miss the marker.
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    return [line for line in listing.splitlines() if marker in line]


SCAN_PROC = """
import os, sys
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if sys.argv[1].encode() in f.read():
                print(pid)
    except OSError:
        pass
"""


def _processes_inside(client: docker.DockerClient, marker: str) -> tuple[str | None, list[str]]:
    """Our running sandbox container's id, and its processes (read from its own /proc through
    ``docker exec``) whose command line mentions ``marker``."""
    ours = [LABEL, f"{OWNER_PID_LABEL}={os.getpid()}"]
    ids = [c.id for c in client.containers.list(filters={"label": ours})]
    if not ids:
        return None, []
    try:
        exec_id = client.api.exec_create(ids[0], ["python3", "-c", SCAN_PROC, marker])
        stdout, _ = client.api.exec_start(exec_id, demux=True)
    except docker.errors.APIError:  # it ended meanwhile
        return ids[0], []
    return ids[0], (stdout or b"").decode().split()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("parent_seconds", "outcome"),
    [
        pytest.param(2, Outcome.OK, id="parent-exits"),
        pytest.param(100, Outcome.TIMEOUT, id="parent-hangs"),
    ],
)
def test_a_daemon_that_ignores_sigterm_dies_with_the_container(
    run_py: RunPy, tight: Limits, parent_seconds: float, outcome: Outcome,
    docker_client: docker.DockerClient,
) -> None:
    marker = f"sandbox-daemon-{uuid.uuid4().hex}"
    limits = tight.tightened(timeout=4)
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(run_py(DAEMON, marker, str(parent_seconds), limits=limits)[0])
    )
    runner.start()
    seen_running = False
    container_id = None
    deadline = time.monotonic() + limits.timeout
    while runner.is_alive() and time.monotonic() < deadline:
        if limits.runtime == "runsc":
            # gVisor's guest processes live inside its kernel: the host's ps cannot see them, so
            # look from inside; afterwards, the sandbox's own host processes must be gone.
            container_id, found = _processes_inside(docker_client, f"{marker}-daemon")
            if found:  # its sandbox's host processes are up too: their absence will mean something
                assert container_id is not None and _processes_with(container_id)
        else:
            found = _processes_with(f"{marker}-daemon")
        if found:
            seen_running = True  # the daemon is up, so its absence later means something
            break
        time.sleep(0.1)
    runner.join(timeout=limits.timeout + GRACE)
    assert not runner.is_alive()
    assert seen_running, "the daemon never showed up: the check would prove nothing"
    assert results[0].outcome is outcome, results[0]
    assert _processes_with(marker) == []
    if container_id is not None:  # runsc: no runsc-sandbox, gofer or shim of it is left
        deadline = time.monotonic() + GRACE
        while _processes_with(container_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with(container_id) == []
