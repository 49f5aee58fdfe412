"""assignment.yaml: a full example loads; each mistake is named by field, problem and line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from grader.spec import (
    Assignment,
    LimitOverrides,
    SpecError,
    load_assignment,
)
from sandbox import Limits

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "schemas" / "assignment.schema.json"
GiB = 1024**3
# The example's build phase asks for 900 s, above the 600 s default, so the ceiling allows it.
CEILING = Limits(timeout=1800)

EXAMPLE: dict[str, Any] = {
    "id": "rag_pipeline",
    "title": "Retrieval for a company knowledge base",
    "version": "1.0.0",
    "summary": "Build an index over a corpus, then answer search queries from it.",
    "candidate": {"bundle": "candidate", "required_files": ["solution.py"],
                  "max_submissions": 3, "public_data": "candidate/data"},
    "entry_points": [
        {"name": "index", "phase": "build",
         "params": {"corpus_path": "string", "work_dir": "string"}, "returns": "null"},
        {"name": "load", "phase": "serve", "params": {"work_dir": "string"}, "returns": "null"},
        {"name": "search", "phase": "serve", "params": {"query": "string", "k": "integer"},
         "returns": {"type": "array", "items": {"type": "string"}}},
    ],
    "phases": {
        "build": {"call": "index",
                  "arguments": {"corpus_path": "/data/corpus.jsonl", "work_dir": "/work"},
                  "limits": {"memory": "2g", "timeout": 900}},
        "serve": {"load": "load", "call_timeout": 10, "limits": {"memory": "2g", "timeout": 600}},
    },
    "hidden_tests": [{"name": "behaviour", "path": "hidden/tests"}],
    "harnesses": [{"name": "retrieval", "path": "hidden/harness_retrieval.py", "metrics": [
        {"name": "recall_at_10", "higher_is_better": True},
        {"name": "search_p95_ms", "higher_is_better": False},
    ]}],
    "rubric": [
        {"id": "retrieval", "title": "Retrieval quality", "weight": 60,
         "metric": "retrieval.recall_at_10", "scale": {"anchors": [
             {"baseline": "constant", "points": 0.0},
             {"baseline": "bm25", "points": 0.5},
             {"baseline": "reference", "points": 1.0},
         ]}},
        {"id": "behaviour", "title": "Hidden behaviour tests", "weight": 40, "tests": "behaviour"},
    ],
    "baselines": [
        {"name": "constant", "path": "reference/constant",
         "scores": {"retrieval.recall_at_10": 0.01}},
        {"name": "bm25", "path": "reference/bm25", "scores": {"retrieval.recall_at_10": 0.77}},
        {"name": "reference", "path": "reference/solution",
         "scores": {"retrieval.recall_at_10": 0.98}},
    ],
    "reproducibility": {"tolerance": 0.02, "seeds": {"data": 13}},
    "release": {"candidate_fields": ["total", "components", "status"]},
}


def write_assignment(root: Path, spec: dict[str, Any] | str) -> Path:
    """The example's folder tree under ``root/rag_pipeline``, with ``spec`` as its yaml."""
    folder = root / "rag_pipeline"
    for directory in ("candidate/data", "hidden/tests", "reference/constant", "reference/bm25",
                      "reference/solution"):
        (folder / directory).mkdir(parents=True, exist_ok=True)
    (folder / "candidate" / "solution.py").write_text("def index(corpus_path, work_dir): ...\n")
    (folder / "hidden" / "tests" / "test_behaviour.py").write_text("def test_x(candidate): ...\n")
    (folder / "hidden" / "harness_retrieval.py").write_text("def evaluate(candidate, d): ...\n")
    text = spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False)
    (folder / "assignment.yaml").write_text(text)
    return folder


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return write_assignment(tmp_path, EXAMPLE)


def test_the_full_example_loads(example: Path) -> None:
    assignment = load_assignment(example, ceiling=CEILING)

    assert assignment.id == "rag_pipeline"
    assert assignment.entry_point("search").params == {"query": {"type": "string"},
                                                       "k": {"type": "integer"}}
    assert assignment.entry_point("index").returns == {"type": "null"}
    assert assignment.baseline("bm25").scores == {"retrieval.recall_at_10": 0.77}
    assert assignment.metric("retrieval.search_p95_ms").higher_is_better is False
    assert assignment.candidate.public_data == Path("candidate/data")
    build = assignment.phases.build.limits_within(CEILING)
    assert (build.memory, build.timeout, build.cpus) == (2 * GiB, 900, CEILING.cpus)
    assert assignment.phases.build.limit_overrides == {"memory": 2 * GiB, "timeout": 900}


