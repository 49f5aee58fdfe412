"""The committed JSON Schemas match the models, and the generator writes them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grader.schemas import SCHEMA_DIR, SCHEMAS, render, write_all


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == render(name), (
        f"schemas/{name} is out of date; regenerate with `python -m grader.schemas`")


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(render(name)))


def test_the_generator_writes_every_schema(tmp_path: Path) -> None:
    written = write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(SCHEMAS)
    assert all(p.read_text() == render(p.name) for p in written)

