"""Scaffolding, listing, bundling and validating assignments."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring import (
    BUNDLE_MANIFEST,
    OVERLAP_WARNING,
    AssignmentNotFound,
    BundleRefused,
    PublicFolderRefused,
    build_bundle,
    find_assignment,
    hidden_split_overlap,
    list_assignments,
    new_assignment,
    validate_assignment,
    with_scores,
)
from grader.cli import app
from grader.instance import load_generator
from grader.intake import IntakeRules
from grader.settings import BUILT_IN_ASSIGNMENTS, get_settings
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
    assignment = load_assignment(scaffold, ceiling=Limits())
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
    found = dict(list_assignments(root, ceiling=Limits()))
    assert found["demo"].id == "demo"
    assert isinstance(found["broken"], SpecError)
    assert "bogus" in str(found["broken"])


def test_find_names_the_known_assignments(scaffold: Path, root: Path) -> None:
    with pytest.raises(AssignmentNotFound, match="known: demo"):
        find_assignment(root, "missing", ceiling=Limits())


def test_bundle_holds_the_candidate_folder_and_a_manifest(scaffold: Path, tmp_path: Path) -> None:
    assignment = load_assignment(scaffold, ceiling=Limits())
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
    assignment = load_assignment(scaffold, ceiling=Limits())
    with pytest.raises(BundleRefused, match=r"hidden/generate\.py"):
        build_bundle(assignment, scaffold, tmp_path / "bundle.zip")
    assert list(tmp_path.glob("bundle.zip*")) == []


def test_bundle_refuses_a_hidden_file_with_a_comment_added(scaffold: Path,
                                                          tmp_path: Path) -> None:
    source = (scaffold / "hidden" / "generate.py").read_text()
    copy = source.replace("def rows(", "# a helper, nothing to see here\ndef rows(", 1)
    (scaffold / "candidate" / "helpers.py").write_text(copy)
    with pytest.raises(BundleRefused, match=r"near copy of hidden/generate\.py in helpers\.py"):
        build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "bundle.zip")
    assert list(tmp_path.glob("bundle.zip*")) == []


def test_bundle_refuses_a_reference_solution_pasted_into_the_stub(scaffold: Path,
                                                                 tmp_path: Path) -> None:
    stub = scaffold / "candidate" / "solution.py"
    reference = (scaffold / "reference" / "solution" / "solution.py").read_text()
    stub.write_text(stub.read_text() + "\n\n# solved\n" + reference.replace("    ", "  "))
    with pytest.raises(BundleRefused, match=r"reference/solution/solution\.py"):
        build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "bundle.zip")


def _hidden_rows(folder: Path) -> list[dict]:
    assignment = load_assignment(folder, ceiling=Limits())
    generator = load_generator(assignment, folder)
    assert generator is not None
    return generator.hidden_items(assignment.reproducibility.seeds)


@pytest.mark.parametrize("form", ["jsonl", "csv", "renamed ids"])
def test_bundle_refuses_hidden_rows_written_into_the_public_data(scaffold: Path, tmp_path: Path,
                                                                form: str) -> None:
    rows = [r for r in _hidden_rows(scaffold) if r["label"] == "long"][:10]
    data = scaffold / "candidate" / "data"
    if form == "jsonl":
        (data / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif form == "csv":
        (data / "more.csv").write_text("text,label\n" + "".join(
            f'"{r["text"]}",{r["label"]}\n' for r in rows))
    else:  # appended to the public train file under new ids, keys reordered
        with open(data / "train.jsonl", "a") as f:
            f.writelines(json.dumps({"label": r["label"], "text": r["text"], "id": f"x{i}"})
                         + "\n" for i, r in enumerate(rows))
    with pytest.raises(BundleRefused, match=r"10 of the 100 hidden items .*data/"):
        build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "bundle.zip")
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    assert not next(c for c in report.checks if c.name == "bundle_has_no_hidden_file").ok


QUESTIONS = '''
def hidden_items(seeds):
    return [{"question": f"what does {r['text']} say", "answer": r["text"]}
            for r in rows(seeds["hidden"], 100) if r["label"] == "long"]
'''


def test_a_public_row_quoting_one_text_of_a_hidden_item_is_not_that_item(
        scaffold: Path, tmp_path: Path) -> None:
    """A corpus passage may hold a hidden answer: an item is there only with all its texts."""
    generator = scaffold / "hidden" / "generate.py"
    generator.write_text(generator.read_text() + QUESTIONS)
    items = _hidden_rows(scaffold)
    data = scaffold / "candidate" / "data"
    (data / "corpus.jsonl").write_text("".join(json.dumps({"id": f"p{i}", "text": r["answer"]})
                                               + "\n" for i, r in enumerate(items)))
    build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "bundle.zip")
    with open(data / "corpus.jsonl", "a") as f:  # the whole items: refused
        f.writelines(json.dumps(r) + "\n" for r in items[:5])
    with pytest.raises(BundleRefused, match=f"5 of the {len(items)} hidden items"):
        build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "again.zip")


def test_the_bundle_check_names_a_broken_generator(scaffold: Path, tmp_path: Path) -> None:
    generator = scaffold / "hidden" / "generate.py"
    generator.write_text(generator.read_text().replace('rows(seeds["hidden"]',
                                                       'rows(seeds["nope"]'))
    with pytest.raises(BundleRefused, match=r"hidden_items\(\) of hidden/generate\.py .*'nope'"):
        build_bundle(load_assignment(scaffold, ceiling=Limits()), scaffold, tmp_path / "bundle.zip")


SEED_BLIND = '''
import random
from pathlib import Path


def public_files(seeds):
    data = Path(__file__).resolve().parent.parent / "candidate" / "data"
    return {"train.jsonl": (data / "train.jsonl").read_bytes()}


def hidden_items(seeds):
    rng = random.Random(7)  # the seeds are forgotten: every instance grades on this split
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    return [{"id": f"h{i}", "text": " ".join(rng.choice(words) for _ in range(6)),
             "label": rng.choice(["short", "long"])} for i in range(50)]
'''


def test_validate_warns_when_two_instances_share_their_hidden_split(scaffold: Path) -> None:
    (scaffold / "hidden" / "generate.py").write_text(SEED_BLIND)
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    check = next(c for c in report.checks if c.name == "hidden_split_depends_on_instance")
    assert not check.ok and check.severity == "warning"
    assert "share 100% of their hidden items and 100% of their hidden texts" in check.detail
    assert report.warnings == [check]
    assert report.ok  # a warning, not a failure


def test_validate_does_not_warn_when_the_hidden_split_follows_the_seeds(scaffold: Path) -> None:
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    check = next(c for c in report.checks if c.name == "hidden_split_depends_on_instance")
    assert check.ok, check.detail
    assert "share 0% of their hidden items and 0% of their hidden texts" in check.detail
    assert report.ok and report.warnings == []


def test_validate_warns_about_an_assignment_without_an_instance_generator(
        scaffold: Path) -> None:
    spec = scaffold / "assignment.yaml"
    text = spec.read_text()
    spec.write_text(text[:text.index("# Each deployment")] + text[text.index("release:"):])
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    assert report.ok
    assert [c.name for c in report.warnings] == ["hidden_split_depends_on_instance"]
    assert "private content" in report.warnings[0].detail


def test_validate_warns_with_what_public_code_reads_of_a_private_instance(
        scaffold: Path, tmp_path: Path) -> None:
    generator = scaffold / "hidden" / "generate.py"
    generator.write_text(generator.read_text() + (
        "\n\ndef exposure(seeds):\n"
        "    return ['The hidden texts are worded by a public template.']\n"))
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    assert report.ok and [c.name for c in report.warnings] == ["instance_exposure"]
    assert report.warnings[0].detail == ("on a private instance: The hidden texts are worded by "
                                         "a public template.")
    # Another folder: a generator is imported once per process and path.
    broken = shutil.copytree(scaffold, tmp_path / "broken" / scaffold.name)
    generator = broken / "hidden" / "generate.py"
    generator.write_text(generator.read_text().replace(
        "    return ['The hidden texts", "    raise ValueError('questions.jsonl line 3')  # "))
    report = validate_assignment(broken, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    check = next(c for c in report.checks if c.name == "instance_exposure")
    assert not report.ok and check.severity == "error"
    assert "failed in exposure(): ValueError: questions.jsonl line 3" in check.detail


def test_overlap_counts_items_and_texts_but_not_labels_or_ids() -> None:
    texts = [f"the hidden question number {i} asks this" for i in range(10)]
    first = [{"id": f"q{i}", "text": t, "label": "yes"} for i, t in enumerate(texts)]
    renumbered = [{**row, "id": f"other{i}"} for i, row in enumerate(first)]
    assert hidden_split_overlap(first, first) == (1.0, 1.0)
    assert hidden_split_overlap(first, renumbered) == (0.0, 1.0)
    fresh = [{"id": f"q{i}", "text": f"a different question {i} for another instance",
              "label": "yes"} for i in range(10)]
    assert hidden_split_overlap(first, fresh) == (0.0, 0.0)
    half = first[:5] + fresh[5:]
    assert hidden_split_overlap(first, half) == (0.5, 0.5) and OVERLAP_WARNING < 0.5


def test_validate_checks_the_public_data_is_what_the_generator_makes(scaffold: Path) -> None:
    with open(scaffold / "candidate" / "data" / "train.jsonl", "a") as f:
        f.write(json.dumps({"id": "extra", "text": "hand written", "label": "short"}) + "\n")
    report = validate_assignment(scaffold, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["public_data_is_generated"]
    assert "train.jsonl" in failed["public_data_is_generated"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``grader ...`` in this process, with settings read afresh from the environment only."""
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("GRADER_ASSIGNMENTS_DIR", raising=False)

    def run(*args: str, **env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), terminal_width=200)
        finally:
            get_settings.cache_clear()
    return run


