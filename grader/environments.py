"""Assignment environments: the lock written from the spec's packages, and the image each
assignment's candidates run in.

``lock_environment`` resolves ``environment.packages`` with pip inside the runner image (so the
runner's pins hold and only what it lacks is added), refuses CUDA builds, and writes
``environment.lock`` with the sha256 of every wheel of each pinned version that CPython 3.11 on
Linux (x86-64 or aarch64) could install, read from the package index, so the lock builds on
either architecture. ``environment_image`` is the image a grading uses: the runner image, or
the one built from it and the lock (``sandbox.ensure_derived_image``: built once per runner
digest and lock, when first needed). The lock's format is in ``grader.spec._environment``.

Errors: ``EnvironmentLockError`` (the lock cannot be written: pip's resolver, the index, a CUDA
build); building raises ``sandbox.ImageError``, which gradings report as the grader's own error.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

import sandbox
from grader.spec import (
    LOCK_FILE,
    Assignment,
    EnvironmentLock,
    EnvironmentSpec,
    LockedPackage,
    parse_lock,
    request_name,
)
from sandbox._doctor import Probe, environment_probes
from sandbox._image import LogFn, recipe_paths
from sandbox._limits import Runtime

__all__ = ["EnvironmentLockError", "UsedEnvironment", "environment_image", "grading_image_digest",
           "lock_environment", "probe_environment", "runner_lock_sha256",
           "unused_environment_images", "used_environments"]

PACKAGE_INDEX = "https://pypi.org/simple"
# The runner image's interpreter (Dockerfile.runner's base) and the architectures it is built on.
_PYTHON = (3, 11)
_PLATFORM = re.compile(r"manylinux\w*_(x86_64|aarch64)")
_CUDA = re.compile(r"^nvidia-|cuda|cudnn|cublas")


class EnvironmentLockError(Exception):
    """``environment.lock`` cannot be written; the message says why and what to change."""


def lock_environment(assignment_id: str, folder: Path, environment: EnvironmentSpec, *,
                     runner_image: str) -> EnvironmentLock:
    """Resolve ``environment`` against the runner image and write ``folder/environment.lock``."""
    try:
        wheels = sandbox.resolve_wheels(image=runner_image, requirements=environment.packages)
    except sandbox.ImageError as exc:
        raise EnvironmentLockError(str(exc)) from exc
    cuda = [f"{w.name}=={w.version}" for w in wheels
            if _CUDA.search(canonicalize_name(w.name)) or "+cu" in w.version]
    if cuda:
        raise EnvironmentLockError(
            f"{' '.join(environment.packages)} would install CUDA builds ({', '.join(cuda)}); "
            "candidates run on CPU: choose a CPU package (e.g. faiss-cpu) or drop it")
    lock = EnvironmentLock(
        requested=tuple(sorted(environment.packages, key=request_name)),
        runner_lock_sha256=runner_lock_sha256(),
        packages=tuple(sorted((_locked(wheel) for wheel in wheels), key=lambda p: p.name)))
    (folder / LOCK_FILE).write_text(lock.render(assignment_id), encoding="utf-8")
    return lock


def runner_lock_sha256() -> str:
    """The sha256 of the runner image's lock (requirements/runner.lock), which an environment
    lock records as what it was resolved against."""
    return hashlib.sha256(recipe_paths()[1].read_bytes()).hexdigest()


def _locked(wheel: sandbox.ResolvedWheel) -> LockedPackage:
    name = canonicalize_name(wheel.name)
    hashes = {wheel.sha256, *_index_hashes(name, wheel.version)}
    return LockedPackage(name=name, version=wheel.version, hashes=tuple(sorted(hashes)))


def _index_hashes(name: str, version: str) -> list[str]:
    """The sha256 of every wheel of ``name==version`` the runner image could install on any of
    its architectures, from the index's JSON API (PEP 691)."""
    url = f"{PACKAGE_INDEX}/{name}/"
    try:
        response = requests.get(url, timeout=60,
                                headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        response.raise_for_status()
        files = response.json()["files"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise EnvironmentLockError(f"cannot read {url} for the hashes of {name}=={version}'s "
                                   f"wheels: {exc}") from exc
    return [entry["hashes"]["sha256"] for entry in files
            if "sha256" in entry.get("hashes", {}) and _installable(entry["filename"], name,
                                                                     version)]


def _installable(filename: str, name: str, version: str) -> bool:
    try:
        wheel_name, wheel_version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False  # an sdist: never installed (--only-binary)
    if wheel_name != name or str(wheel_version) != version:
        return False
    return any(_python_fits(tag.interpreter, tag.abi)
               and (tag.platform == "any" or _PLATFORM.fullmatch(tag.platform))
               for tag in tags)


def _python_fits(interpreter: str, abi: str) -> bool:
    major, minor = _PYTHON
    if interpreter in (f"py{major}", f"py{major}{minor}"):
        return abi == "none"
    if interpreter == f"cp{major}{minor}":
        return abi in ("none", "abi3", f"cp{major}{minor}")
    # A stable-ABI wheel built for an older CPython 3 runs on this one.
    found = re.fullmatch(rf"cp{major}(\d+)", interpreter)
    return abi == "abi3" and found is not None and int(found.group(1)) <= minor


def environment_image(assignment: Assignment, folder: Path, *, runner_image: str,
                      log: LogFn = lambda _line: None) -> str:
    """The image ``assignment``'s candidates run in: the runner image, or the image of its
    environment, built first when missing. Raises sandbox.SandboxError (building failed: the
    message ends with pip's output) and OSError (the lock cannot be read)."""
    if assignment.environment is None:
        return runner_image
    lock_text = (folder / LOCK_FILE).read_text(encoding="utf-8")
    return sandbox.ensure_derived_image(base_image=runner_image, lock_text=lock_text, log=log).tag


@dataclass(frozen=True)
class UsedEnvironment:
    """An assignment's environment as this runner image would run it."""

    assignment_id: str
    tag: str
    lock_text: str
    lock: EnvironmentLock


def used_environments(assignments: list[tuple[Assignment, Path]], *, runner_digest: str
                      ) -> list[UsedEnvironment]:
    """The environment image each of ``assignments`` uses on the runner image ``runner_digest``
    (assignments without an environment have none)."""
    used = []
    for assignment, folder in assignments:
        if assignment.environment is not None:
            text = (folder / LOCK_FILE).read_text(encoding="utf-8")
            used.append(UsedEnvironment(
                assignment_id=assignment.id, tag=sandbox.derived_tag(runner_digest, text),
                lock_text=text, lock=parse_lock(text)))
    return used


def unused_environment_images(assignments: list[tuple[Assignment, Path]], *,
                              runner_image: str) -> list[sandbox.DerivedImageInfo]:
    """The environment images on this engine that none of ``assignments`` uses on the runner
    image as it is now (built from an old lock or an old runner image). Only images the sandbox
    built and labelled are ever listed; without a runner image, every one is unused."""
    runner_digest = sandbox.image_digest(runner_image)
    used = ({u.tag for u in used_environments(assignments, runner_digest=runner_digest)}
            if runner_digest else set())
    return [image for image in sandbox.derived_images() if not used.intersection(image.tags)]


def grading_image_digest(assignment: Assignment, folder: Path, *, runner_image: str
                         ) -> str | None:
    """The digest of the image ``assignment`` is graded in: the one its reports cite and its
    measured anchors are kept under. None while the runner image is missing; the environment's
    image is built first when missing (sandbox.SandboxError, OSError as for environment_image)."""
    if sandbox.image_digest(runner_image) is None:
        return None
    return sandbox.image_digest(environment_image(assignment, folder, runner_image=runner_image))


def probe_environment(used: UsedEnvironment, *, runtime: Runtime = "runc") -> list[Probe]:
    """What the doctor and validation check of an environment: resolved against the current
    runner lock and, once its image is built (not yet is no fault: the first grading builds
    it), the image as ``sandbox._doctor.environment_probes`` checks it."""
    current = runner_lock_sha256()
    # Resolved against another runner lock, it may miss a dependency the runner no longer has
    # (pip check would then fail the build) or duplicate one it gained.
    probes = [Probe(name="runner_lock", ok=used.lock.runner_lock_sha256 == current,
                    detail="resolved against this requirements/runner.lock"
                    if used.lock.runner_lock_sha256 == current else
                    f"resolved against another runner.lock; run `grader assignment lock "
                    f"{used.assignment_id}`")]
    if sandbox.image_digest(used.tag) is None:
        return [*probes, Probe(name="built", ok=True, detail=(
            f"not yet: built on first use, or now by `grader sandbox build --assignment "
            f"{used.assignment_id}`"))]
    return [*probes, *environment_probes(
        image=used.tag, lock_text=used.lock_text, runtime=runtime,
        pins={p.name: p.version for p in used.lock.packages},
        requested=[request_name(r) for r in used.lock.requested])]
