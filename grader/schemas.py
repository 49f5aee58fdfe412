"""The JSON Schemas committed under schemas/, generated from the models so they cannot drift.

Regenerate with ``python -m grader.schemas``; a test fails when a committed file is out of date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.report import report_json_schema
from grader.spec import assignment_json_schema

__all__ = ["SCHEMAS", "SCHEMA_DIR", "render", "write_all"]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "assignment.schema.json": assignment_json_schema,
    "report.schema.json": report_json_schema,
}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=True) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name in SCHEMAS:
        (directory / name).write_text(render(name), encoding="utf-8")
        written.append(directory / name)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
