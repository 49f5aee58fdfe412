"""The one place that creates candidate containers.

Every container gets the same hardening from a ``Limits`` value: no network, read-only root, a
fixed non-root uid, all capabilities dropped, no new privileges, the engine's default seccomp
profile, an init process, memory with swap equal to it, a CPU quota, PID, file-descriptor, file-size
and core-dump limits, size- and inode-limited tmpfs for the only writable places, a private IPC
namespace with a fixed /dev/shm, no engine logs, an environment built here (nothing from the host),
and read-only bind mounts. The Docker socket is never mounted.

Under gVisor (``Limits.runtime == "runsc"``) the same flags apply, with two differences: the
process limit is the guest kernel's RLIMIT_NPROC, and the pids cgroup is a larger budget for the
sandbox's kernel, watched here (see ``Limits.host_pids``); and gVisor's tmpfs has no inode limit,
so the files a candidate makes there are bounded by the memory limit and the timeout instead.

Output is read from an attach stream and capped here; the trusted side enforces the wall-clock
timeout and kills. The container is removed on every path by ``Container.__exit__``, waiting out an
engine that restarts (``REMOVE_RETRY_SECONDS``); what is still left then carries the labels the
reaper looks for.

A pre-started container (``wait_seconds``) runs before its phase begins: its clock, the
wall-clock limit and the reported wall time, starts at ``start_clock()``, and until then only a
wait limit bounds it, whose kill is the grader's (``Outcome.INFRASTRUCTURE_ERROR``).

Whose end it was: the engine's events for the container are watched from before it starts. A kill
or pause that the grader did not ask for (the engine stopping its containers to stop or restart,
someone's ``docker kill``/``stop``/``rm -f``/``pause``), an events stream that ends while the
container runs (the engine went away), or an end the engine could not report is
``Outcome.INFRASTRUCTURE_ERROR``: never charged to the candidate, whatever the exit code says.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit
from docker.types.daemon import CancellableStream

from sandbox._cgroup import CgroupReader
from sandbox._errors import SandboxError
from sandbox._framing import STDOUT, MessageLines, read_frames
from sandbox._limits import Limits
from sandbox._result import OUTCOME_MESSAGES, CapturedOutput, Outcome, RunResult

LABEL = "ml-grader.sandbox"
OWNER_PID_LABEL = "ml-grader.owner-pid"
OWNER_HOST_LABEL = "ml-grader.owner-host"
DEADLINE_LABEL = "ml-grader.deadline"

# The runner image's `candidate` user and group (Dockerfile.runner): candidate code runs as it,
# and owns the writable mounts.
CANDIDATE_UID = 10001
CANDIDATE_USER = f"{CANDIDATE_UID}:{CANDIDATE_UID}"
WORK_DIR = "/work"
# Beyond the wall-clock limit, how long a kill and the engine's answer may take before the engine is
# declared unhealthy (the watchdog).
ENGINE_GRACE_SECONDS = 30.0
SAMPLE_INTERVAL_SECONDS = 0.1
# Under runsc, the share of the sandbox kernel's host-task budget (Limits.host_pids) at which the
# container is stopped as a process limit, before the cgroup refuses the kernel a thread and Go's
# runtime aborts the sandbox (measured growth: up to about 700 host tasks a second).
RUNSC_TASKS_STOP_SHARE = 0.75
# Go's runtime exits with 2 when it aborts, as the sandbox's kernel does when it cannot get a host
# thread; with the host tasks last seen above this share of the budget, that is the process limit.
RUNSC_ABORT_EXIT_CODE = 2
RUNSC_ABORT_TASKS_SHARE = 0.5
SEND_POLL_MS = 100  # how often a blocked send looks whether the container's output has ended
# How long removal keeps trying while the engine does not answer (a restart takes seconds).
REMOVE_RETRY_SECONDS = 30.0
# How long the end of a container waits for the engine's "die" event, which follows any kill.
EVENTS_GRACE_SECONDS = 2.0
# A process ended by SIGKILL (128 + 9), which is how the kernel's OOM killer ends one.
SIGKILL_EXIT_CODE = 137
# Engine events that only something outside the grader causes, besides the kills it counts.
OUTSIDE_ACTIONS = frozenset({"pause", "restart"})


@dataclass(frozen=True)
class ReadOnlyMount:
    """A host folder bind-mounted read-only; its files must be readable by the sandbox's user
    (see ``make_readable``)."""

    source: Path
    target: str


def make_readable(folder: Path) -> None:
    """Open ``folder``'s tree to the sandbox's non-root user, who reads it through a mount."""
    folder.chmod(0o755)
    for entry in folder.rglob("*"):
        entry.chmod(0o755 if entry.is_dir() else 0o644)


class _CappedBuffer:
    """Keeps the first and last halves of a stream once it passes its cap."""

    def __init__(self, cap: int) -> None:
        self._half = max(1, cap // 2)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._half - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            del self._tail[: max(0, len(self._tail) - self._half)]

    def captured(self) -> CapturedOutput:
        truncated = self.total > len(self._head) + len(self._tail)
        text = self._head.decode(errors="replace")
        if truncated:
            text += f"\n[... {self.total - len(self._head) - len(self._tail)} bytes cut ...]\n"
        text += self._tail.decode(errors="replace")
        return CapturedOutput(text=text, total_bytes=self.total, truncated=truncated)


class _Output:
    """The container's stdout and stderr, each capped at ``Limits.log_bytes``, and how many bytes
    they came to together (``Limits.output_bytes`` bounds that)."""

    def __init__(self, cap: int) -> None:
        self.stdout = _CappedBuffer(cap)
        self.stderr = _CappedBuffer(cap)
        self.produced = 0

    def add(self, kind: int, payload: bytes) -> int:
        """Keep ``payload``; the bytes produced so far."""
        (self.stdout if kind == STDOUT else self.stderr).add(payload)
        self.produced += len(payload)
        return self.produced


def candidate_environment(limits: Limits, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment a candidate sees, besides the image's own non-secret ENV lines."""
    threads = str(limits.threads)
    env = {
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        # Else MKL lowers its count to the cores it detects, and gVisor shows it one: torch then
        # runs on one thread under runsc and on two under runc, and its results may differ.
        "MKL_DYNAMIC": "FALSE",
        # OpenMP threads that spin while waiting make a busy 2-core host tens of times slower.
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONHASHSEED": "0",
    }
    env.update(extra or {})
    return env


