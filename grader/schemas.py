"""The JSON Schemas committed under schemas/, and the field reference in docs/authoring.md, both
generated from the models so they cannot drift.

Regenerate with ``python -m grader.schemas``; a test fails when a committed file is out of date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.report import report_json_schema
from grader.spec import assignment_json_schema

__all__ = ["AUTHORING_DOC", "SCHEMAS", "SCHEMA_DIR", "field_reference", "render", "write_all"]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
AUTHORING_DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"
_BEGIN = "<!-- BEGIN GENERATED FIELD REFERENCE: python -m grader.schemas -->"
_END = "<!-- END GENERATED FIELD REFERENCE -->"
SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "assignment.schema.json": assignment_json_schema,
    "report.schema.json": report_json_schema,
}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=True) + "\n"


def field_reference() -> str:
    """Markdown tables of every assignment.yaml field, one section per object, in schema order."""
    schema = assignment_json_schema()
    definitions = schema["$defs"]
    sections = [("assignment.yaml", schema)]
    seen = set()
    index = 0
    while index < len(sections):
        _, node = sections[index]
        index += 1
        for prop in node.get("properties", {}).values():
            for ref in _refs(prop):
                if ref not in seen:
                    seen.add(ref)
                    sections.append((ref, definitions[ref]))
    lines = []
    for title, node in sections:
        lines += [f"### `{title}`", ""]
        if node.get("description") and title != "assignment.yaml":
            lines += [node["description"].strip(), ""]
        lines += ["| field | type | required | default | meaning |",
                  "| --- | --- | --- | --- | --- |"]
        required = set(node.get("required", []))
        for name, prop in node.get("properties", {}).items():
            default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
            meaning = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {_type(prop)} | {'yes' if name in required else 'no'} "
                         f"| {default} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def _refs(prop: dict[str, Any]) -> list[str]:
    found = []
    for key, value in prop.items():
        if key == "$ref":
            found.append(value.rsplit("/", 1)[-1])
        elif isinstance(value, dict):
            found += _refs(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found += _refs(item)
    return found


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    if "anyOf" in prop:
        return " or ".join(_type(option) for option in prop["anyOf"])
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object" and "additionalProperties" in prop:
        extra = prop["additionalProperties"]
        return f"map to {_type(extra) if isinstance(extra, dict) else 'any'}"
    return str(kind)


def render_authoring_doc(current: str) -> str:
    """docs/authoring.md with its generated section replaced by the current field reference."""
    head, _, rest = current.partition(_BEGIN)
    _, _, tail = rest.partition(_END)
    return f"{head}{_BEGIN}\n\n{field_reference()}\n{_END}{tail}"


def write_all(directory: Path = SCHEMA_DIR, doc: Path = AUTHORING_DOC) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name in SCHEMAS:
        (directory / name).write_text(render(name), encoding="utf-8")
        written.append(directory / name)
    if doc.is_file():
        doc.write_text(render_authoring_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(doc)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
