"""The in-container agent: serves calls into the candidate's ``solution`` module as JSON lines.

Runs inside the candidate container, so it uses the standard library only and trusts nothing it
imports. Protocol, one JSON object per line:

    request  {"id": 1, "method": "search", "params": {"query": "...", "k": 10}}
    reply    {"id": 1, "result": [...]}
          or {"id": 1, "error": {"type": "ValueError", "message": "...", "traceback": "...",
                                 "frames": [{"file": "solution.py", "line": 12,
                                             "function": "train"}]}}

``frames`` are the traceback's frames in the submission's own files (paths relative to it), the
innermost last: what a candidate needs to find the line that failed, without the agent's frames or
a library's.

Reserved methods (never a candidate's name, which may not start with an underscore):
    __preload__ {"modules"} before __ready__ (warm sessions): import ahead those of the listed
                           packages' modules that the submission's source names; reply with the
                           names imported
    __ready__              import the solution; reply with its public callables
    __export__ {"path"}    start streaming a directory as a tar archive
    __chunk__              the next base64 piece of that archive; "" at the end

The candidate's prints cannot reach the protocol stream: the agent keeps private duplicates of the
original stdin and stdout, then points fds 0 and 1 at /dev/null and the log (stderr). The trusted
side still parses every line strictly, because code in this process could find those duplicates.

``__preload__`` runs no code of the candidate's: the submission is not on ``sys.path`` and is not
the working directory until ``__ready__``, and its files are only read as text (parsed, never
compiled) to find which allowed modules they import. Site hooks (sitecustomize, usercustomize,
``.pth`` files) are read once at start-up from the image's own directories, never from the
submission. So that the candidate's imports resolve as they would without the preload, their
own top-level modules win: a preloaded module that one of theirs shadows is dropped from
``sys.modules`` before ``solution`` is imported (and is not preloaded at all when named
directly).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import importlib
import importlib.machinery
import inspect
import io
import json
import os
import select
import sys
import tarfile
import threading
import traceback
import types

MAX_REQUEST_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024
TRACEBACK_CHARS = 4000
MAX_FRAMES = 20
# What the preload reads of a submission to find its imports: bounded, since it is the
# candidate's to shape (the rest is simply not preloaded).
PRELOAD_SCAN_FILES = 500
PRELOAD_SCAN_BYTES = 2 * 1024 * 1024
PRELOAD_MAX_MODULES = 256


class ProtocolError(Exception):
    pass


def _take_protocol_streams() -> tuple[io.BufferedReader, io.FileIO]:
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return io.BufferedReader(proto_in), proto_out  # type: ignore[arg-type]


def _write_all(out: io.FileIO, data: bytes) -> None:
    """Write every byte of ``data``: one raw write may take only part of it.

    Under gVisor the container's stdout is a host fd that the sandbox's kernel writes for us (a
    4 MiB write was measured taking 64 KiB); a lost remainder would leave the trusted side
    waiting for the end of the line until the call timed out. (Code in this process may also set
    O_NONBLOCK on the shared file description: then wait until the stream takes more.)
    """
    view = memoryview(data)
    while view:
        written = out.write(view)
        if written is None:
            select.select([], [out], [], 1.0)
            continue
        view = view[written:]


class Exporter:
    """Streams a directory as an uncompressed tar, in chunks, without touching the disk."""

    def __init__(self, path: str) -> None:
        read_fd, write_fd = os.pipe()
        self._reader = os.fdopen(read_fd, "rb")
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, args=(path, write_fd), daemon=True)
        self._thread.start()

    def _write(self, path: str, write_fd: int) -> None:
        try:
            with os.fdopen(write_fd, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
                tar.add(path, arcname=".", recursive=True)
        except BaseException as exc:  # reported on the next chunk
            self._error = exc

    def chunk(self) -> str:
        data = self._reader.read(CHUNK_BYTES)
        if not data:
            self._thread.join()
            if self._error is not None:
                raise self._error
        return base64.b64encode(data).decode("ascii")


def _own_top_level(submission: str) -> set[str]:
    """The top-level module names the submission's own files provide (and so shadow): modules,
    extensions and regular packages; a folder without ``__init__`` shadows nothing."""
    suffixes = sorted((*importlib.machinery.all_suffixes(),), key=len, reverse=True)
    names = set()
    for entry in os.scandir(submission):
        if entry.is_dir(follow_symlinks=False):
            if any(os.path.exists(os.path.join(entry.path, "__init__" + s)) for s in suffixes):
                names.add(entry.name)
            continue
        for suffix in suffixes:
            if entry.name.endswith(suffix):
                names.add(entry.name[:-len(suffix)])
                break
    return names


def _source_files(submission: str) -> list[str]:
    """solution.py first, then the submission's other .py files, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(submission):
        dirs.sort()
        found += [os.path.join(folder, f) for f in sorted(files) if f.endswith(".py")]
        if len(found) >= PRELOAD_SCAN_FILES:
            break
    first = os.path.join(submission, "solution.py")
    return sorted(found[:PRELOAD_SCAN_FILES], key=lambda path: path != first)


def _imported_names(path: str) -> list[str]:
    """The absolute module names one file's import statements name, in order (``from a import
    b`` names a and a.b: b may be a submodule, or a name in a)."""
    try:
        if os.path.getsize(path) > PRELOAD_SCAN_BYTES:
            return []
        with open(path, "rb") as source:
            tree = ast.parse(source.read())
    except Exception:  # unreadable, or not Python: nothing to preload for it
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    return names


