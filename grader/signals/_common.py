"""What every signal shares: the models' base, and one careful walk over a submission's files.

The walk never follows a symlink, reads regular files only (opened with ``O_NOFOLLOW``), skips
virtualenvs, caches and hidden folders, and stops at caps on the number and size of files, saying
what it skipped. Nothing here imports or executes a file it reads.
"""

from __future__ import annotations

import io
import os
import stat
import tokenize
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

KiB = 1024
MiB = 1024**2

SKIPPED_DIRS = frozenset({
    "__pycache__", "venv", "env", "node_modules", "site-packages", "build", "dist",
})
MAX_ENTRIES = 20_000  # directory entries looked at
MAX_PYTHON_FILES = 500
MAX_FILE_BYTES = 1 * MiB
MAX_TOTAL_BYTES = 16 * MiB
MAX_TEXT_BYTES = 256 * KiB  # a README or a notebook


class SignalModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative, with forward slashes
    text: str

    @property
    def is_test(self) -> bool:
        return is_test_path(self.path)


@dataclass
class Tree:
    """The files of one submission that the signals look at."""

    root: Path
    python: list[SourceFile] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_test_path(path: str) -> bool:
    """Test code as pytest finds it by default, plus conftest.py and anything under tests/."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    in_test_folder = any(part in ("tests", "test") for part in parts[:-1])
    test_name = name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
    return name.endswith(".py") and (test_name or in_test_folder)


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The first ``limit`` bytes of a regular file, never through a symlink; None otherwise."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(limit)


def decode_source(data: bytes) -> str:
    """Python source as Python would decode it (coding cookie or UTF-8), never failing."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace")


def scan(root: Path) -> Tree:
    """Walk a submission folder (sorted, so the result is the same every time)."""
    tree = Tree(root=root)
    entries = 0
    total = 0
    skipped_big: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not os.path.islink(os.path.join(folder, d)))
        entries += len(dirs) + len(files)
        if entries > MAX_ENTRIES:
            tree.notes.append(f"stopped after {MAX_ENTRIES} files and folders")
            break
        relative_folder = Path(folder).relative_to(root)
        for name in sorted(files):
            relative = (relative_folder / name).as_posix()
            absolute = Path(folder) / name
            if not stat.S_ISREG(absolute.lstat().st_mode):
                continue
            if name.endswith(".ipynb"):
                tree.notebooks.append(relative)
            if not name.endswith(".py"):
                continue
            if len(tree.python) >= MAX_PYTHON_FILES:
                tree.notes.append(f"only the first {MAX_PYTHON_FILES} Python files were read")
                return _finish(tree, skipped_big)
            size = absolute.lstat().st_size
            if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
                skipped_big.append(relative)
                continue
            data = read_regular_file(absolute, MAX_FILE_BYTES)
            if data is None:
                continue
            total += len(data)
            tree.python.append(SourceFile(relative, decode_source(data)))
    return _finish(tree, skipped_big)


def _finish(tree: Tree, skipped_big: list[str]) -> Tree:
    if skipped_big:
        shown = ", ".join(skipped_big[:5]) + (" ..." if len(skipped_big) > 5 else "")
        tree.notes.append(f"{len(skipped_big)} Python file(s) not read: over "
                          f"{MAX_FILE_BYTES // MiB} MiB each or {MAX_TOTAL_BYTES // MiB} MiB "
                          f"in all ({shown})")
    return tree


def clip(text: str, limit: int) -> str:
    """Text shortened to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
