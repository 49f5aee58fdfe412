"""Hostile ``solution.py`` modules served through ``open_session`` against the real engine.

The candidate's code runs inside the agent's own process, so it can close, redirect or write to
the agent's file descriptors, exit, or return values that are not plain data. None of it may hang
the grader, forge a result through prints, or leave a container behind (``host_unharmed``).
Each expected error is asserted around the one call that should raise it, so a solution that
fails earlier (say, at import) cannot make a test pass by accident.
"""

from __future__ import annotations

import ast
import contextlib
import resource
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import sandbox
from sandbox import (
    AgentError,
    AgentSession,
    CallTimeout,
    CandidateError,
    Limits,
    Outcome,
    SessionClosed,
    SessionSpec,
)

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed")]

GRACE = 10.0

# Finds the agent's private duplicate of the container's stdout (the protocol stream): the one
# write-only pipe that is not stderr. Code in the agent's process can always do this. (gVisor
# shows the container's stdio as the host fds it serves them from, "host:[1]", not "pipe:[...]".)
FIND_PROTOCOL_FD = """\
import fcntl, os

def protocol_fd():
    stderr = os.readlink("/proc/self/fd/2")
    for fd in range(3, 64):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        stdio = target.startswith(("pipe:", "host:"))
        if stdio and target != stderr and flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError("no protocol fd found")

"""


def with_protocol_fd(source: str) -> str:
    return FIND_PROTOCOL_FD + textwrap.dedent(source)


@pytest.fixture
def serve(runner_image: str, tmp_path: Path, tight: Limits):
    """``serve(source, **options)``: open a session over a solution.py holding ``source``."""

    @contextmanager
    def open_(source: str, *, limits: Limits = tight, call_timeout: float = 5.0,
              **options: Any) -> Iterator[AgentSession]:
        submission = tmp_path / "submission"
        submission.mkdir(exist_ok=True)
        (submission / "solution.py").write_text(textwrap.dedent(source))
        with sandbox.open_session(SessionSpec(image=runner_image, limits=limits,
                                              submission=submission, call_timeout=call_timeout,
                                              **options)) as session:
            yield session

    return open_


# timing --------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_call_past_its_timeout_is_call_timeout_and_the_container_goes(serve) -> None:
    with serve("""
        import time
        def slow():
            time.sleep(3600)
        def fast():
            return 1
    """) as session:
        assert session.call("fast") == 1
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            session.call("slow", timeout=1)
        assert time.monotonic() - started < 1 + GRACE
        assert session.result is not None and session.result.outcome is Outcome.TIMEOUT
        with pytest.raises(SessionClosed):
            session.call("fast")
    # host_unharmed: the container is removed


@pytest.mark.timeout(60)
def test_an_import_that_never_ends_is_call_timeout(serve) -> None:
    with pytest.raises(CallTimeout), serve("while True:\n    pass\n", call_timeout=1):
        pytest.fail("open_session returned over a solution that never imports")


@pytest.mark.timeout(60)
def test_stdin_reads_nothing(serve) -> None:
    with serve("""
        import sys
        def read():
            return sys.stdin.read()
    """) as session:
        assert session.call("read") == ""


# the agent's file descriptors ----------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("statement", ["os.close(1)", "os.close(0)", "os.close(0); os.close(1)"])
def test_closing_stdin_or_stdout_mid_call_is_harmless(serve, statement: str) -> None:
    with serve(f"""
        import os
        def close():
            {statement}
            return "done"
        def again():
            return 2
    """) as session:
        assert session.call("close") == "done"
        assert session.call("again") == 2
    assert session.result is not None and session.result.outcome is Outcome.OK