def modules_to_preload(submission: str, allowed: set[str]) -> list[str]:
    """The modules the submission imports whose top-level package is ``allowed`` and not one of
    its own, in the order the source names them."""
    own = _own_top_level(submission)
    wanted: list[str] = []
    for path in _source_files(submission):
        for name in _imported_names(path):
            top = name.partition(".")[0]
            if (top in allowed and top not in own and name not in wanted
                    and all(part.isidentifier() for part in name.split("."))):
                wanted.append(name)
    return wanted[:PRELOAD_MAX_MODULES]


class Agent:
    def __init__(self, submission: str) -> None:
        self.submission = submission
        self.module: types.ModuleType | None = None
        self.exporter: Exporter | None = None
        self.preloaded: set[str] | None = None  # the sys.modules entries __preload__ added

    def preload(self, modules: list[str]) -> dict:
        if self.module is not None or self.preloaded is not None:
            raise ProtocolError("__preload__ comes once, before __ready__")
        # Nothing the import machinery or a library looks for relative to the working directory
        # may come from the submission before its phase.
        os.chdir("/")
        before = set(sys.modules)
        imported = []
        for name in modules_to_preload(self.submission, set(modules)):
            try:
                importlib.import_module(name)
            except Exception:  # not a module, or it fails: the candidate's own import says so
                # ``from a import b`` where b is a name: resolve it as that import would, which
                # loads what packages that import lazily (transformers) defer to that moment.
                parent, _, attribute = name.rpartition(".")
                try:
                    getattr(sys.modules[parent], attribute)
                except Exception:
                    continue
            imported.append(name)
        self.preloaded = set(sys.modules) - before
        return {"imported": imported}

    def ready(self) -> dict:
        if self.preloaded is not None:
            os.chdir(self.submission)
            own = _own_top_level(self.submission)
            for name in self.preloaded:
                if name.partition(".")[0] in own:
                    sys.modules.pop(name, None)
        sys.path.insert(0, self.submission)
        self.module = importlib.import_module("solution")
        names = sorted(
            name
            for name, value in vars(self.module).items()
            if callable(value) and not name.startswith("_") and not inspect.isclass(value)
        )
        return {"callables": names, "python": sys.version.split()[0]}

    def dispatch(self, method: str, params: dict):
        if method == "__preload__":
            return self.preload(params["modules"])
        if method == "__ready__":
            return self.ready()
        if method == "__export__":
            self.exporter = Exporter(params["path"])
            return True
        if method == "__chunk__":
            if self.exporter is None:
                raise ProtocolError("__chunk__ before __export__")
            return self.exporter.chunk()
        if self.module is None:
            raise ProtocolError("the solution is not imported yet (call __ready__ first)")
        if method.startswith("_"):
            raise ProtocolError(f"{method!r} is not a public function of solution.py")
        function = getattr(self.module, method, None)
        if function is None or not callable(function):
            raise AttributeError(f"solution.py has no function {method!r}")
        return function(**params)


def _own_frames(exc: BaseException, submission: str) -> list[dict]:
    prefix = submission.rstrip("/") + "/"
    frames = [{"file": frame.filename[len(prefix):], "line": frame.lineno or 0,
               "function": frame.name}
              for frame in traceback.extract_tb(exc.__traceback__)
              if frame.filename.startswith(prefix)]
    # A syntax error's line is the exception's own, not a frame's (the frames are the import's).
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(prefix):
        frames.append({"file": exc.filename[len(prefix):], "line": exc.lineno or 0,
                       "function": "<module>"})
    return frames[-MAX_FRAMES:]


def _error(exc: BaseException, submission: str) -> dict:
    text = "".join(traceback.format_exception(exc))
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": text[-TRACEBACK_CHARS:],
        "frames": _own_frames(exc, submission),
    }


def _encode(call_id, result, submission: str) -> bytes:
    """A reply line; results must be plain JSON (no NaN or infinity, no custom objects)."""
    try:
        body = json.dumps({"id": call_id, "result": result}, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        bad = TypeError(f"the result is not plain JSON: {exc}")
        body = json.dumps({"id": call_id, "error": _error(bad, submission)})
    return body.encode() + b"\n"


def serve(submission: str) -> None:
    proto_in, proto_out = _take_protocol_streams()
    agent = Agent(submission)
    while True:
        line = proto_in.readline(MAX_REQUEST_BYTES + 1)
        if not line:
            return
        call_id = None
        try:
            if len(line) > MAX_REQUEST_BYTES:
                raise ProtocolError("request too large")
            request = json.loads(line)
            call_id = request["id"]
            reply = _encode(call_id, agent.dispatch(request["method"], request.get("params", {})),
                            submission)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are the candidate's too
            reply = json.dumps({"id": call_id, "error": _error(exc, submission)}).encode() + b"\n"
        _write_all(proto_out, reply)


def main() -> None:
    code = 0
    try:
        serve(sys.argv[1] if len(sys.argv) > 1 else "/submission")
    except BaseException:
        code = 1
        with contextlib.suppress(BaseException):  # the candidate may have closed stderr
            traceback.print_exc()
    # The phase is over once stdin closes: exit now, not through interpreter shutdown, which waits
    # for the candidate's non-daemon threads and atexit handlers (a library's worker thread is
    # enough) and so would hold the container, and the trusted side's close(), until the timeout.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # the candidate may have replaced them
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
