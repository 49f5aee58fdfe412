"""Reading ``assignment.yaml``: YAML, shape, cross-references and folder, each problem mapped
back to its line."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from grader.spec._checks import folder_issues
from grader.spec._environment import EnvironmentSpec
from grader.spec._errors import Loc, SpecError, SpecIssue
from grader.spec._models import Assignment
from sandbox import Limits

SPEC_FILE = "assignment.yaml"


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The line of the deepest node of ``loc`` the YAML tree holds (1-based), or None."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((key, value) for key, value in node.value
                          if isinstance(key, yaml.ScalarNode) and key.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> Iterator[SpecIssue]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen and name != "<<":
                yield SpecIssue((*loc, name), "duplicate key; YAML would keep only "
                                "the last one", key.start_mark.line + 1)
            seen.add(name)
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` in an Assignment, for did-you-mean hints."""
    annotation: Any = Assignment
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return []
            annotation = annotation.model_fields[str(part)].annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _problem(error: Any) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; expected one of: {', '.join(allowed)}" if allowed else "")
        return f"unknown field {loc[-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match the pattern {error['ctx']['pattern']}"
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{error['msg']} (got {value!r})"
    return str(error["msg"])


def load_assignment(folder: Path, *, ceiling: Limits) -> Assignment:
    """Read, validate and cross-check ``folder/assignment.yaml``; SpecError lists every problem.

    ``ceiling`` is the deployment's container limits (``Settings.limits``); the assignment's phase
    limits may only lower them.
    """
    file = folder / SPEC_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecIssue((), f"cannot read the spec: {exc.strerror or exc}")],
                        file) from exc
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc)
        raise SpecError([SpecIssue((), f"not valid YAML: {problem}",
                                   mark.line + 1 if mark else None)], file) from exc
    duplicates = list(_duplicate_keys(tree))
    if duplicates:
        raise SpecError(duplicates, file)
    if not isinstance(data, dict):
        raise SpecError([SpecIssue((), "the document must be a mapping of fields", 1)], file)

    try:
        assignment = Assignment.model_validate(data)
    except ValidationError as exc:
        issues = [SpecIssue(e["loc"], _problem(e), _line_of(tree, e["loc"]))
                  for e in exc.errors()]
        raise SpecError(issues, file) from exc
    except SpecError as exc:
        located = [SpecIssue(i.loc, i.problem, _line_of(tree, i.loc))
                   for i in exc.issues]
        raise SpecError(located, file) from exc

    issues = [SpecIssue(loc, problem, _line_of(tree, loc))
              for loc, problem in folder_issues(assignment, folder, ceiling)]
    if issues:
        raise SpecError(issues, file)
    return assignment


def read_environment(folder: Path) -> EnvironmentSpec | None:
    """Only the ``environment`` block of ``folder/assignment.yaml``: what ``grader assignment
    lock`` needs while the lock, which ``load_assignment`` checks, does not yet fit it."""
    file = folder / SPEC_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError([SpecIssue((), f"cannot read the spec: {exc}")], file) from exc
    block = data.get("environment") if isinstance(data, dict) else None
    if block is None:
        return None
    try:
        return EnvironmentSpec.model_validate(block)
    except ValidationError as exc:
        raise SpecError([SpecIssue(("environment", *e["loc"]), _problem(e)) for e in exc.errors()],
                        file) from exc


def assignment_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``assignment.yaml``, for editors and for ``schemas/``."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Assignment.model_json_schema()}

