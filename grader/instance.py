"""A deployment's private instance of every assignment: one secret, all hidden data derived.

The repository is public, so an assignment's generator, its catalogue and its published seeds are
known to every candidate. What a candidate must not know is which data this deployment grades on.
Each deployment therefore holds one high-entropy secret (made once in ``DATA_DIR/instance_secret``,
or given as ``GRADER_INSTANCE_SECRET``), and every seed an assignment lists in
``reproducibility.seeds`` is derived from it per assignment and per purpose (an HMAC), public-data
seeds included: an assignment whose hidden split is drawn from its public data (a corpus, its
entities) regenerates that public data for the instance with its declared generator.

The published seeds make the *demo* instance: the repository's tests and ``grader assignment
validate`` grade on it, and a deployment only when asked to (``--demo``); every report then says so.

Trusted code only: the secret and the derived seeds never enter a candidate container, and reports
cite the instance's id, never its seeds.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from grader.hidden import load_hidden_module
from grader.spec import Assignment

__all__ = [
    "DEMO_ID",
    "SECRET_FILE",
    "AssignmentInstance",
    "Instance",
    "InstanceError",
    "demo_instance",
    "exposure",
    "folder_sha256",
    "load_generator",
    "open_instance",
    "public_files",
]

SECRET_FILE = "instance_secret"
SECRET_BYTES = 32
MIN_SECRET_CHARS = 32
DEMO_ID = "demo"


class InstanceError(Exception):
    """The instance could not be opened or its data made: the grader's problem, never a
    candidate's (a missing or unreadable secret, a broken generator)."""


class AssignmentInstance(BaseModel):
    """What one grading needs of the instance: its seeds and the public data mounted at /data.

    ``seeds`` are secret-derived for a private instance: hold them only in trusted code.
    """

    model_config = ConfigDict(frozen=True)

    instance_id: str
    demo: bool
    seeds: dict[str, int] = Field(repr=False)
    public_data: Path | None = Field(description="mounted read-only at /data; None: no data")
    public_data_sha256: str | None
    exposure: tuple[str, ...] = Field(
        (), description="what the assignment's public code still reads of this private "
                        "instance's hidden split (its generator's ``exposure(seeds)``)")


class Instance:
    """A deployment's instance: ``Instance.demo()`` or ``Instance(secret)``."""

    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret
        self.id = DEMO_ID if secret is None else hmac.new(
            secret, b"instance-id", hashlib.sha256).hexdigest()[:12]

    @classmethod
    def demo(cls) -> Instance:
        return cls(None)

    @classmethod
    def random(cls) -> Instance:
        """A throwaway private instance (checks that hidden splits depend on the secret)."""
        return cls(secrets.token_bytes(SECRET_BYTES))

    @property
    def is_demo(self) -> bool:
        return self._secret is None

    def __repr__(self) -> str:
        return f"Instance({self.id})"

    def seeds(self, assignment: Assignment) -> dict[str, int]:
        """The seeds in force: the published ones for the demo, else each derived from the
        secret, the assignment's id and the seed's name (a 63-bit integer)."""
        published = assignment.reproducibility.seeds
        if self._secret is None:
            return dict(published)
        return {name: _derive(self._secret, assignment.id, name) for name in published}

    def prepare(self, assignment: Assignment, folder: Path, cache: Path) -> AssignmentInstance:
        """The instance of one assignment, its public data made once under ``cache`` (shared
        by every process with the same data dir) when its generator makes public data."""
        seeds = self.seeds(assignment)
        public = assignment.candidate.public_data
        if public is None:
            data = None
        elif self.is_demo or assignment.instance is None:
            data = (folder / public).resolve()
        else:
            data = _materialised(assignment, folder, seeds,
                                 cache / self.id / f"{assignment.id}-{folder_sha256(folder)[:16]}")
        return AssignmentInstance(
            instance_id=self.id, demo=self.is_demo, seeds=seeds, public_data=data,
            public_data_sha256=folder_sha256(data) if data is not None else None,
            exposure=() if self.is_demo else exposure(assignment, folder, seeds))


def demo_instance(assignment: Assignment, folder: Path) -> AssignmentInstance:
    """The demo instance of one assignment: its published seeds and committed public data."""
    return Instance.demo().prepare(assignment, folder, cache=folder)


def _derive(secret: bytes, assignment_id: str, purpose: str) -> int:
    message = f"seed\x1f{assignment_id}\x1f{purpose}".encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big") >> 1