@pytest.mark.timeout(60)
@pytest.mark.parametrize("statement", [
    pytest.param("os.closerange(3, 1024)", id="close-fds-above-2"),
    pytest.param("os.closerange(0, 1024)", id="close-every-fd"),
    pytest.param("null = os.open(os.devnull, os.O_RDWR)\n"
                 "            for fd in range(64):\n"
                 "                if fd != null:\n"
                 "                    os.dup2(null, fd)", id="dev-null-over-every-fd"),
])
def test_closing_the_protocol_fds_mid_call_ends_the_session(serve, statement: str) -> None:
    with serve(f"""
        import os
        def close():
            {statement}
            return "done"
    """) as session:
        started = time.monotonic()
        with pytest.raises((SessionClosed, AgentError)):
            session.call("close")
            session.call("close")  # if the first call was somehow answered, the channel is gone
        assert time.monotonic() - started < 5 + GRACE


@pytest.mark.timeout(60)
def test_hijacking_the_protocol_input_ends_in_a_timeout_not_a_hang(serve) -> None:
    # The agent is left reading a pipe nobody writes to: the next call must time out.
    with serve("""
        import fcntl, os
        def hijack():
            read_end, _ = os.pipe()
            hijacked = 0
            for fd in range(3, 64):
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    continue
                read_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
                # Under gVisor the container's stdio shows as "host:[N]", not "pipe:[...]".
                stdio = target.startswith(("pipe:", "host:"))
                if fd != read_end and stdio and read_only:
                    os.dup2(read_end, fd)
                    hijacked += 1
            return hijacked
    """) as session:
        assert session.call("hijack") >= 1  # the agent's protocol input was really replaced
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            # Larger than the pipe and socket buffers: sending it blocks, since nobody reads.
            session.call("hijack", timeout=1, padding="p" * (16 * 1024 * 1024))
        assert time.monotonic() - started < 1 + GRACE


@pytest.mark.timeout(60)
@pytest.mark.parametrize("leftover", [
    pytest.param("threading.Thread(target=time.sleep, args=(3600,)).start()", id="thread"),
    pytest.param("atexit.register(time.sleep, 3600)", id="atexit"),
])
def test_what_the_solution_leaves_running_does_not_hold_the_phase_open(serve,
                                                                        leftover: str) -> None:
    # A library's non-daemon worker thread is enough: closing must not wait for the phase timeout.
    with serve(f"""
        import atexit, threading, time
        {leftover}
        def noop():
            return None
    """) as session:
        assert session.call("noop") is None
        closing = time.monotonic()
    assert time.monotonic() - closing < 3
    assert session.result is not None and session.result.outcome is Outcome.OK


# forged replies ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_printed_replies_are_not_taken_for_the_real_one(serve) -> None:
    with serve("""
        import os, sys
        FAKE = '{"id": 2, "result": 999}'
        def answer():
            print(FAKE)
            print('{"id": 3, "result": 999}', flush=True)
            sys.__stdout__.write(FAKE + "\\n")
            sys.__stdout__.flush()
            sys.stdout.buffer.write(FAKE.encode() + b"\\n")
            sys.stdout.flush()
            os.write(1, FAKE.encode() + b"\\n")
            return 42
    """) as session:
        assert session.call("answer") == 42  # call 2 (__ready__ was 1)
        assert session.call("answer") == 42  # call 3: no stale fake is waiting
    assert session.result is not None
    assert session.result.stderr.text.count('"result": 999') == 10  # the prints went to the log


@pytest.mark.timeout(60)
def test_a_reply_forged_on_the_protocol_fd_with_a_wrong_id_is_refused(serve) -> None:
    with serve(with_protocol_fd("""
        def answer():
            os.write(protocol_fd(), b'{"id": 7, "result": 999}\\n')
            return 42
    """)) as session, pytest.raises(AgentError, match="not 2"):
        session.call("answer")