def test_assignment_new_writes_to_the_configured_assignments_dir(cli, tmp_path: Path) -> None:
    unset = cli("assignment", "new", "private_task")
    assert unset.exit_code == 1
    assert "GRADER_ASSIGNMENTS_DIR" in unset.output
    assert not (BUILT_IN_ASSIGNMENTS / "private_task").exists()
    private = tmp_path / "private"
    done = cli("assignment", "new", "private_task", "--template", "classification",
               GRADER_ASSIGNMENTS_DIR=str(private))
    assert done.exit_code == 0, done.output
    assert (private / "private_task" / "hidden" / "generate.py").is_file()
    assert load_assignment(private / "private_task", ceiling=Limits()).id == "private_task"
    assert not (BUILT_IN_ASSIGNMENTS / "private_task").exists()
    listed = cli("assignment", "list", "--json")
    assert [a["id"] for a in json.loads(listed.output)["assignments"]] == ["private_task"]


def test_the_repositorys_folder_may_be_chosen_on_purpose(cli, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    repository = tmp_path / "repository" / "assignments"
    monkeypatch.setattr("grader.authoring.BUILT_IN_ASSIGNMENTS", repository)
    with pytest.raises(PublicFolderRefused):
        new_assignment(repository, "built_in")
    done = cli("assignment", "new", "built_in", GRADER_ASSIGNMENTS_DIR=str(repository))
    assert done.exit_code == 0, done.output
    assert (repository / "built_in" / "assignment.yaml").is_file()


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
        "schema", "bundle_has_no_hidden_file", "public_data_is_generated",
        "hidden_split_depends_on_instance", "instance_exposure", "anchors_recorded",
        "baseline_constant", "baseline_reference", "top_anchor_passes_hidden_tests",
        "starter_fails_hidden_tests", "intervals"]
    assert report.checks[-1].ok  # the scaffold's accuracy is a right-or-wrong share: bounded


