"""Images derived from a base image plus a hashed lock of extra wheels, and resolving such a lock.

The sandbox knows nothing of what a lock is for: it resolves requirements against what an image
already has (``resolve_wheels``), builds ``base + lock`` into an image tagged by a hash of the base
image's digest and the lock's text (``ensure_derived_image``: an unchanged pair is the same tag,
so it is built once), and lists or removes the images it built (``derived_images``,
``remove_derived_image``). Every derived image carries ``DERIVED_LABEL``; nothing else is ever
listed or removed here.

Building runs pip in the classic builder with the network on (the only time packages are
downloaded) and ``--require-hashes --no-deps --only-binary=:all:``: exactly the pinned wheels,
never a source build; then ``pip check``. Containers run from the image stay offline like any
other. A failed build raises ``ImageError`` carrying the tail of pip's output.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from sandbox._engine import engine_client, engine_unavailable
from sandbox._errors import EngineUnavailable, ImageError
from sandbox._image import HOST_CA_BUNDLE, LogFn, image_digest

DERIVED_REPOSITORY = "ml-grader-env"
DERIVED_LABEL = "ml-grader.derived"
BASE_DIGEST_LABEL = "ml-grader.derived.base-digest"
LOCK_SHA256_LABEL = "ml-grader.derived.lock-sha256"
# Where the lock is kept inside a derived image, for whoever checks it later.
IMAGE_LOCK_PATH = "/opt/grader/environment.lock"
# What the runner image was installed from: resolving against it as constraints keeps its pins.
_RUNNER_CONSTRAINTS = "/opt/grader/runner.lock"
_PIP_TAIL_CHARS = 3000

_DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
USER root
COPY ca-certificates.crt requirements.lock /tmp/build/
RUN set -eu; \\
    ca=/tmp/build/ca-certificates.crt; if [ -s "$ca" ]; then export PIP_CERT="$ca"; fi; \\
    pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: \\
        -r /tmp/build/requirements.lock; \\
    pip check; \\
    cp /tmp/build/requirements.lock {IMAGE_LOCK_PATH}; \\
    rm -rf /tmp/build
USER 10001:10001
"""


@dataclass(frozen=True)
class ResolvedWheel:
    """One wheel pip would install: its distribution, version, file name and sha256."""

    name: str
    version: str
    filename: str
    sha256: str
    requested: bool  # named in the requirements, not only a dependency of them


@dataclass(frozen=True)
class DerivedImage:
    tag: str
    digest: str
    base_digest: str
    lock_sha256: str
    built: bool  # False when the tag was already there (a cache hit)


def derived_tag(base_digest: str, lock_text: str) -> str:
    """The tag of ``base + lock``: the same pair always names the same image."""
    key = hashlib.sha256(f"{base_digest}\n{lock_text}".encode()).hexdigest()
    return f"{DERIVED_REPOSITORY}:{key[:20]}"


def lock_sha256(lock_text: str) -> str:
    return hashlib.sha256(lock_text.encode()).hexdigest()


def _ca_bundle() -> bytes:
    # pip behind a TLS-intercepting proxy trusts what the host trusts; empty means pip's own.
    return HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""


def ensure_derived_image(*, base_image: str, lock_text: str,
                         log: LogFn = lambda _line: None) -> DerivedImage:
    """The image of ``base_image`` plus the wheels ``lock_text`` pins, built when missing.

    One build per tag at a time on this host: a second caller waits for the first and then finds
    the image. Raises ImageError when the base is missing or the build fails (with pip's output),
    EngineUnavailable when the engine does not answer.
    """
    base_digest = image_digest(base_image)
    if base_digest is None:
        raise ImageError(f"the base image {base_image} is missing; run `grader sandbox build`")
    tag = derived_tag(base_digest, lock_text)
    found = image_digest(tag)
    if found is None:
        with _build_lock(tag):
            found = image_digest(tag)  # built by whoever held the lock before us
            if found is None:
                _build(base_image, base_digest, lock_text, tag, log)
                return DerivedImage(tag=tag, digest=_digest_after_build(tag),
                                    base_digest=base_digest,
                                    lock_sha256=lock_sha256(lock_text), built=True)
    return DerivedImage(tag=tag, digest=found, base_digest=base_digest,
                        lock_sha256=lock_sha256(lock_text), built=False)


def _digest_after_build(tag: str) -> str:
    digest = image_digest(tag)
    if digest is None:
        raise ImageError(f"the build finished but {tag} is not in the engine")
    return digest


@contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    # flock, so that gradings in other processes (worker children) wait too, and a crashed holder
    # releases it with its process.
    path = Path(tempfile.gettempdir()) / f"ml-grader-build-{tag.replace(':', '-')}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(base_image: str, base_digest: str, lock_text: str, tag: str, log: LogFn) -> None:
    context = io.BytesIO(_tar({"Dockerfile": _DOCKERFILE.encode(),
                               "requirements.lock": lock_text.encode(),
                               "ca-certificates.crt": _ca_bundle()}))
    log(f"building {tag} from {base_image} ({base_digest})")
    output: list[str] = []
    try:
        stream = engine_client().api.build(
            fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True, decode=True,
            buildargs={"BASE_IMAGE": base_image},
            labels={DERIVED_LABEL: "1", BASE_DIGEST_LABEL: base_digest,
                    LOCK_SHA256_LABEL: lock_sha256(lock_text)})
        for chunk in stream:
            if "error" in chunk:
                tail = "".join(output)[-_PIP_TAIL_CHARS:]
                raise ImageError(f"building {tag} failed: {chunk['error'].strip()}\n{tail}")
            if text := chunk.get("stream", ""):
                output.append(text)
                if text.rstrip():
                    log(text.rstrip())
    except docker.errors.APIError as exc:
        raise ImageError(f"building {tag} failed: {exc.explanation}") from exc
    except requests.exceptions.RequestException as exc:
        raise engine_unavailable(exc) from exc


def resolve_wheels(*, image: str, requirements: Sequence[str]) -> list[ResolvedWheel]:
    """What ``pip install requirements`` would add to ``image``: wheels only, with the image's
    installed packages kept as they are (its runner lock as constraints).

    Runs pip's resolver in a throwaway container of ``image`` with the network on; it installs
    nothing. Raises ImageError with pip's output when they cannot be resolved.
    """
    command = ["pip", "install", "--dry-run", "--quiet", "--no-cache-dir", "--report", "-",
               "--only-binary=:all:", "-c", _RUNNER_CONSTRAINTS, *requirements]
    ca = _ca_bundle()
    client = engine_client()
    try:
        container = client.containers.create(
            image, command=command, user="10001:10001", labels={DERIVED_LABEL: "resolve"},
            environment={"PIP_CERT": "/tmp/ca-certificates.crt"} if ca else {})
    except docker.errors.ImageNotFound as exc:
        raise ImageError(f"the image {image} is missing; run `grader sandbox build`") from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc
    try:
        if ca:
            container.put_archive("/tmp", _tar({"ca-certificates.crt": ca}))
        container.start()
        status = container.wait(timeout=600)
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineUnavailable(f"resolving {' '.join(requirements)} in {image} did not finish: "
                                f"{exc}") from exc
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0:
        raise ImageError(f"pip cannot resolve {' '.join(requirements)} as wheels in {image}:\n"
                         f"{(stderr or stdout)[-_PIP_TAIL_CHARS:]}")
    return [_wheel(item) for item in json.loads(stdout)["install"]]


def _wheel(item: Mapping[str, Any]) -> ResolvedWheel:
    info = item["download_info"]
    return ResolvedWheel(name=item["metadata"]["name"], version=item["metadata"]["version"],
                         filename=info["url"].rsplit("/", 1)[-1],
                         sha256=info["archive_info"]["hashes"]["sha256"],
                         requested=bool(item.get("requested")))


def _tar(files: Mapping[str, bytes]) -> bytes:
    """A tar of ``files`` (name: content), each readable by all: a build context, or a file put
    into a container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class DerivedImageInfo:
    id: str
    tags: tuple[str, ...]
    base_digest: str
    lock_sha256: str
    size_bytes: int


def derived_images() -> list[DerivedImageInfo]:
    """Every image ``ensure_derived_image`` built on this engine (by its label, nothing else)."""
    try:
        listed = engine_client().api.images(filters={"label": DERIVED_LABEL})
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc
    return [DerivedImageInfo(id=entry["Id"], tags=tuple(entry.get("RepoTags") or ()),
                             base_digest=(entry.get("Labels") or {}).get(BASE_DIGEST_LABEL, ""),
                             lock_sha256=(entry.get("Labels") or {}).get(LOCK_SHA256_LABEL, ""),
                             size_bytes=int(entry.get("Size") or 0))
            for entry in listed]


def remove_derived_image(image_id: str) -> None:
    """Remove one derived image; refused for an image without ``DERIVED_LABEL``."""
    client = engine_client()
    try:
        labels = client.api.inspect_image(image_id)["Config"].get("Labels") or {}
        if DERIVED_LABEL not in labels:
            raise ImageError(f"{image_id} is not an environment image; it is left alone")
        client.api.remove_image(image_id, force=True)
    except docker.errors.ImageNotFound:
        return
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc
