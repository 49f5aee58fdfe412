"""Path and query parameters the routes share, bounded so a wild value is a 422, never a 500."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from grader.spec import NAME_PATTERN
from grader.web._schemas import Problem

ID_MAX = 2**62  # within every database's 64-bit integer

SubmissionId = Annotated[int, Path(ge=1, le=ID_MAX)]
InviteId = Annotated[int, Path(ge=1, le=ID_MAX)]
TokenId = Annotated[int, Path(ge=1, le=ID_MAX)]
EndpointId = Annotated[int, Path(ge=1, le=ID_MAX)]
DeliveryId = Annotated[int, Path(ge=1, le=ID_MAX)]
AssignmentId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
ItemId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
Cohort = Annotated[str | None, Query(max_length=100)]

# What a reviewer route answers when the login or its scope is missing, for the OpenAPI document.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Problem}, 403: {"model": Problem}}