@pytest.mark.timeout(60)
def test_a_flood_on_the_protocol_fd_is_not_buffered_on_the_host(serve) -> None:
    # Protocol bytes are not candidate output, so output_bytes does not apply to them; what the
    # host holds for them must still be bounded: the flood is 512 MiB of lines nobody asked for,
    # written while the grader is busy between two calls.
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with serve(with_protocol_fd("""
        import threading, time
        def flood():
            fd = protocol_fd()
            time.sleep(0.5)  # after the reply to start() has gone: the flood lands between calls
            block = (b"x" * 4095 + b"\\n") * 1024
            for _ in range(128):
                view = memoryview(block)
                while view:  # gVisor takes 64 KiB of each write: write all of it
                    view = view[os.write(fd, view):]
        def start():
            threading.Thread(target=flood).start()  # not a daemon: it outlives the agent
            return "flooding"
    """)) as session:
        assert session.call("start") == "flooding"
        time.sleep(3)
        started = time.monotonic()
        with pytest.raises((AgentError, SessionClosed)):
            session.call("start")
        assert time.monotonic() - started < 5 + GRACE
    assert session.result is not None and session.result.outcome is Outcome.OUTPUT_LIMIT
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak_after - peak_before < 128 * 1024**2


# exits ---------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("statement", "type_name"), [
    ("sys.exit(0)", "SystemExit"),
    ("sys.exit(1)", "SystemExit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
])
def test_sys_exit_in_a_call_is_a_candidate_error(serve, statement: str, type_name: str) -> None:
    with serve(f"""
        import sys
        def leave():
            {statement}
        def again():
            return "alive"
    """) as session:
        with pytest.raises(CandidateError) as caught:
            session.call("leave")
        assert caught.value.type_name == type_name
        assert session.call("again") == "alive"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("statement", [
    "os._exit(0)",
    "os._exit(3)",
    "os.kill(os.getpid(), signal.SIGKILL)",
    "os.kill(1, signal.SIGTERM)",  # the init process forwards it to the agent
])
def test_an_abrupt_exit_in_a_call_is_session_closed(serve, statement: str) -> None:
    with serve(f"""
        import os, signal, time
        def leave():
            {statement}
            time.sleep(60)
    """) as session:
        started = time.monotonic()
        with pytest.raises(SessionClosed):
            session.call("leave")
        assert time.monotonic() - started < 5 + GRACE
        assert session.result is not None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("ending", ["os._exit(0)", "os.kill(os.getpid(), signal.SIGKILL)"])
def test_a_container_that_ended_between_calls_is_session_closed(serve, ending: str) -> None:
    with serve(f"""
        import os, signal, threading, time
        def die_soon():
            def die():
                time.sleep(0.5)
                {ending}
            threading.Thread(target=die).start()
            return True
    """) as session:
        assert session.call("die_soon") is True
        time.sleep(2)  # the grader works; meanwhile the container ends
        started = time.monotonic()
        with pytest.raises(SessionClosed) as caught:
            # Larger than the socket's buffer: the engine may keep taking stdin for a while.
            session.call("die_soon", padding="p" * (1024 * 1024))
        assert time.monotonic() - started < 2  # not a wait for the 5 s call timeout
        assert caught.value.outcome is not Outcome.TIMEOUT


# results -------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", [
    "float('nan')", "float('inf')", "-float('inf')", "[1.0, float('nan')]", "{'x': float('inf')}",
    "object()", "{1, 2}", "b'bytes'", "{'f': print}", "complex(1, 2)",
])
def test_a_result_that_is_not_plain_json_is_a_candidate_error(serve, value: str) -> None:
    with serve(f"""
        def bad():
            return {value}
        def good():
            return [1, "two", None]
    """) as session:
        with pytest.raises(CandidateError, match="JSON"):
            session.call("bad")
        assert session.call("good") == [1, "two", None]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("base", "value", "other"), [
    ("str", "'wrong'", "right"),
    ("int", "3", 4),
    ("float", "0.5", 0.75),
    ("list", "[1, 2]", [3]),
])
def test_a_lying_eq_comes_back_as_a_plain_value(serve, base: str, value: str, other: Any) -> None:
    with serve(f"""
        class Liar({base}):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = {base}.__hash__
            def __repr__(self):
                return repr({base}(self)) + " (really)"
        def answer():
            return Liar({value})
    """) as session:
        result = session.call("answer")
    assert type(result) is type(other)
    assert result == ast.literal_eval(value)
    assert result != other


