"""Building the runner image, on machines with or without a container registry.

The build context is staged in a temporary directory so that it holds exactly what the image needs
(never the repository's data or virtualenv): the Dockerfile, the lock file, the agent, a local CPU
wheel of torch when pip's find-links has one, and the host's CA bundle for pip behind a proxy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from sandbox._engine import engine_client, engine_unavailable
from sandbox._errors import ImageError

LogFn = Callable[[str], None]

# Where the build recipe lives: beside the package in a wheel, at the repository root otherwise.
_PACKAGED_RECIPE = Path(__file__).parent / "runner"
_REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
_BOOTSTRAP_SUITE = "bookworm"
_BOOTSTRAP_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# The host's CA certificates, given to pip in every image build (runner and environment images)
# so that it trusts what the host trusts: a TLS-intercepting proxy, a private index.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    digest: str
    base_image: str
    torch_source: str


def recipe_paths() -> tuple[Path, Path]:
    """The Dockerfile and lock file the runner image is built from."""
    for root, lock in ((_PACKAGED_RECIPE, "runner.lock"), (_REPO_ROOT, "requirements/runner.lock")):
        dockerfile = root / "Dockerfile.runner"
        if dockerfile.is_file() and (root / lock).is_file():
            return dockerfile, root / lock
    raise ImageError("Dockerfile.runner and runner.lock not found; reinstall the package")


def image_digest(tag: str) -> str | None:
    """The content-addressed id of a local image, which reports cite; None when it is missing.
    Raises EngineUnavailable when the engine does not answer."""
    try:
        return engine_client().images.get(tag).id
    except docker.errors.ImageNotFound:
        return None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc


def build_runner_image(
    *,
    tag: str,
    base_image: str = DEFAULT_BASE_IMAGE,
    debian_mirror: str = DEFAULT_DEBIAN_MIRROR,
    log: LogFn = lambda _line: None,
) -> BuiltImage:
    """Build (or refresh from cache) the runner image and return its digest."""
    client = engine_client()
    dockerfile, lock = recipe_paths()
    base = _ensure_base_image(client, base_image, debian_mirror, log)
    torch_pin = _torch_pin(lock)
    wheel = _local_torch_wheel(torch_pin)
    with tempfile.TemporaryDirectory(prefix="runner-context-") as tmp:
        ctx = Path(tmp)
        shutil.copy2(dockerfile, ctx / "Dockerfile.runner")
        shutil.copy2(lock, ctx / "runner.lock")
        shutil.copytree(Path(__file__).parent / "agent", ctx / "agent",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (ctx / "build" / "wheels").mkdir(parents=True)
        if wheel is not None:
            _link_or_copy(wheel, ctx / "build" / "wheels" / wheel.name)
        ca = ctx / "build" / "ca-certificates.crt"
        if HOST_CA_BUNDLE.is_file():
            shutil.copy2(HOST_CA_BUNDLE, ca)
        else:
            ca.write_bytes(b"")
        log(f"building {tag} from {base} (torch from {wheel or 'the CPU index'})")
        try:
            stream = client.api.build(path=str(ctx), dockerfile="Dockerfile.runner", tag=tag,
                                      buildargs={"BASE_IMAGE": base, "TORCH_PIN": torch_pin},
                                      rm=True, forcerm=True, decode=True)
            for chunk in stream:
                if "error" in chunk:
                    raise ImageError(f"building the runner image failed: {chunk['error'].strip()}")
                if text := chunk.get("stream", "").rstrip():
                    log(text)
        except docker.errors.APIError as exc:
            raise ImageError(f"building the runner image failed: {exc.explanation}") from exc
    digest = image_digest(tag)
    if digest is None:
        raise ImageError(f"the build finished but {tag} is not in the engine")
    return BuiltImage(tag=tag, digest=digest, base_image=base,
                      torch_source=str(wheel) if wheel else "cpu index")


def _ensure_base_image(client: docker.DockerClient, base_image: str, mirror: str,
                       log: LogFn) -> str:
    """Return a usable base image: the configured one, else a debootstrapped Debian one."""
    try:
        client.images.get(base_image)
        return base_image
    except docker.errors.ImageNotFound:
        pass
    try:
        log(f"pulling {base_image}")
        client.images.pull(base_image)
        return base_image
    except docker.errors.APIError as exc:
        log(f"cannot pull {base_image} ({exc.explanation}); bootstrapping a Debian base instead")
    recipe = f"{_BOOTSTRAP_SUITE} {mirror} {' '.join(_BOOTSTRAP_PACKAGES)}"
    tag = f"ml-grader-base:{_BOOTSTRAP_SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    _debootstrap_import(client, tag, mirror, log)
    return tag


def _debootstrap_import(client: docker.DockerClient, tag: str, mirror: str, log: LogFn) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("the base image cannot be pulled and debootstrap is missing: "
                         "run scripts/setup.sh as root, or `apt-get install debootstrap`")
    if os.geteuid() != 0:
        raise ImageError("bootstrapping a Debian base image needs root (debootstrap); "
                         "run `grader sandbox build` as root once, or make BASE_IMAGE pullable")
    with tempfile.TemporaryDirectory(prefix="runner-base-") as tmp:
        root = Path(tmp) / "rootfs"
        log(f"debootstrap {_BOOTSTRAP_SUITE} from {mirror} (a few minutes, once)")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(_BOOTSTRAP_PACKAGES)}",
               _BOOTSTRAP_SUITE, str(root), mirror]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            raise ImageError(f"debootstrap failed (exit {done.returncode}):\n{tail}")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / leftover, ignore_errors=True)
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive), "."],
                       check=True)
        repository, _, version = tag.partition(":")
        log(f"importing the base as {tag}")
        try:
            client.api.import_image_from_file(str(archive), repository=repository, tag=version)
        except docker.errors.APIError as exc:
            raise ImageError(f"docker import of the bootstrapped base failed: {exc}") from exc


def _torch_pin(lock: Path) -> str:
    match = re.search(r"^torch==(\S+)", lock.read_text(), flags=re.MULTILINE)
    if match is None:
        raise ImageError(f"{lock} does not pin torch")
    return match.group(1)


def _local_torch_wheel(version: str) -> Path | None:
    """A CPU wheel of exactly the pinned torch in pip's find-links, if there is one.

    Only '+cpu' wheels qualify: a wheel without that tag may be a CUDA build of several GB.
    """
    public = version.split("+")[0]
    arch = os.uname().machine
    pattern = re.compile(rf"^torch-{re.escape(public)}\+cpu-cp311-cp311-\S*{arch}\.whl$")
    for directory in _pip_find_links():
        if directory.is_dir():
            for candidate in sorted(directory.iterdir()):
                if pattern.match(candidate.name):
                    return candidate
    return None


def _pip_find_links() -> list[Path]:
    values = os.environ.get("PIP_FIND_LINKS", "").split()
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            values.extend(value.strip().strip("'\"").split())
    return [Path(v.removeprefix("file://")) for v in values if "://" not in v or v.startswith("file://")]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
