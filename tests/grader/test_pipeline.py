"""The grading pipeline end to end, against the real engine, on a freshly scaffolded assignment."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.instance import Instance
from grader.intake import IntakeRules
from grader.pipeline import InfrastructureError, grade_zip
from grader.report import Report, ReportStatus, write_report
from grader.spec import load_assignment
from sandbox import Limits

pytestmark = pytest.mark.docker

CEILING = Limits(memory="1g", cpus=1, timeout=300)


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_assignment(tmp_path_factory.mktemp("assignments"), "starter")


def _grader(assignment_folder: Path, runner_image: str, factory: pytest.TempPathFactory):
    assignment = load_assignment(assignment_folder, ceiling=Limits())

    def run(solution: Path | str, instance: Instance | None = None) -> Report:
        folder = Path(solution) if isinstance(solution, Path) else _write_solution(
            factory.mktemp("solution"), solution)
        archive = zip_folder(folder, factory.mktemp("zip") / "submission.zip")
        prepared = (instance or Instance.demo()).prepare(assignment, assignment_folder,
                                                         factory.mktemp("instances"))
        return grade_zip(assignment=assignment, folder=assignment_folder, instance=prepared,
                         zip_path=archive, runner_image=runner_image, ceiling=CEILING,
                         intake=IntakeRules())
    return run


@pytest.fixture(scope="module")
def grade(scaffold: Path, runner_image: str, tmp_path_factory: pytest.TempPathFactory):
    return _grader(scaffold, runner_image, tmp_path_factory)


@pytest.fixture(scope="module")
def honest_constant(grade, scaffold: Path) -> Report:
    return grade(scaffold / "reference" / "constant")


def _write_solution(folder: Path, source: str) -> Path:
    (folder / "solution.py").write_text(textwrap.dedent(source))
    return folder


CONSTANT = '''
import json, os
def train(train_path, work_dir):
    open(os.path.join(work_dir, "label.txt"), "w").write("long")
def load(work_dir):
    global _label
    _label = open(os.path.join(work_dir, "label.txt")).read()
def predict(texts):
    return [_label for _ in texts]
'''


def test_reference_reaches_full_points(grade, scaffold: Path) -> None:
    report = grade(scaffold / "reference" / "solution")
    assert report.status is ReportStatus.GRADED
    assert report.total == 100.0
    assert {t.outcome for t in report.hidden_tests} == {"passed"}
    assert [p.outcome for p in report.phases] == ["ok", "ok", "ok"]
    assert report.reproduction.runner_image_digest.startswith("sha256:")
    assert len(report.reproduction.submission_sha256) == 64


def test_a_constant_passes_the_tests_yet_earns_nothing(honest_constant: Report) -> None:
    by_id = {c.id: c for c in honest_constant.components}
    assert by_id["accuracy"].points == 0.0
    # The behaviour tests pass, but supporting points scale with quality, which is at the floor.
    assert by_id["behaviour"].unscaled == 1.0
    assert by_id["behaviour"].points == 0.0 and "quality fraction" in by_id["behaviour"].reason
    assert honest_constant.total == 0.0


def test_starter_stub_scores_zero_with_a_reason(grade, scaffold: Path) -> None:
    report = grade(scaffold / "candidate")
    assert report.total == 0.0
    assert "NotImplementedError" in report.message
    assert report.phases[0].outcome != "ok" or "NotImplementedError" in report.phases[0].message


def test_grading_twice_on_a_private_instance_gives_identical_reports(grade,
                                                                    scaffold: Path) -> None:
    instance = Instance(b"another fixed secret, for a private instance of the scaffold")
    first = grade(scaffold / "reference" / "solution", instance)
    second = grade(scaffold / "reference" / "solution", instance)
    assert not first.reproduction.demo
    assert _stable(first.model_dump(mode="json")) == _stable(second.model_dump(mode="json"))


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()
                if not k.endswith(("_seconds", "_bytes", "_ms", "_at"))}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


TAMPERING = {
    "monkeypatch_pytest_and_builtins": CONSTANT + '''
import builtins, sys
try:
    import pytest
    pytest.main = lambda *a, **k: 0
except ImportError:
    pass
builtins.len = lambda x: 100
for place in ("/tmp", "/work", "/submission"):
    try:
        open(place + "/conftest.py", "w").write("def pytest_runtest_makereport(): pass")
    except OSError:
        pass
''',
    "write_fake_reports": CONSTANT.replace('open(os.path.join(work_dir, "label.txt"), "w")', '''[
        open(os.path.join(p, "report.json"), "w").write('{"total": 100, "status": "graded"}')
        for p in (work_dir, "/tmp")] and open(os.path.join(work_dir, "label.txt"), "w")'''),
    "print_fake_protocol_lines": CONSTANT.replace("def predict(texts):", '''def predict(texts):
    import sys
    print('{"id": 99, "result": ["short", "long"]}')
    sys.__stdout__.write('{"id": 3, "result": []}\\n')'''),
}


@pytest.mark.parametrize("source", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_earns_no_more_than_honest_work(grade, honest_constant: Report,
                                                  source: str) -> None:
    report = grade(source)
    assert report.status is ReportStatus.GRADED
    assert report.total <= honest_constant.total


BROKEN = {
    "exit_0_in_build": ("import sys\ndef train(train_path, work_dir):\n    sys.exit(0)\n"
                        "def load(work_dir): pass\ndef predict(texts): return []\n", "SystemExit"),
    "os_exit_0_in_predict": (CONSTANT.replace("return [_label for _ in texts]",
                                              "import os; os._exit(0)"), "ended"),
    "wrong_type": (CONSTANT.replace("return [_label for _ in texts]", "return {'a': 1}"),
                   "wrong shape"),
    "wrong_label": (CONSTANT.replace("return [_label for _ in texts]", "return [1 for _ in texts]"),
                    "wrong shape"),
    "nan": (CONSTANT.replace("return [_label for _ in texts]", "return [float('nan')]"),
            "JSON"),
    "wrong_length": (CONSTANT.replace("return [_label for _ in texts]", "return ['long']"),
                     "evaluation"),
}


@pytest.mark.parametrize(("source", "reason"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_answers_score_zero_on_the_metric_with_a_reason(grade, source: str,
                                                               reason: str) -> None:
    report = grade(source)
    accuracy = next(c for c in report.components if c.id == "accuracy")
    assert accuracy.points == 0.0
    reasons = " ".join([report.message, accuracy.reason,
                        *(t.message for t in report.hidden_tests),
                        *(m.reason for m in report.metrics)])
    assert reason in reasons


def test_rejected_zip_writes_a_rejected_report(grade, scaffold: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "README.md").write_text("forgot the solution")
    report = grade(folder)
    assert report.status is ReportStatus.REJECTED
    assert "solution.py" in report.message
    assert report.total is None


def test_report_files_are_written_and_html_reads_on_its_own(grade, scaffold: Path,
                                                           tmp_path: Path) -> None:
    report = grade(scaffold / "reference" / "solution")
    json_path, html_path = write_report(report, tmp_path / "out")
    assert Report.model_validate(json.loads(json_path.read_text())) == report
    html = html_path.read_text()
    for needle in ("Accuracy on hidden texts", "test_empty_batch", report.reproduction.
                   runner_image_digest, "limits: build"):
        assert needle in html


def test_a_private_instance_changes_the_hidden_split_and_is_cited_not_its_seeds(
        grade, scaffold: Path, honest_constant: Report) -> None:
    instance = Instance(b"a fixed secret: its hidden split is known to differ")
    report = grade(scaffold / "reference" / "constant", instance)
    accuracy = next(m.value for m in report.metrics if m.name == "quality.accuracy")
    public = next(m.value for m in honest_constant.metrics if m.name == "quality.accuracy")
    assert accuracy != public
    assert (report.reproduction.instance_id, report.reproduction.demo) == (instance.id, False)
    assert report.reproduction.seeds == {}  # derived from the secret: never in a report
    assert honest_constant.reproduction.demo
    published = load_assignment(scaffold, ceiling=Limits()).reproducibility.seeds
    assert honest_constant.reproduction.seeds == published


# A hidden test that builds the submission again on data it has never seen: every label "short",
# where the public training data is mostly "long". It also sees the first build's saved size.
PROBE_TEST = """
import json

