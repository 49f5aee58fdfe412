"""Receiving a submission: stream the body to disk under a byte cap, then hand it to the core's
``grader.submissions.submit`` (intake, the invite rule, the submission and its job stored).

The cap is ``settings.intake.max_compressed_bytes``, enforced three times: on the declared
Content-Length, on the bytes as they arrive (whatever the headers say), and on the zip part
itself. Over it the answer is 413 and nothing is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import anyio
from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from grader import submissions
from grader.spec import Assignment
from grader.store import Invite, Submission
from grader.web._deps import Service

CHUNK = 64 * 1024
# Multipart framing and small fields around the zip: allowed on top of the zip's own cap.
FRAMING_BYTES = 64 * 1024
FILE_FIELD = "file"


class UploadTooLarge(Exception):
    def __init__(self, cap: int) -> None:
        super().__init__(f"The upload is larger than {cap / (1024 * 1024):.4g} MiB ({cap:,} "
                         "bytes), the limit for a submission zip. Leave out data, model "
                         "weights, caches and virtual environments.")


class BadUpload(Exception):
    """The request carries no readable zip (no file part, broken multipart)."""


class Received:
    """A zip streamed to disk, and the form's text fields; ``discard()`` removes the file."""

    def __init__(self, path: Path, size: int, fields: dict[str, str]) -> None:
        self.path, self.size, self.fields = path, size, fields

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


async def _counted(stream: AsyncIterator[bytes], allowed: int, cap: int
                  ) -> AsyncGenerator[bytes, None]:
    """The stream, refused once it passes ``allowed`` bytes (the zip's ``cap``, plus the framing
    for a form); the refusal names the zip's cap either way."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > allowed:
            raise UploadTooLarge(cap)
        yield chunk


async def receive_zip(request: Request, service: Service) -> Received:
    """The request's zip on disk: a multipart form's ``file`` part, or the raw body."""
    cap = service.settings.intake.max_compressed_bytes
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    allowed = cap + FRAMING_BYTES if multipart else cap
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > allowed:
        raise UploadTooLarge(cap)
    service.uploads_dir.mkdir(parents=True, exist_ok=True)
    target = service.uploads_dir / f"{uuid.uuid4().hex}.zip"
    try:
        if multipart:
            size, fields = await _from_multipart(request, target, cap)
        else:
            size, fields = await _from_body(request, target, cap), {}
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Received(target, size, fields)


async def _from_body(request: Request, target: Path, cap: int) -> int:
    size = 0
    async with await anyio.open_file(target, "xb") as out:
        async for chunk in _counted(request.stream(), cap, cap):
            size += len(chunk)
            await out.write(chunk)
    if size == 0:
        raise BadUpload("The upload is empty; send the zip as the request body or as the "
                        f"'{FILE_FIELD}' field of a form.")
    return size


async def _from_multipart(request: Request, target: Path, cap: int
                          ) -> tuple[int, dict[str, str]]:
    parser = MultiPartParser(request.headers, _counted(request.stream(), cap + FRAMING_BYTES, cap),
                             max_files=1, max_fields=10, max_part_size=16 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadUpload(f"The form could not be read: {exc.message}") from exc
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise BadUpload(f"The form has no '{FILE_FIELD}' field with a zip in it.")
        size = await anyio.to_thread.run_sync(_copy_capped, upload, target, cap)
        if size == 0:
            raise BadUpload("The uploaded file is empty; choose your submission zip.")
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        return size, fields
    finally:
        await form.close()


def _copy_capped(upload: UploadFile, target: Path, cap: int) -> int:
    size = 0
    upload.file.seek(0)
    with target.open("xb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > cap:
                raise UploadTooLarge(cap)
            out.write(chunk)
    return size


def check_can_submit(service: Service, invite: Invite, used: int) -> None:
    """Refuse before reading a body (``grader.submissions.check_can_submit``)."""
    submissions.check_can_submit(invite, used, _assignment(service, invite))


def accept_upload(service: Service, invite: Invite, received: Received) -> Submission:
    """``grader.submissions.submit`` with this service's store, rules and folders. Blocking: run
    it in a worker thread."""
    return submissions.submit(service.db, invite, _assignment(service, invite), received.path,
                              size_bytes=received.size, rules=service.settings.intake,
                              submissions_root=service.submissions_root)


def _assignment(service: Service, invite: Invite) -> Assignment | None:
    found = service.catalog.get(invite.assignment_id)
    return found.assignment if found else None