@pytest.mark.docker
def test_validate_catches_a_recorded_score_that_does_not_reproduce(scaffold: Path,
                                                                   runner_image: str) -> None:
    spec = scaffold / "assignment.yaml"
    spec.write_text(spec.read_text().replace("quality.accuracy: 0.6", "quality.accuracy: 0.7"))
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["baseline_constant"]
    assert "recorded 0.7, measured 0.6" in failed["baseline_constant"]


def test_validate_measures_timings_but_does_not_compare_them(scaffold: Path) -> None:
    from grader.authoring import _baseline_reproduces
    from grader.report import MetricResult, Report

    spec = scaffold / "assignment.yaml"
    accuracy = "- {name: accuracy, higher_is_better: true}"
    text = spec.read_text().replace(
        accuracy, accuracy + "\n      - {name: p95_ms, higher_is_better: false}")
    spec.write_text(text.replace("scores: {quality.accuracy: 0.6}",
                                 "scores: {quality.accuracy: 0.6, quality.p95_ms: 9}"))
    assignment = load_assignment(scaffold, ceiling=Limits())

    def report(**values: float | None) -> Report:
        metrics = [MetricResult.model_construct(name=f"quality.{k}", value=v)
                   for k, v in values.items()]
        return Report.model_construct(metrics=metrics, total=30.0)

    slower = _baseline_reproduces(assignment, "constant", report(accuracy=0.6, p95_ms=90.0))
    assert slower.ok and "quality.p95_ms 90" in slower.detail
    assert not _baseline_reproduces(assignment, "constant", report(accuracy=0.7, p95_ms=9.0)).ok
    assert not _baseline_reproduces(assignment, "constant", report(accuracy=0.6)).ok


def test_a_new_assignment_without_recorded_scores_loads_but_does_not_validate(
        scaffold: Path) -> None:
    spec = scaffold / "assignment.yaml"
    spec.write_text(spec.read_text().replace("scores: {quality.accuracy: 0.6}", "scores: {}"))
    assert load_assignment(scaffold, ceiling=Limits()).baseline("constant").scores == {}
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
                     "    assert candidate.predict(['x']) == ['classify']\n")
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["top_anchor_passes_hidden_tests"]
    assert "reference: test_behaviour.py::test_leftover" in failed["top_anchor_passes_hidden_tests"]
    assert "classify" in failed["top_anchor_passes_hidden_tests"]


def test_validate_reports_a_bug_in_hidden_code_as_the_graders_side(scaffold: Path,
                                                                    runner_image: str) -> None:
    tests = scaffold / "hidden" / "tests" / "test_behaviour.py"
    # Not an assertion about the answers: the author's own mistake, never a candidate's zero.
    tests.write_text(tests.read_text() + "\n\ndef test_leftover(candidate):\n"
                     "    candidate.classify(['x'])\n")
    report = validate_assignment(scaffold, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["trusted_code_runs"]
    assert "'classify' is not an entry point" in failed["trusted_code_runs"]


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
    recorded = {b.name: b.scores for b in load_assignment(spec.parent, ceiling=Limits()).baselines}
    assert with_scores(text, recorded) == text
