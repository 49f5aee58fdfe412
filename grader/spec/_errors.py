"""Spec problems: each one located by field path and YAML line, all raised together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecIssue:
    """One problem: where (``loc``, a pydantic-style path; () for the whole file) and what."""

    loc: Loc
    problem: str
    line: int | None = None

    @property
    def field(self) -> str:
        """The path as written in messages: ``rubric[2].scale.anchors[0].baseline``."""
        return format_loc(self.loc)


class SpecError(Exception):
    """An assignment spec that cannot be used; the message lists every issue, one per line."""

    def __init__(self, issues: Sequence[SpecIssue], file: Path | None = None) -> None:
        self.issues = tuple(issues)
        self.file = file
        super().__init__("\n".join(self._render(issue) for issue in self.issues))

    def _render(self, issue: SpecIssue) -> str:
        where = "" if self.file is None else str(self.file)
        if where and issue.line is not None:
            where += f":{issue.line}"
        parts = [part for part in (where, issue.field, issue.problem) if part]
        return ": ".join(parts)


def format_loc(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for an invalid mapping key
            text += f".{part}" if text else str(part)
    return text