class Container:
    """One hardened container: create, attach, start, then read, kill and remove.

    ``client`` is the engine's (``sandbox.engine_client()``); nothing here connects to it before
    ``__enter__``. With ``messages`` the container's stdin stays open and its stdout is the
    agent's protocol, cut into lines there; without, stdout is output like stderr.
    """

    def __init__(
        self,
        *,
        client: docker.DockerClient,
        image: str,
        command: Sequence[str],
        limits: Limits,
        mounts: Sequence[ReadOnlyMount] = (),
        env: Mapping[str, str] | None = None,
        messages: MessageLines | None = None,
        working_dir: str = "/tmp",
        work: Path | None = None,
        wait_seconds: float = 0.0,
    ) -> None:
        self.limits = limits
        self._client = client
        self._image = image
        self._command = list(command)
        self._mounts = list(mounts)
        self._env = candidate_environment(limits, env)
        self._messages = messages
        self._working_dir = working_dir
        # A finished build's work dir, served read-only; without one, /work is a fresh tmpfs.
        self._work = work
        # How long it may run before start_clock(): a pre-started session's wait for its phase.
        self._wait_seconds = wait_seconds
        self.id: str | None = None
        self._sock: socket.socket | None = None
        self._output = _Output(limits.log_bytes)
        self._kill_reason: Outcome | None = None
        self._kill_lock = threading.Lock()
        self._kill_requested = False
        self._done = threading.Event()
        self._output_ended = threading.Event()
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._cgroup: CgroupReader | None = None
        self._host_tasks: int | None = None  # last seen in the pids cgroup (watched under runsc)
        self._threads: list[threading.Thread] = []
        self._timer: threading.Timer | None = None
        # The engine's events for this container: kills seen vs kills the grader made.
        self._events: CancellableStream | None = None
        self._events_closing = False
        self._died = threading.Event()
        self._oom_event = threading.Event()
        self._kill_events = 0
        self._kills_made = 0
        self._outside: str | None = None  # an outside action seen, or the engine's disappearance

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Container:
        try:
            self._create_and_start()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            self._remove()
            raise SandboxError(f"the engine could not start the container: {exc}") from exc
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._remove()

    def _create_and_start(self) -> None:
        api = self._client.api
        limits = self.limits
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            init=True,
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.host_pids,
            ulimits=[
                Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                Ulimit(name="fsize", soft=limits.file_size, hard=limits.file_size),
                Ulimit(name="core", soft=0, hard=0),
                # gVisor's kernel counts this per sandbox; runc's host kernel would count it per
                # host uid, across every container of the candidate user (so there: the cgroup).
                *([Ulimit(name="nproc", soft=limits.pids, hard=limits.pids)]
                  if limits.runtime == "runsc" else []),
            ],
            tmpfs={
                "/tmp": _tmpfs(limits.tmp_size, limits.tmp_inodes, "1777"),
                **({} if self._work else
                   {WORK_DIR: _tmpfs(limits.work_size, limits.work_inodes, "0700")}),
            },
            shm_size=limits.shm_size,
            ipc_mode="private",
            log_config=LogConfig(type="none"),
            mounts=[Mount(target=m.target, source=str(m.source), type="bind", read_only=True)
                    for m in self._read_only_mounts()],
            runtime=limits.runtime,
        )
        deadline = time.time() + self._wait_seconds + limits.timeout + ENGINE_GRACE_SECONDS
        created = api.create_container(
            self._image,
            command=self._command,
            user=CANDIDATE_USER,
            environment=self._env,
            working_dir=self._working_dir,
            labels={LABEL: "1", OWNER_PID_LABEL: str(os.getpid()),
                    OWNER_HOST_LABEL: socket.gethostname(), DEADLINE_LABEL: f"{deadline:.0f}"},
            host_config=host_config,
            stdin_open=self._messages is not None,
            detach=False,
            network_disabled=True,
            hostname="sandbox",
        )
        self.id = created["Id"]
        self._watch_events(api)
        raw = api.attach_socket(self.id, params={"stdin": int(self._messages is not None),
                                                 "stdout": 1, "stderr": 1, "stream": 1})
        self._sock = getattr(raw, "_sock", raw)
        self._sock.settimeout(None)
        reader = threading.Thread(target=self._read_frames, name=f"sandbox-read-{self.id[:12]}",
                                  daemon=True)
        reader.start()
        self._threads.append(reader)
        api.start(self.id)
        self._started_at = time.monotonic()
        self._cgroup = CgroupReader(self.id)
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        self._threads.append(sampler)
        if self._wait_seconds:
            self._set_timer(self._wait_seconds, Outcome.INFRASTRUCTURE_ERROR)
        else:
            self.start_clock()

    def start_clock(self) -> None:
        """The phase begins: from now the wall-clock limit runs, and the wall time counts."""
        self._started_at = time.monotonic()
        self._set_timer(self.limits.timeout, Outcome.TIMEOUT)

    def _set_timer(self, seconds: float, reason: Outcome) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(seconds, self.kill, args=(reason,))
        self._timer.daemon = True
        self._timer.start()

    def _read_only_mounts(self) -> list[ReadOnlyMount]:
        if self._work is None:
            return self._mounts
        return [*self._mounts, ReadOnlyMount(self._work, WORK_DIR)]

    def _remove(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._done.set()
        self._close_events()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        if self.id is None:
            return
        deadline = time.monotonic() + REMOVE_RETRY_SECONDS
        while True:
            try:
                self._client.api.remove_container(self.id, force=True, v=True)
                return
            except docker.errors.NotFound:
                return
            except (docker.errors.APIError, requests.exceptions.RequestException):
                # The engine may be restarting: it keeps the container, stopped, when it is back.
                # Past the deadline it is left for the reaper (its labels: ours, and overdue).
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.5)

    # the engine's events ---------------------------------------------------------------------
    def _watch_events(self, api: docker.APIClient) -> None:
        """Follow this container's events from its creation (``since`` replays any missed)."""
        assert self.id is not None
        self._events = api.events(since=int(time.time()) - 1, decode=True,
                                  filters={"container": [self.id], "type": ["container"]})
        threading.Thread(target=self._read_events, args=(self._events,), daemon=True,
                         name=f"sandbox-events-{self.id[:12]}").start()

    def _read_events(self, stream) -> None:
        try:
            for event in stream:
                action = str(event.get("Action") or event.get("status") or "")
                with self._kill_lock:
                    if action == "kill":
                        self._kill_events += 1
                    elif action in OUTSIDE_ACTIONS:
                        self._seen_outside(f"the container was sent {action} from outside the "
                                           "grader")
                if action == "oom":
                    self._oom_event.set()
                if action == "die":
                    self._died.set()
        except Exception:  # any end of the stream is handled below
            pass
        finally:
            with self._kill_lock:
                if not self._events_closing:
                    self._seen_outside("the engine's event stream ended: the engine stopped")
            self._died.set()

    def _seen_outside(self, what: str) -> None:
        """Record the first outside action, unless the grader had stopped the container for a
        limit before it (then that reason stands). Called under the kill lock."""
        if self._outside is None and self._kill_reason in (None, Outcome.KILLED):
            self._outside = what

    def _close_events(self) -> None:
        self._events_closing = True
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()

    def _outside_end(self) -> str | None:
        """Why the container's end was neither the candidate's nor the grader's, if it was not.

        A limit the grader enforced first (a timeout, the output or process limit) stands: the
        candidate reached it before anything else happened."""
        self._died.wait(EVENTS_GRACE_SECONDS)
        with self._kill_lock:
            if self._outside is not None:
                return self._outside
            if self._kill_reason not in (None, Outcome.KILLED):
                return None
            if self._kill_events > self._kills_made:
                return ("the container was killed from outside the grader (the engine stopping "
                        "or restarting, or a docker kill, stop or rm)")
        return None

    # I/O ----------------------------------------------------------------------------------
    def send(self, data: bytes, *, timeout: float | None = None) -> None:
        """Write to the container's stdin; TimeoutError if it is not all taken within ``timeout``.

        A container that stops reading its stdin would block a plain sendall forever, past any
        call timeout, and so would one that has ended: the engine may keep taking stdin after
        the output has ended. So each write here is non-blocking, after poll says there is
        room, and a wait for room gives up when the output has ended. (The socket itself stays
        blocking: the reader thread shares it.)
        """
        assert self._sock is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._sock, select.POLLOUT)
        view = memoryview(data)
        try:
            while view:
                if self._output_ended.is_set():
                    raise SandboxError("the container's output has ended")
                if not poller.poll(SEND_POLL_MS):
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TimeoutError(f"the container did not read its stdin in {timeout:g} s")
                    continue
                try:
                    view = view[self._sock.send(view, socket.MSG_DONTWAIT):]
                except BlockingIOError:
                    continue
        except TimeoutError:
            raise
        except OSError as exc:
            raise SandboxError(f"the container's stdin is closed: {exc}") from exc

    def close_stdin(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)

    def _read_frames(self) -> None:
        assert self._sock is not None
        try:
            read_frames(self._sock, self._on_frame)
        finally:
            self._output_ended.set()
            if self._messages is not None:
                self._messages.end()

    def _on_frame(self, kind: int, payload: bytes) -> None:
        if kind == STDOUT and self._messages is not None:
            if not self._messages.feed(payload):
                # The protocol's bounds are broken: the session is, and the container is killed
                # first, so that the reason is set before the reader wakes to the violation.
                self._kill_soon(Outcome.OUTPUT_LIMIT)
                self._messages.refuse()
            return
        if self._output.add(kind, payload) > self.limits.output_bytes:
            self._kill_soon(Outcome.OUTPUT_LIMIT)

    # control -------------------------------------------------------------------------------
    def _kill_soon(self, reason: Outcome) -> None:
        """Kill from another thread; for the reader thread, which must never call the engine
        (and for the sampler, which must keep sampling).

        The engine's kill does not return until the container's output has been drained, and the
        reader is what drains it: a kill made from the reader deadlocks until the API timeout
        (measured: a flooding container's kill hangs while its attach stream is not read).
        """
        with self._kill_lock:
            if self._kill_requested:
                return
            self._kill_requested = True
            if self._kill_reason is None:
                self._kill_reason = reason  # now, so that a kill made meanwhile cannot take it
        threading.Thread(target=self.kill, args=(reason,), daemon=True,
                         name=f"sandbox-kill-{(self.id or '')[:12]}").start()

    def kill(self, reason: Outcome = Outcome.KILLED) -> None:
        """Kill the container, remembering why (the first reason wins)."""
        with self._kill_lock:
            if self._kill_reason is None:
                self._kill_reason = reason
        if self.id is None:
            return
        # Counted first: the engine sends its event before it answers. A kill that fails made no
        # event: the container is already gone, or the engine is unwell (wait() reports it).
        with self._kill_lock:
            self._kills_made += 1
        try:
            self._client.api.kill(self.id)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            with self._kill_lock:
                self._kills_made -= 1

    def sample_usage(self) -> None:
        if self._cgroup is not None:
            self._cgroup.sample()
            if self.limits.runtime == "runsc":
                self._watch_host_tasks(self._cgroup)

    def _watch_host_tasks(self, cgroup: CgroupReader) -> None:
        """Stop a runsc container whose kernel's host tasks near their budget (Limits.host_pids):
        its guest processes are capped by RLIMIT_NPROC, but a fork bomb still grows them."""
        tasks = cgroup.tasks()
        if tasks is None:
            return
        self._host_tasks = tasks
        if tasks >= RUNSC_TASKS_STOP_SHARE * self.limits.host_pids:
            self._kill_soon(Outcome.PROCESS_LIMIT)

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_INTERVAL_SECONDS):
            self.sample_usage()

    def wait(self) -> RunResult:
        """Wait for the container to end (the timer kills it at the limit) and describe how."""
        assert self.id is not None
        api = self._client.api
        remaining = self.limits.timeout - (time.monotonic() - self._started_at)
        try:
            status = api.wait(self.id,
                              timeout=math.ceil(max(1.0, remaining) + ENGINE_GRACE_SECONDS))
            state = api.inspect_container(self.id)["State"]
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            self.kill(Outcome.INFRASTRUCTURE_ERROR)
            return self._result(Outcome.INFRASTRUCTURE_ERROR, None,
                                f"the engine did not report the container's end: {exc}")
        finally:
            self._ended_at = time.monotonic()
            self._done.set()
        for thread in self._threads:
            thread.join(timeout=5)
        exit_code = status.get("StatusCode")
        outside = self._outside_end()
        if outside is not None:
            return self._result(Outcome.INFRASTRUCTURE_ERROR, exit_code, outside)
        oom_killed = bool(state.get("OOMKilled")) or self._oom_reported(exit_code)
        outcome = self._classify(exit_code, oom_killed)
        return self._result(outcome, exit_code, OUTCOME_MESSAGES[outcome])

    def _oom_reported(self, exit_code: int | None) -> bool:
        """Whether the engine sent an "oom" event for the container. Under gVisor the runtime's
        shim reports the cgroup's OOM apart from the process's end, so on a loaded host the event
        (and the OOMKilled flag it sets) can come after the exit: a SIGKILL the grader did not
        send waits a little for it, or a candidate over its memory reads "killed by a signal".
        Only a SIGKILL counts: a process that exited by itself after one of its children was
        OOM-killed ended by its own choice."""
        if exit_code != SIGKILL_EXIT_CODE or self._kill_reason is not None:
            return False  # it ended by itself (a child of its may have been OOM-killed) or by us
        return self._oom_event.wait(EVENTS_GRACE_SECONDS)

    def _classify(self, exit_code: int | None, oom_killed: bool) -> Outcome:
        if self._kill_reason is not None and self._kill_reason is not Outcome.KILLED:
            return self._kill_reason
        if oom_killed:
            return Outcome.OOM
        if exit_code == 0:
            return Outcome.OK
        if (exit_code == RUNSC_ABORT_EXIT_CODE and self._host_tasks is not None
                and self._host_tasks >= RUNSC_ABORT_TASKS_SHARE * self.limits.host_pids):
            return Outcome.PROCESS_LIMIT  # the budget was reached between two samples
        if self._kill_reason is Outcome.KILLED or (exit_code is not None and exit_code > 128):
            return Outcome.KILLED
        return Outcome.NONZERO_EXIT

    def _result(self, outcome: Outcome, exit_code: int | None, message: str) -> RunResult:
        usage = self._cgroup.last if self._cgroup is not None else None
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        return RunResult(
            outcome=outcome,
            exit_code=exit_code,
            stdout=self._output.stdout.captured(),
            stderr=self._output.stderr.captured(),
            wall_seconds=round(end - self._started_at, 3) if self._started_at else 0.0,
            cpu_seconds=usage.cpu_seconds if usage else None,
            peak_memory_bytes=usage.peak_memory_bytes if usage else None,
            message=message,
        )


def _tmpfs(size: int, inodes: int, mode: str) -> str:
    owner = "" if mode == "1777" else f",uid={CANDIDATE_UID},gid={CANDIDATE_UID}"
    return f"rw,noexec,nosuid,nodev,size={size},nr_inodes={inodes},mode={mode}{owner}"