def open_instance(data_dir: Path, secret: str | None = None) -> Instance:
    """The deployment's private instance: from ``secret`` when given (at least 32 characters),
    else from ``DATA_DIR/instance_secret``, made on first use (readable by its owner only)."""
    if secret is not None:
        if len(secret) < MIN_SECRET_CHARS:
            raise InstanceError(f"the instance secret has {len(secret)} characters; give at least "
                                f"{MIN_SECRET_CHARS} random ones (e.g. `openssl rand -hex 32`)")
        return Instance(secret.encode())
    path = data_dir / SECRET_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Instance(_read_secret(path))
    except OSError as exc:
        raise InstanceError(f"cannot create the instance secret {path}: {exc}") from exc
    value = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "w") as file:
        file.write(value.hex() + "\n")
    return Instance(value)


def _read_secret(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise InstanceError(f"cannot read the instance secret {path}: {exc}") from exc
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) < SECRET_BYTES // 2:
        # Another process may be writing it this instant; an empty file is not a secret.
        raise InstanceError(f"{path} does not hold a hex secret of at least "
                            f"{SECRET_BYTES // 2} bytes; restore it from your backup (grading on "
                            "another secret would change every hidden split)")
    return value


def load_generator(assignment: Assignment, folder: Path) -> ModuleType | None:
    """The module that makes the assignment's public data and hidden items per instance;
    InstanceError when it does not import (the author's bug, named, never a candidate's)."""
    if assignment.instance is None:
        return None
    try:
        return load_hidden_module(folder / assignment.instance.generator)
    except Exception as exc:
        raise InstanceError(f"the instance generator {assignment.instance.generator} of "
                            f"{assignment.id} does not import: {type(exc).__name__}: {exc}"
                            ) from exc


def public_files(assignment: Assignment, folder: Path, seeds: Mapping[str, int]
                 ) -> dict[str, bytes]:
    """The generator's public data for these seeds: relative path -> content."""
    generator = load_generator(assignment, folder)
    if generator is None:
        raise InstanceError(f"{assignment.id} declares no instance generator")
    try:
        files: Any = generator.public_files(dict(seeds))
    except Exception as exc:
        raise InstanceError(f"{assignment.id}'s generator failed in public_files(): "
                            f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes) for k, v in files.items()):
        raise InstanceError(f"{assignment.id}'s public_files() must return a dict of relative "
                            "paths to bytes")
    return files


def exposure(assignment: Assignment, folder: Path, seeds: Mapping[str, int]) -> tuple[str, ...]:
    """What a holder of the assignment's public code can still read of the hidden split under
    these seeds, as the generator's optional ``exposure(seeds)`` says (one sentence each): a
    secret keeps names and figures private, not the grammar the public code words them with,
    which only the deployment's private content replaces. Empty when the generator defines none.
    """
    generator = load_generator(assignment, folder)
    if generator is None or not callable(getattr(generator, "exposure", None)):
        return ()
    try:
        said: Any = generator.exposure(dict(seeds))
    except Exception as exc:  # the deployment's content or the author's code: theirs, named
        raise InstanceError(f"{assignment.id}'s generator failed in exposure(): "
                            f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(said, list) or not all(isinstance(line, str) for line in said):
        raise InstanceError(f"{assignment.id}'s exposure() must return a list of sentences, not "
                            f"{type(said).__name__}")
    return tuple(said)


def _materialised(assignment: Assignment, folder: Path, seeds: Mapping[str, int],
                  target: Path) -> Path:
    """``target/data`` holding the instance's public files; written once, atomically."""
    data = target / "data"
    if data.is_dir():
        return data
    files = public_files(assignment, folder, seeds)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="data-", dir=target))
    try:
        for name, content in files.items():
            path = (staging / name).resolve()
            if not path.is_relative_to(staging.resolve()) or name.startswith("/"):
                raise InstanceError(f"{assignment.id}'s public_files() names {name!r}, "
                                    "outside the public data folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        os.chmod(staging, 0o755)
        try:
            staging.rename(data)
        except OSError:
            if not data.is_dir():  # not a concurrent maker's identical copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return data


def folder_sha256(folder: Path) -> str:
    """A content hash of every file under ``folder`` (paths and bytes), cited by reports."""
    digest = hashlib.sha256()
    files = (p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(files):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
