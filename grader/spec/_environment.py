"""An assignment's environment: the extra packages ``assignment.yaml`` asks for, and the lock.

The spec names packages (``environment.packages``: ``"rank-bm25"`` or ``"faiss-cpu==1.15.1"``);
the lock beside it, ``environment.lock``, pins what installing them adds to the runner image, every
transitive dependency the image lacks, each with the sha256 of its wheels. It is pip's
requirements format, so pip installs it as it is (``--require-hashes --no-deps``), with a header
that says what it was resolved from:

    # Written by `grader assignment lock rag_pipeline` from assignment.yaml's environment.
    # packages: faiss-cpu==1.15.1 rank-bm25
    # runner-lock-sha256: 5f0c...  (requirements/runner.lock it was resolved against)
    faiss-cpu==1.15.1 \\
        --hash=sha256:...
    rank-bm25==0.2.2 \\
        --hash=sha256:...

The ``packages`` line is how a stale lock is caught: the spec check compares it with the block.
Nothing else is allowed in the file (no options, URLs or editable installs): what a grading
installs is exactly the pinned, hashed wheels.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

LOCK_FILE = "environment.lock"
_PACKAGES_HEADER = "# packages:"
_RUNNER_HEADER = "# runner-lock-sha256:"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
_HASH = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")


def normalize_request(value: str) -> str:
    """``"Rank_BM25"`` -> ``"rank-bm25"``, ``"FAISS-CPU == 1.15.1"`` -> ``"faiss-cpu==1.15.1"``;
    ValueError for anything but a distribution name with an optional exact pin."""
    try:
        requirement = Requirement(value)
    except InvalidRequirement as exc:
        raise ValueError(f"{value!r} is not a package name with an optional ==version pin: "
                         f"{exc}") from exc
    if requirement.url or requirement.marker or requirement.extras:
        raise ValueError(f"{value!r}: give a package name with an optional ==version pin, "
                         "without extras, URLs or markers")
    specifiers = list(requirement.specifier)
    if specifiers and (len(specifiers) > 1 or specifiers[0].operator != "=="
                       or "*" in specifiers[0].version):
        raise ValueError(f"{value!r}: pin an exact version (name==1.2.3) or none; the lock "
                         "chooses the version of an unpinned name")
    name = canonicalize_name(requirement.name)
    return f"{name}=={specifiers[0].version}" if specifiers else name


PackageRequest = Annotated[str, AfterValidator(normalize_request),
                           Field(description='a PyPI distribution name with an optional exact '
                                             'pin: "rank-bm25" or "faiss-cpu==1.15.1"')]


class EnvironmentSpec(BaseModel):
    """Extra Python packages candidates' code may import, installed on top of the runner image
    (CPU wheels only, from PyPI). What they resolve to, every dependency the runner image lacks
    included, is pinned with hashes in ``environment.lock`` beside assignment.yaml, written by
    ``grader assignment lock ID``; gradings run in an image built from the runner image and that
    lock, offline."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    packages: list[PackageRequest] = Field(
        min_length=1, description='distribution names, each with an optional exact pin, e.g. '
                                  '["faiss-cpu==1.15.1", "rank-bm25"]')

    @field_validator("packages")
    @classmethod
    def _distinct(cls, packages: list[str]) -> list[str]:
        names = [request_name(p) for p in packages]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{repeated[0]!r} is listed twice: keep one entry, with the pin "
                             "you mean if any")
        return packages


def request_name(request: str) -> str:
    """The distribution name of a normalized request: ``"faiss-cpu==1.15.1"`` -> ``"faiss-cpu"``."""
    return request.partition("==")[0]


@dataclass(frozen=True)
class LockedPackage:
    name: str  # canonical: lower case, runs of ._- as one -
    version: str
    hashes: tuple[str, ...]  # sha256 hex digests, one per wheel pip may choose

    def render(self) -> str:
        return " \\\n".join([f"{self.name}=={self.version}",
                             *(f"    --hash=sha256:{digest}" for digest in self.hashes)])