def test_models_are_frozen(example: Path) -> None:
    assignment = load_assignment(example, ceiling=CEILING)
    with pytest.raises(pydantic.ValidationError):
        assignment.title = "changed"  # type: ignore[misc]


def test_the_ceiling_is_the_callers(example: Path) -> None:
    load_assignment(example, ceiling=CEILING)
    with pytest.raises(SpecError, match=r"phases\.build\.limits\.timeout: .*exceeds"):
        load_assignment(example, ceiling=Limits(timeout=300))


def test_limit_overrides_cover_every_limit() -> None:
    assert set(LimitOverrides.model_fields) == set(Limits.model_fields)


def test_limits_within_refuses_to_loosen(example: Path) -> None:
    assignment = load_assignment(example, ceiling=CEILING)
    with pytest.raises(ValueError, match="exceeds"):
        assignment.phases.build.limits_within(Limits(memory="1g", timeout=1800))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the example: set the value at a dotted path (ints index lists)."""
    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = spec
        for part in parents:
            node = node[part]
        node[last] = value
    return mutate


def _delete_file(relative: str) -> Callable[[Path], None]:
    return lambda folder: (folder / relative).unlink()


INVALID = [
    pytest.param(_set("rubric.0.wieght", 60), None, "rubric[0].wieght",
                 "unknown field 'wieght'; did you mean 'weight'?", id="unknown-field"),
    pytest.param(_set("id", "Rag-Pipeline"), None, "id", "'Rag-Pipeline' does not match",
                 id="bad-id"),
    pytest.param(_set("id", "other_name"), None, "id",
                 "must equal the assignment's folder name 'rag_pipeline'", id="id-not-folder"),
    pytest.param(_set("rubric.1.weight", 30), None, "rubric", "weights sum to 90, not 100",
                 id="weights"),
    pytest.param(_set("rubric.0.scale.anchors.1.baseline", "bm26"), None,
                 "rubric[0].scale.anchors[1].baseline", "no baseline named 'bm26'",
                 id="unknown-baseline"),
    pytest.param(_set("rubric.0.metric", "retrieval.ndcg_at_10"), None, "rubric[0].metric",
                 "harness 'retrieval' declares no metric 'ndcg_at_10'", id="undeclared-metric"),
    pytest.param(_set("rubric.0.metric", "ranking.recall_at_10"), None, "rubric[0].metric",
                 "no harness named 'ranking'", id="undeclared-harness"),
    pytest.param(_set("rubric.0.tests", "behaviour"), None, "rubric[0]",
                 "set exactly one of metric or tests, not both", id="metric-and-tests"),
    pytest.param(_set("rubric.1.tests", "robustness"), None, "rubric[1].tests",
                 "no hidden test suite named 'robustness'", id="unknown-suite"),
    pytest.param(None, _delete_file("hidden/harness_retrieval.py"), "harnesses[0].path",
                 "hidden/harness_retrieval.py does not exist", id="missing-hidden-file"),
    pytest.param(_set("phases.build.limits.memory", "8g"), None, "phases.build.limits.memory",
                 "exceeds the deployment's limit", id="loosened-limit"),
    pytest.param(_set("phases.build.limits.memroy", "1g"), None, "phases.build.limits.memroy",
                 "unknown field 'memroy'; did you mean 'memory'?", id="unknown-limit"),
    pytest.param(_set("rubric.0.scale.anchors.1.points", 0.0), None, "rubric[0].scale.anchors",
                 "points must strictly increase", id="anchors-not-increasing"),
    pytest.param(_set("rubric.0.scale.anchors.2.points", 1.5), None,
                 "rubric[0].scale.anchors[2].points", "less than or equal to 1",
                 id="anchor-above-one"),
    pytest.param(_set("baselines.1.scores", {"retrieval.recall_at_10": 0.995}), None,
                 "rubric[0].scale.anchors[2]", "reference (0.98) earns more points than bm25",
                 id="anchors-against-direction"),
    pytest.param(_set("phases.build.call", "search"), None, "phases.build.call",
                 "'search' is an entry point of the serve phase, not build",
                 id="call-of-another-phase"),
    pytest.param(_set("phases.serve.load", "index"), None, "phases.serve.load",
                 "'index' is an entry point of the build phase, not serve", id="load-of-build"),
    pytest.param(_set("phases.build.arguments", {"corpus_path": "/data/c.jsonl"}), None,
                 "phases.build.arguments", "missing argument 'work_dir' of index()",
                 id="missing-argument"),
    pytest.param(_set("phases.serve.call_timeout", 1200), None, "phases.serve.call_timeout",
                 "exceeds the serve phase's timeout of 600s", id="call-timeout"),
    pytest.param(_set("candidate.bundle", "."), None, "candidate.bundle",
                 "contains hidden_tests[0].path", id="hidden-tests-shipped"),
    pytest.param(_set("hidden_tests.0.path", "../elsewhere"), None, "hidden_tests[0].path",
                 "relative to the assignment folder", id="escaping-path"),
    pytest.param(_set("entry_points.2.returns", "list"), None, "entry_points[2].returns",
                 "'list' is not a JSON type", id="bad-json-type"),
    pytest.param(_set("release.candidate_fields", ["total", "secrets"]), None,
                 "release.candidate_fields[1]", "'secrets'", id="unknown-release-field"),
    pytest.param(_set("reproducibility", None), None, "reproducibility",
                 "valid dictionary", id="null-section"),
]


@pytest.mark.parametrize(("mutate", "damage", "field", "problem"), INVALID)
def test_invalid_specs_name_field_and_problem(
        tmp_path: Path, mutate: Callable[[dict[str, Any]], None] | None,
        damage: Callable[[Path], None] | None, field: str, problem: str) -> None:
    spec = copy.deepcopy(EXAMPLE)
    if mutate is not None:
        mutate(spec)
    folder = write_assignment(tmp_path, spec)
    if damage is not None:
        damage(folder)

    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)

    message = str(caught.value)
    assert str(folder / "assignment.yaml") in message
    assert f": {field}: " in message, message
    assert problem in message, message
    assert any(issue.field == field for issue in caught.value.issues)


def test_unknown_field_reports_its_line(tmp_path: Path) -> None:
    spec = copy.deepcopy(EXAMPLE)
    spec["rubric"][1]["wieght"] = 40
    text = yaml.safe_dump(spec, sort_keys=False)
    line = 1 + text.splitlines().index("  wieght: 40")
    folder = write_assignment(tmp_path, text)

    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)

    assert str(caught.value) == (f"{folder / 'assignment.yaml'}:{line}: rubric[1].wieght: "
                                 "unknown field 'wieght'; did you mean 'weight'?")
    assert caught.value.issues[0].line == line


def test_cross_reference_errors_report_their_line(tmp_path: Path) -> None:
    spec = copy.deepcopy(EXAMPLE)
    spec["rubric"][0]["scale"]["anchors"][1]["baseline"] = "bm26"
    text = yaml.safe_dump(spec, sort_keys=False)
    line = 1 + text.splitlines().index("    - baseline: bm26")
    folder = write_assignment(tmp_path, text)

    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)

    assert f"assignment.yaml:{line}: rubric[0].scale.anchors[1].baseline:" in str(caught.value)


def test_every_issue_is_reported_at_once(tmp_path: Path) -> None:
    spec = copy.deepcopy(EXAMPLE)
    spec["title"] = ""
    spec["rubric"][0]["wieght"] = 1
    del spec["summary"]
    folder = write_assignment(tmp_path, spec)

    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)

    assert {issue.field for issue in caught.value.issues} == {"title", "rubric[0].wieght",
                                                              "summary"}
    assert "summary: required field is missing" in str(caught.value)


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    text = yaml.safe_dump(EXAMPLE, sort_keys=False).replace(
        "  weight: 40\n", "  weight: 40\n  weight: 45\n")
    line = 1 + text.splitlines().index("  weight: 45")
    folder = write_assignment(tmp_path, text)

    with pytest.raises(SpecError, match=rf":{line}: rubric\[1\]\.weight: duplicate key"):
        load_assignment(folder, ceiling=CEILING)


@pytest.mark.parametrize(("text", "problem"), [
    ("id: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "the document must be a mapping"),
])
def test_unreadable_documents(tmp_path: Path, text: str, problem: str) -> None:
    folder = write_assignment(tmp_path, text)
    with pytest.raises(SpecError, match=problem):
        load_assignment(folder, ceiling=CEILING)


def test_a_missing_spec_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"assignment\.yaml: cannot read the spec"):
        load_assignment(tmp_path, ceiling=CEILING)


def test_models_built_in_code_check_references_too() -> None:
    spec = copy.deepcopy(EXAMPLE)
    spec["phases"]["build"]["call"] = "search"
    with pytest.raises(SpecError, match=r"^phases\.build\.call: 'search' is an entry point"):
        Assignment.model_validate(spec)


# --- manual rubric items ------------------------------------------------------------------------

MANUAL = [
    {"id": "readme_tradeoffs", "title": "README explains trade-offs", "levels": [
        {"points": 0, "description": "no discussion"},
        {"points": 2, "description": "names what was tried"},
        {"points": 4, "description": "weighs accuracy against cost, with evidence"}]},
    {"id": "structure", "title": "Code is structured for production", "levels": [
        {"points": 0.5, "description": "one long script"},
        {"points": 3, "description": "modules with tests"}]},
]


def _with_manual(items: list[dict[str, Any]]) -> dict[str, Any]:
    spec = copy.deepcopy(EXAMPLE)
    spec["manual_rubric"] = copy.deepcopy(items)
    return spec


def test_manual_rubric_is_optional_and_adds_nothing_by_default(example: Path) -> None:
    assignment = load_assignment(example, ceiling=CEILING)
    assert assignment.manual_rubric == []
    assert assignment.manual_max_points == 0


def test_manual_rubric_items_load_with_their_levels(tmp_path: Path) -> None:
    folder = write_assignment(tmp_path, _with_manual(MANUAL))
    assignment = load_assignment(folder, ceiling=CEILING)

    item = assignment.manual_item("readme_tradeoffs")
    assert item is not None and item.title == "README explains trade-offs"
    assert [level.points for level in item.levels] == [0, 2, 4]
    assert item.max_points == 4
    assert item.level(2.0) is not None and item.level(2.0).description == "names what was tried"
    assert item.level(3) is None  # a level the item does not offer
    assert assignment.manual_item("absent") is None
    # Manual points sit beside the automatic 100, out of their own maximum.
    assert assignment.manual_max_points == 7
    assert sum(component.weight for component in assignment.rubric) == 100


MANUAL_INVALID = [
    pytest.param(lambda items: items[1].update(id="readme_tradeoffs"), "manual_rubric[1].id",
                 "'readme_tradeoffs' is already used by manual_rubric[0]", id="duplicate-id"),
    pytest.param(lambda items: items[0].update(id="retrieval"), "manual_rubric[0].id",
                 "'retrieval' is already the id of an automatic rubric component",
                 id="id-of-automatic-component"),
    pytest.param(lambda items: items[0]["levels"][2].update(points=2), "manual_rubric[0].levels",
                 "points must strictly ascend: levels[2] has 2 after 2", id="repeated-points"),
    pytest.param(lambda items: items[0]["levels"].reverse(), "manual_rubric[0].levels",
                 "points must strictly ascend: levels[1] has 2 after 4", id="descending"),
    pytest.param(lambda items: items[1]["levels"][0].update(points=-1),
                 "manual_rubric[1].levels[0].points", "greater than or equal to 0",
                 id="negative-points"),
    pytest.param(lambda items: items[1].update(levels=items[1]["levels"][:1]),
                 "manual_rubric[1].levels", "at least 2 items", id="one-level"),
    pytest.param(lambda items: items[0]["levels"][1].update(description=""),
                 "manual_rubric[0].levels[1].description", "at least 1 character",
                 id="empty-description"),
    pytest.param(lambda items: items[0].update(weight=10), "manual_rubric[0].weight",
                 "unknown field 'weight'", id="unknown-field"),
    pytest.param(lambda items: items[0].update(id="README"), "manual_rubric[0].id",
                 "'README' does not match", id="bad-id"),
]


@pytest.mark.parametrize(("mutate", "field", "problem"), MANUAL_INVALID)
def test_invalid_manual_rubric_names_field_and_problem(
        tmp_path: Path, mutate: Callable[[list[dict[str, Any]]], None], field: str,
        problem: str) -> None:
    items = copy.deepcopy(MANUAL)
    mutate(items)
    folder = write_assignment(tmp_path, _with_manual(items))

    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)

    message = str(caught.value)
    assert f": {field}: " in message, message
    assert problem in message, message
    assert all(issue.line is not None for issue in caught.value.issues)


def test_the_schema_describes_manual_levels() -> None:
    import json

    schema = json.loads(SCHEMA_FILE.read_text())
    levels = schema["$defs"]["ManualItem"]["properties"]["levels"]
    assert levels["minItems"] == 2
    assert schema["$defs"]["ManualLevel"]["properties"]["points"]["minimum"] == 0
    assert "manual_rubric" not in schema.get("required", [])