def test_builds_from_the_data_it_is_given(context, tmp_path):
    rows = [{"id": str(i), "text": "a b", "label": "short"} for i in range(3)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(row) + "\\n" for row in rows))
    with context.build_candidate(tmp_path) as probe:
        assert probe.predict(["anything at all"]) == ["short"]

def test_knows_the_size_of_the_saved_model(context):
    assert context.work_bytes == len("long")
"""


def _probing(scaffold: Path, folder: Path, probe_test: str) -> Path:
    shutil.copytree(scaffold, folder)
    (folder / "hidden" / "tests" / "test_probe.py").write_text(probe_test)
    return folder


@pytest.fixture(scope="module")
def grade_probing(scaffold: Path, runner_image: str, tmp_path_factory: pytest.TempPathFactory):
    folder = _probing(scaffold, tmp_path_factory.mktemp("probing") / "starter", PROBE_TEST)
    return _grader(folder, runner_image, tmp_path_factory)


def _probe_tests(report: Report) -> dict[str, str]:
    return {t.name.rsplit("::", 1)[1]: t.outcome for t in report.hidden_tests
            if "test_probe" in t.name}


def test_a_probe_build_passes_a_solution_that_learns_from_its_input(grade_probing,
                                                                    scaffold: Path) -> None:
    report = grade_probing(scaffold / "reference" / "constant")
    assert _probe_tests(report) == {"test_builds_from_the_data_it_is_given": "passed",
                                    "test_knows_the_size_of_the_saved_model": "passed"}
    by_name = {p.name.split(" (")[0]: p for p in report.phases}  # "(folder)" follows a probe's
    assert by_name["build"].work_bytes == len("long")
    assert by_name["build probe: behaviour"].outcome == "ok"
    assert by_name["build probe: behaviour"].work_bytes == len("short")
    assert by_name["serve probe: behaviour"].work_bytes is None


def test_a_probe_build_fails_a_solution_that_hard_codes_its_answer(grade_probing) -> None:
    report = grade_probing(CONSTANT)
    [probe] = [t for t in report.hidden_tests
               if t.name.endswith("test_builds_from_the_data_it_is_given")]
    assert probe.outcome == "failed"
    assert "['long'] == ['short']" in probe.message
    # The test's own failure is not the session's: both probe phases ended normally.
    assert {p.outcome for p in report.phases if "probe" in p.name} == {"ok"}


def test_probe_data_without_the_builds_input_is_the_assignments_fault(
        scaffold: Path, runner_image: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = _probing(scaffold, tmp_path_factory.mktemp("broken") / "starter",
                      PROBE_TEST.replace('"train.jsonl"', '"other.jsonl"'))
    grade = _grader(folder, runner_image, tmp_path_factory)
    with pytest.raises(InfrastructureError, match=r"has no train\.jsonl, which the build is given"):
        grade(scaffold / "reference" / "constant")


def test_a_probe_build_that_crashes_fails_the_test_with_the_reason(grade_probing) -> None:
    crashes_on_unseen_data = CONSTANT.replace(
        "def train(train_path, work_dir):",
        "def train(train_path, work_dir):\n"
        "    if sum(1 for _ in open(train_path)) < 10:\n"
        "        raise RuntimeError('too little data')")
    report = grade_probing(crashes_on_unseen_data)
    [probe] = [t for t in report.hidden_tests
               if t.name.endswith("test_builds_from_the_data_it_is_given")]
    assert probe.outcome == "failed"
    assert "RuntimeError: too little data" in probe.message
    assert "train()" in probe.message
