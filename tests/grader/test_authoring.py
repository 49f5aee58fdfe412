"""Scaffolding, listing, bundling and validating assignments."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.authoring import (
    BUNDLE_MANIFEST,
    AssignmentNotFound,
    BundleRefused,
    build_bundle,
    find_assignment,
    list_assignments,
    new_assignment,
    validate_assignment,
    with_scores,
)
from grader.intake import IntakeRules
from grader.spec import SpecError, load_assignment
from sandbox import Limits


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "assignments"


@pytest.fixture
def scaffold(root: Path) -> Path:
    root.mkdir()
    return new_assignment(root, "demo")


def test_a_new_scaffold_loads_as_it_is(scaffold: Path) -> None:
    assignment = load_assignment(scaffold)
    assert assignment.id == "demo"
    assert [b.name for b in assignment.baselines] == ["constant", "reference"]


@pytest.mark.parametrize("bad_id", ["Demo", "1demo", "de-mo", "../escape", ""])
def test_new_refuses_an_invalid_id(root: Path, bad_id: str) -> None:
    root.mkdir()
    with pytest.raises(ValueError, match="not a valid id"):
        new_assignment(root, bad_id)
    assert list(root.iterdir()) == []


def test_new_refuses_to_overwrite(scaffold: Path, root: Path) -> None:
    (scaffold / "marker").write_text("keep me")
    with pytest.raises(FileExistsError):
        new_assignment(root, "demo")
    assert (scaffold / "marker").read_text() == "keep me"


def test_new_refuses_an_unknown_template(root: Path) -> None:
    root.mkdir()
    with pytest.raises(ValueError, match=r"no template 'nope'.*blank"):
        new_assignment(root, "demo", template="nope")


def test_list_reports_broken_specs_beside_good_ones(scaffold: Path, root: Path) -> None:
    broken = root / "broken"
    shutil.copytree(scaffold, broken)
    spec = broken / "assignment.yaml"
    spec.write_text(spec.read_text().replace('id: "demo"', 'id: "broken"\nbogus: 1'))
    found = dict(list_assignments(root))
    assert found["demo"].id == "demo"
    assert isinstance(found["broken"], SpecError)
    assert "bogus" in str(found["broken"])


def test_find_names_the_known_assignments(scaffold: Path, root: Path) -> None:
    with pytest.raises(AssignmentNotFound, match="known: demo"):
        find_assignment(root, "missing")


def test_bundle_holds_the_candidate_folder_and_a_manifest(scaffold: Path, tmp_path: Path) -> None:
    assignment = load_assignment(scaffold)
    target = build_bundle(assignment, scaffold, tmp_path / "bundle.zip")
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(BUNDLE_MANIFEST))
    assert names == {"README.md", "solution.py", "check.py", "data/train.jsonl", BUNDLE_MANIFEST}
    assert {f["path"] for f in manifest["files"]} == names - {BUNDLE_MANIFEST}
    assert not any(name.startswith(("hidden", "reference")) for name in names)


def test_bundle_refuses_a_planted_hidden_file_under_any_name(scaffold: Path,
                                                            tmp_path: Path) -> None:
    shutil.copy(scaffold / "hidden" / "generate.py", scaffold / "candidate" / "data" / "extra.txt")
    assignment = load_assignment(scaffold)
    with pytest.raises(BundleRefused, match=r"hidden/generate\.py"):
        build_bundle(assignment, scaffold, tmp_path / "bundle.zip")
    assert list(tmp_path.glob("bundle.zip*")) == []


def test_validate_reports_a_schema_error_without_running_anything(scaffold: Path) -> None:
    spec = scaffold / "assignment.yaml"
    spec.write_text(spec.read_text().replace("weight: 70", "weight: 60"))
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules())
    assert not report.ok
    assert [c.name for c in report.checks] == ["schema"]
    assert "100" in report.checks[0].detail


@pytest.mark.docker
def test_validate_regrades_every_recorded_solution(scaffold: Path, runner_image: str) -> None:
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == [
        "schema", "bundle_has_no_hidden_file", "anchors_recorded", "baseline_constant",
        "baseline_reference", "top_anchor_passes_hidden_tests", "starter_fails_hidden_tests"]


@pytest.mark.docker
def test_validate_catches_a_recorded_score_that_does_not_reproduce(scaffold: Path,
                                                                   runner_image: str) -> None:
    spec = scaffold / "assignment.yaml"
    spec.write_text(spec.read_text().replace("quality.accuracy: 0.51", "quality.accuracy: 0.6"))
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["baseline_constant"]
    assert "recorded 0.6, measured 0.51" in failed["baseline_constant"]


def test_validate_measures_timings_but_does_not_compare_them(scaffold: Path) -> None:
    from grader.authoring import _baseline_reproduces
    from grader.report import MetricResult, Report

    spec = scaffold / "assignment.yaml"
    accuracy = "- {name: accuracy, higher_is_better: true}"
    text = spec.read_text().replace(
        accuracy, accuracy + "\n      - {name: p95_ms, higher_is_better: false}")
    spec.write_text(text.replace("scores: {quality.accuracy: 0.51}",
                                 "scores: {quality.accuracy: 0.51, quality.p95_ms: 9}"))
    assignment = load_assignment(scaffold)

    def report(**values: float | None) -> Report:
        metrics = [MetricResult.model_construct(name=f"quality.{k}", value=v)
                   for k, v in values.items()]
        return Report.model_construct(metrics=metrics, total=30.0)

    slower = _baseline_reproduces(assignment, "constant", report(accuracy=0.51, p95_ms=90.0))
    assert slower.ok and "quality.p95_ms 90" in slower.detail
    assert not _baseline_reproduces(assignment, "constant", report(accuracy=0.6, p95_ms=9.0)).ok
    assert not _baseline_reproduces(assignment, "constant", report(accuracy=0.51)).ok


def test_a_new_assignment_without_recorded_scores_loads_but_does_not_validate(
        scaffold: Path) -> None:
    spec = scaffold / "assignment.yaml"
    spec.write_text(spec.read_text().replace("scores: {quality.accuracy: 0.51}", "scores: {}"))
    assert load_assignment(scaffold).baseline("constant").scores == {}
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["anchors_recorded"]
    assert "constant for quality.accuracy" in failed["anchors_recorded"]


@pytest.mark.docker
def test_validate_catches_a_hidden_test_the_reference_cannot_pass(scaffold: Path,
                                                                   runner_image: str) -> None:
    tests = scaffold / "hidden" / "tests" / "test_behaviour.py"
    tests.write_text(tests.read_text() + "\n\ndef test_leftover(candidate):\n"
                     "    candidate.classify(['x'])\n")
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["top_anchor_passes_hidden_tests"]
    assert "reference: test_behaviour.py::test_leftover" in failed["top_anchor_passes_hidden_tests"]
    assert "classify" in failed["top_anchor_passes_hidden_tests"]


SPEC_WITH_COMMENTS = """\
baselines:
  - name: a  # the floor
    path: reference/a
    scores:
      m.one: 0.5{eol}
  # b: the reference, described above its entry
  - name: b
    path: reference/b
    scores:
      m.one: 0.9