@pytest.mark.timeout(60)
def test_a_reply_over_the_message_cap_is_an_agent_error(serve) -> None:
    with serve("""
        def huge():
            return "h" * (4 * 1024 * 1024)
    """, max_message_bytes=1024 * 1024) as session, pytest.raises(AgentError):
        session.call("huge")
    assert session.result is not None and session.result.outcome is Outcome.OUTPUT_LIMIT


# resources inside a session ------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_log_flood_in_a_call_ends_the_session_at_the_output_limit(serve, tight) -> None:
    with serve("""
        def flood():
            chunk = "l" * (1 << 20)
            for _ in range(1024):
                print(chunk)
    """) as session, pytest.raises(SessionClosed) as caught:
        session.call("flood")
    assert caught.value.outcome == Outcome.OUTPUT_LIMIT
    assert session.result is not None and session.result.stderr.truncated
    assert len(session.result.stderr.text.encode()) <= tight.log_bytes + 100


@pytest.mark.timeout(60)
def test_memory_past_the_limit_in_a_call_is_oom(serve) -> None:
    with serve("""
        def hog():
            blocks = []
            while True:
                blocks.append(b"m" * (16 * 1024 * 1024))
    """) as session, pytest.raises(SessionClosed) as caught:
        session.call("hog")
    assert caught.value.outcome == Outcome.OOM


# imports -------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("source", "type_name"), [
    ("raise RuntimeError('boom')\n", "RuntimeError"),
    ("def broken(:\n", "SyntaxError"),
    ("import sys\nsys.exit(0)\n", "SystemExit"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError"),
])
def test_a_solution_that_fails_to_import_is_a_candidate_error(serve, source: str,
                                                              type_name: str) -> None:
    with pytest.raises(CandidateError) as caught, serve(source):
        pytest.fail("open_session returned over a solution that does not import")
    assert caught.value.type_name == type_name


@pytest.mark.timeout(60)
def test_a_solution_that_exits_at_import_is_session_closed(serve) -> None:
    with pytest.raises(SessionClosed), serve("import os\nos._exit(0)\n"):
        pytest.fail("open_session returned over a solution that exits at import")


@pytest.mark.timeout(60)
def test_a_missing_solution_is_a_candidate_error(runner_image: str, tmp_path: Path,
                                                 tight: Limits) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CandidateError) as caught, sandbox.open_session(SessionSpec(
            image=runner_image, limits=tight, submission=empty, call_timeout=5)):
        pytest.fail("open_session returned without a solution.py")
    assert caught.value.type_name == "ModuleNotFoundError"


# exporting the work dir ----------------------------------------------------------------------


def outside(tmp_path: Path, destination: Path) -> list[str]:
    """Everything under tmp_path that is neither the export's destination nor above it."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if destination not in (p, *p.parents) and p not in destination.parents)


@pytest.mark.timeout(60)
def test_exporting_plain_files_works(serve, tmp_path: Path) -> None:
    destination = tmp_path / "out"
    with serve("""
        import os
        def make():
            os.makedirs("/work/model/sub")
            with open("/work/model/sub/weights.txt", "w") as f:
                f.write("w" * 1000)
            return True
    """) as session:
        assert session.call("make") is True
        received = session.export_dir(destination, max_bytes=1024**2)
    assert received > 1000
    assert (destination / "model" / "sub" / "weights.txt").read_text() == "w" * 1000
    assert outside(tmp_path, destination) == ["submission", "submission/solution.py"]


@pytest.mark.timeout(60)
def test_replies_and_exports_larger_than_one_write_arrive_whole(serve, tmp_path: Path) -> None:
    # gVisor takes 64 KiB of a 4 MiB write to the container's stdout: the agent must write the rest.
    destination = tmp_path / "out"
    with serve("""
        import os
        def big(size):
            return "b" * size
        def make():
            with open("/work/weights.bin", "wb") as f:
                f.write(os.urandom(3 * 1024 * 1024))  # a __chunk__ reply of 4 MB (below file_size)
            return True
    """) as session:
        assert session.call("big", size=3 * 1024 * 1024) == "b" * (3 * 1024 * 1024)
        assert session.call("make") is True
        received = session.export_dir(destination, max_bytes=16 * 1024**2)
    assert received > 3 * 1024 * 1024
    assert (destination / "weights.bin").stat().st_size == 3 * 1024 * 1024
    assert session.result is not None and session.result.outcome is Outcome.OK


PLANTS = {
    "symlink-to-etc-passwd": "os.symlink('/etc/passwd', '/work/link')",
    "symlink-up-and-out": "os.symlink('../../../../../../tmp/escape', '/work/link')",
    "symlinked-dir": "os.symlink('/etc', '/work/etc')",
    "hardlink": "os.link('/work/plain.txt', '/work/hard.txt')",
    "fifo": "os.mkfifo('/work/fifo')",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("plant", list(PLANTS.values()), ids=list(PLANTS))
def test_an_export_with_a_planted_link_is_refused(serve, tmp_path: Path, plant: str) -> None:
    destination = tmp_path / "out"
    with serve(f"""
        import os
        def plant():
            with open("/work/plain.txt", "w") as f:
                f.write("plain")
            {plant}
            return True
    """) as session:
        assert session.call("plant") is True
        with pytest.raises(AgentError):
            session.export_dir(destination, max_bytes=1024**2)
    assert outside(tmp_path, destination) == ["submission", "submission/solution.py"]
    assert not any(p.is_symlink() or not (p.is_file() or p.is_dir())
                   for p in destination.rglob("*"))
    assert not Path("/tmp/escape").exists()


FORGED_TAR = """
import base64, io, sys, tarfile

def forge(name, kind):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        if kind in ("file", "sparse"):
            info.size = 5
            if kind == "sparse":  # 5 bytes of data that extract as a 1 TiB file
                info.pax_headers = {"GNU.sparse.map": "0,5", "GNU.sparse.size": str(1 << 40)}
            tar.addfile(info, io.BytesIO(b"pwned"))
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.type = tarfile.CHRTYPE
            tar.addfile(info)
    chunks = [base64.b64encode(buf.getvalue()).decode()]
    # The agent runs as __main__; its exporter is the candidate's to replace.
    sys.modules["__main__"].Exporter.chunk = lambda self: chunks.pop() if chunks else ""
    return True
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "kind"), [
    ("../escape.txt", "file"),
    ("sub/../../escape.txt", "file"),
    ("link", "symlink"),
    ("device", "device"),
    ("model.bin", "sparse"),  # past max_bytes once extracted, though its archive is tiny
])
def test_a_forged_export_archive_is_refused(serve, tmp_path: Path, name: str, kind: str) -> None:
    destination = tmp_path / "deep" / "out"
    with serve(FORGED_TAR) as session:
        assert session.call("forge", name=name, kind=kind) is True
        with pytest.raises(AgentError):
            session.export_dir(destination, max_bytes=1024**2)
    assert outside(tmp_path, destination) == ["submission", "submission/solution.py"]
    assert list(destination.rglob("*")) == []


@pytest.mark.timeout(60)
def test_a_forged_absolute_name_stays_inside_the_destination(serve, tmp_path: Path) -> None:
    # The "data" extraction filter makes absolute names relative rather than refusing them.
    destination = tmp_path / "deep" / "out"
    target = tmp_path / "absolute-escape.txt"
    with serve(FORGED_TAR) as session:
        assert session.call("forge", name=str(target), kind="file") is True
        with contextlib.suppress(AgentError):
            session.export_dir(destination, max_bytes=1024**2)
    assert not target.exists()
    assert outside(tmp_path, destination) == ["submission", "submission/solution.py"]
