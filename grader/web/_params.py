"""Path and query parameters the routes share, bounded so a wild value is a 422, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from grader.spec import NAME_PATTERN

ID_MAX = 2**62  # within every database's 64-bit integer

SubmissionId = Annotated[int, Path(ge=1, le=ID_MAX)]
InviteId = Annotated[int, Path(ge=1, le=ID_MAX)]
AssignmentId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
ItemId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
Cohort = Annotated[str | None, Query(max_length=100)]