reproducibility:
  tolerance: 0.0
"""


@pytest.mark.parametrize("eol", ["", "  # as measured in May"])
def test_new_scores_go_under_the_old_ones_and_comments_stay_put(eol: str) -> None:
    text = with_scores(SPEC_WITH_COMMENTS.format(eol=eol),
                       {"a": {"m.one": 0.5, "m.two": 0.25}, "b": {"m.one": 0.9, "m.two": 0.75}})
    assert text == SPEC_WITH_COMMENTS.format(eol=eol).replace(
        f"      m.one: 0.5{eol}\n", f"      m.one: 0.5{eol}\n      m.two: 0.25\n").replace(
        "      m.one: 0.9\n", "      m.one: 0.9\n      m.two: 0.75\n")


def test_a_baseline_without_scores_gets_them_above_the_next_ones_comment() -> None:
    spec = SPEC_WITH_COMMENTS.format(eol="").replace("    scores:\n      m.one: 0.5\n", "")
    text = with_scores(spec, {"a": {"m.one": 0.5}, "b": {"m.one": 0.9}})
    assert text == SPEC_WITH_COMMENTS.format(eol="")


def test_changed_scores_are_rewritten_in_place() -> None:
    text = with_scores(SPEC_WITH_COMMENTS.format(eol=""),
                       {"a": {"m.one": 0.4}, "b": {"m.one": 0.9}})
    assert text == SPEC_WITH_COMMENTS.format(eol="").replace("m.one: 0.5", "m.one: 0.4")


@pytest.mark.parametrize("assignment_id", ["rag_pipeline", "finetune_small", "fraud_detection"])
def test_recording_the_same_scores_changes_no_byte(assignment_id: str) -> None:
    spec = Path(__file__).resolve().parents[2] / "assignments" / assignment_id / "assignment.yaml"
    text = spec.read_text()
    recorded = {b.name: b.scores for b in load_assignment(spec.parent).baselines}
    assert with_scores(text, recorded) == text