class LockError(ValueError):
    """``environment.lock`` cannot be read as a lock; ``line`` is where (1-based) when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class EnvironmentLock:
    """``environment.lock`` parsed: what it was resolved from and what it pins."""

    requested: tuple[str, ...]  # normalized requests, sorted by name
    runner_lock_sha256: str
    packages: tuple[LockedPackage, ...]  # sorted by name

    def render(self, assignment_id: str) -> str:
        lines = [f"# Written by `grader assignment lock {assignment_id}` from assignment.yaml's "
                 "environment; do not edit.",
                 f"{_PACKAGES_HEADER} {' '.join(self.requested)}",
                 f"{_RUNNER_HEADER} {self.runner_lock_sha256}",
                 *(package.render() for package in self.packages)]
        return "\n".join(lines) + "\n"

    def stale_for(self, spec: EnvironmentSpec) -> str | None:
        """Why this lock does not fit ``spec`` (a sentence), or None when it does."""
        wanted = tuple(sorted(spec.packages, key=request_name))
        if wanted != self.requested:
            return (f"{LOCK_FILE} was written for {' '.join(self.requested) or 'no packages'}, "
                    f"but environment.packages lists {' '.join(wanted)}")
        pinned = {package.name: package.version for package in self.packages}
        for request in wanted:
            name, _, version = request.partition("==")
            if version and name in pinned and pinned[name] != version:
                return f"{LOCK_FILE} pins {name}=={pinned[name]}, but the spec asks for {request}"
        return None


def lock_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_lock(text: str) -> EnvironmentLock:
    """Parse the text of an ``environment.lock``; LockError names the line that is wrong."""
    requested: tuple[str, ...] | None = None
    runner: str | None = None
    packages: dict[str, LockedPackage] = {}
    for number, entry in logical_lines(text):
        if entry.startswith(_PACKAGES_HEADER):
            try:
                requested = tuple(sorted((normalize_request(word) for word
                                          in entry.removeprefix(_PACKAGES_HEADER).split()),
                                         key=request_name))
            except ValueError as exc:
                raise LockError(str(exc), number) from exc
            continue
        if entry.startswith(_RUNNER_HEADER):
            runner = entry.removeprefix(_RUNNER_HEADER).strip()
            continue
        if entry.startswith("#"):
            continue
        words = entry.split()
        pin = _PIN.match(words[0])
        if pin is None:
            raise LockError(f"{words[0]!r} is not name==version (a lock holds exact pins "
                            "only)", number)
        hashes = [_HASH.match(word) for word in words[1:]]
        if not hashes or None in hashes:
            raise LockError(f"{words[0]} needs one or more --hash=sha256:<64 hex digits> and "
                            "nothing else", number)
        name = canonicalize_name(pin.group(1))
        if name in packages:
            raise LockError(f"{name} is pinned twice", number)
        packages[name] = LockedPackage(name=name, version=pin.group(2),
                                       hashes=tuple(m.group(1) for m in hashes if m))
    if requested is None or runner is None:
        raise LockError(f"the header lines '{_PACKAGES_HEADER}' and '{_RUNNER_HEADER}' are "
                        "missing; the file was not written by `grader assignment lock`", 1)
    return EnvironmentLock(requested=requested, runner_lock_sha256=runner,
                           packages=tuple(packages[name] for name in sorted(packages)))


# pip's comment: at a line's start or after whitespace. A line holding one never continues.
_COMMENT = re.compile(r"(^|\s)#.*$")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """A requirements file's lines as pip joins them: backslash continuations joined (a line
    with a comment never continues one), blank lines left out; each with the number it starts
    on. Comments stay: what they mean is the reader's (a lock's header lines are comments)."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        start, line = (pending[0], f"{pending[1]} {line}") if pending else (number, line)
        pending = None
        if line.endswith("\\") and not _COMMENT.search(line):
            pending = (start, line[:-1].rstrip())
        elif line:
            joined.append((start, line))
    if pending is not None and pending[1]:
        joined.append(pending)
    return joined


def strip_comment(line: str) -> str:
    """The line without pip's comment, if it has one."""
    return _COMMENT.sub("", line).strip()


def read_lock(folder: Path) -> EnvironmentLock:
    """``folder/environment.lock`` parsed; FileNotFoundError when there is none."""
    return parse_lock((folder / LOCK_FILE).read_text(encoding="utf-8"))


def lock_issues(environment: EnvironmentSpec | None, folder: Path,
                assignment_id: str) -> list[tuple[tuple[Any, ...], str]]:
    """Spec problems of the lock beside assignment.yaml, each telling the author what to run."""
    relock = f"run `grader assignment lock {assignment_id}`"
    path = folder / LOCK_FILE
    if environment is None:
        if path.exists():
            return [((), f"{path} exists but assignment.yaml has no environment block: delete "
                         "the lock, or declare environment.packages and " + relock)]
        return []
    try:
        lock = read_lock(folder)
    except FileNotFoundError:
        return [(("environment",), f"no {LOCK_FILE} beside assignment.yaml; {relock} to "
                                   "resolve and pin the packages")]
    except (OSError, UnicodeDecodeError) as exc:
        return [(("environment",), f"cannot read {path}: {exc}")]
    except LockError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        return [(("environment",), f"{where}: {exc}; {relock} to write it again")]
    stale = lock.stale_for(environment)
    if stale:
        return [(("environment", "packages"), f"{stale}; {relock}")]
    return []
