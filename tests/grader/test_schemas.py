"""The committed JSON Schemas match the models, and the generator writes them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grader.schemas import (
    AUTHORING_DOC,
    SCHEMA_DIR,
    SCHEMAS,
    field_reference,
    render,
    render_authoring_doc,
    write_all,
)
from grader.spec import Anchor, Assignment, RubricComponent


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == render(name), (
        f"schemas/{name} is out of date; regenerate with `python -m grader.schemas`")


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(render(name)))


def test_the_generator_writes_every_schema(tmp_path: Path) -> None:
    written = write_all(tmp_path, doc=tmp_path / "absent.md")
    assert sorted(p.name for p in written) == sorted(SCHEMAS)
    assert all(p.read_text() == render(p.name) for p in written)



def test_the_authoring_field_reference_is_current() -> None:
    committed = AUTHORING_DOC.read_text(encoding="utf-8")
    assert committed == render_authoring_doc(committed), (
        "docs/authoring.md's field reference is out of date; regenerate with "
        "`python -m grader.schemas`")


def test_the_field_reference_documents_every_field() -> None:
    reference = field_reference()
    for model in (Assignment, RubricComponent, Anchor):
        for name in model.model_fields:
            assert f"| `{name}` |" in reference, f"{model.__name__}.{name} is not documented"
