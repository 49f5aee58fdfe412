"""A candidate's failing code, explained to them, against the real engine: a crash at import, in
the build, in a serve call, running out of memory and running out of time, each a graded report
whose ``failure`` says what happened and where in their own files, scrubbed of anything hidden;
a weak but working submission has none."""

from __future__ import annotations

import json
import shutil
import textwrap
from types import SimpleNamespace

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.cli._grade import _summary
from grader.instance import Instance
from grader.intake import IntakeRules
from grader.outcomes import FailureKind
from grader.pipeline import grade_zip
from grader.report import Report, ReportStatus, render_html
from grader.spec import load_assignment
from grader.templating import environment
from sandbox import Limits

pytestmark = pytest.mark.docker

CEILING = Limits(memory="1g", cpus=1, timeout=300)
SERVE = '''
def load(work_dir):
    pass


def predict(texts):
    return ["long" for _ in texts]
'''
SOLUTIONS = {
    "import": "import json\nimport a_module_nobody_installed\n\n\n"
              "def train(train_path, work_dir):\n    pass\n" + SERVE,
    "train": '''
import sys


def train(train_path, work_dir):
    print(f"reading {train_path}", file=sys.stderr)
    return _parse(open(train_path).read())


def _parse(text):
    raise RuntimeError(f"cannot parse {len(text)} characters")
''' + SERVE,
    "serve": '''
def train(train_path, work_dir):
    pass


def load(work_dir):
    pass


def predict(texts):
    print("hidden input:", texts)
    raise ValueError(f"cannot classify {texts[0]!r}")
''',
    "oom": '''
def train(train_path, work_dir):
    hoard = []
    while True:
        hoard.append(bytearray(32 * 1024 * 1024))
''' + SERVE,
    "timeout": '''
def train(train_path, work_dir):
    while True:
        pass
''' + SERVE,
    "weak": '''
def train(train_path, work_dir):
    pass
''' + SERVE,
    # Both stop the harness, which leaves the serve session on the exception: the container is
    # killed by the grader, never by their code.
    "short": '''
def train(train_path, work_dir):
    pass


def load(work_dir):
    pass


def predict(texts):
    return ["long" for _ in texts[1:]]
''',
    "shape": '''
def train(train_path, work_dir):
    pass


def load(work_dir):
    pass


def predict(texts):
    return [1 for _ in texts]
''',
}


@pytest.fixture(scope="module")
def graded(runner_image: str, tmp_path_factory: pytest.TempPathFactory):
    """Grades one of SOLUTIONS (once per module) on a scaffold whose build has 256 MiB and 8 s,
    so running out of either is quick."""
    folder = tmp_path_factory.mktemp("assignments") / "starter"
    shutil.copytree(new_assignment(tmp_path_factory.mktemp("scaffold"), "starter"), folder)
    spec = folder / "assignment.yaml"
    spec.write_text(spec.read_text().replace("limits: {memory: 512m, timeout: 120}",
                                             "limits: {memory: 256m, timeout: 8}", 1))
    assignment = load_assignment(folder, ceiling=CEILING)
    instance = Instance.demo().prepare(assignment, folder, tmp_path_factory.mktemp("instances"))
    reports: dict[str, Report] = {}

    def grade(name: str) -> Report:
        if name not in reports:
            solution = tmp_path_factory.mktemp(name)
            (solution / "solution.py").write_text(textwrap.dedent(SOLUTIONS[name]).lstrip())
            archive = zip_folder(solution, tmp_path_factory.mktemp("zip") / "submission.zip")
            reports[name] = grade_zip(assignment=assignment, folder=folder, instance=instance,
                                      zip_path=archive, runner_image=runner_image,
                                      ceiling=CEILING, intake=IntakeRules())
        return reports[name]
    return grade


def _shown(report: Report) -> str:
    """Everything the candidate is shown of the failure."""
    return json.dumps(report.for_candidate([])["failure"])


def test_a_crash_at_import_names_the_module_and_the_line(graded, capsys) -> None:
    report = graded("import")
    failure = report.failure
    assert report.status is ReportStatus.GRADED and report.total == 0.0
    assert failure is not None and failure.kind is FailureKind.EXCEPTION
    assert failure.phase == "build"
    assert failure.summary == "Your code raised ModuleNotFoundError while importing solution.py."
    assert failure.exception_message == "No module named 'a_module_nobody_installed'"
    assert [(f.file, f.line, f.function) for f in failure.frames] == [
        ("solution.py", 2, "<module>")]
    assert "check.py" in failure.check_hint
    assert failure.summary in report.message
    shown = report.for_candidate([])
    assert shown["status"] == "failed" and shown["failure"] == failure.model_dump(mode="json")
    html = render_html(report)
    assert "The submission&#39;s code failed" in html and "a_module_nobody_installed" in html
    page = environment().get_template("candidate_status.html.j2").render(
        title="t", login=None, version="v", demo=False, base="/i/token", poll_url="",
        assignment_title="starter", view=SimpleNamespace(
            id=1, number=1, created_at=report.graded_at, status="graded", final=True, progress=None,
            result=shown, url="/i/token/submissions/1"))
    assert "your code failed" in page and "No module named" in page and "check.py" in page
    _summary(report)
    printed = " ".join(capsys.readouterr().out.split())  # as wrapped to the terminal's width
    assert failure.summary in printed and "solution.py, line 2, in <module>" in printed


def test_a_crash_in_the_build_shows_its_message_frames_and_output(graded) -> None:
    failure = graded("train").failure
    assert failure is not None and failure.kind is FailureKind.EXCEPTION
    assert failure.summary == "Your code raised RuntimeError in train()."
    assert failure.exception_message.startswith("cannot parse ")
    assert [(f.file, f.function) for f in failure.frames] == [("solution.py", "train"),
                                                              ("solution.py", "_parse")]
    assert "reading /data/train.jsonl" in failure.stderr_tail
    assert "/opt/grader" not in _shown(graded("train"))


def test_a_serve_call_that_raises_shows_no_hidden_input(graded) -> None:
    report = graded("serve")
    failure = report.failure
    assert failure is not None and failure.kind is FailureKind.EXCEPTION
    assert failure.phase == "serve"
    assert failure.summary == "Your code raised ValueError in the serve phase."
    assert [(f.file, f.function) for f in failure.frames] == [("solution.py", "predict")]
    # Its message and printout hold a hidden text: neither is shown.
    assert failure.exception_message is None and failure.stderr_tail == []
    assert "hidden input" not in _shown(report) and "cannot classify" not in _shown(report)


def test_running_out_of_memory_is_explained(graded) -> None:
    failure = graded("oom").failure
    assert failure is not None and failure.kind is FailureKind.OUT_OF_MEMORY
    assert failure.summary == ("Your code ran out of memory in train() and was stopped (the "
                               "build phase has 256 MiB).")


def test_running_out_of_time_is_explained(graded) -> None:
    failure = graded("timeout").failure
    assert failure is not None and failure.kind is FailureKind.TIMEOUT
    assert failure.summary == ("Your code ran past its time limit in train() and was stopped "
                               "(the build phase has 8 s).")


def test_working_code_with_weak_answers_is_no_failure(graded) -> None:
    report = graded("weak")
    assert report.failure is None and "failure" not in report.for_candidate([])
    assert report.for_candidate([])["status"] == "graded"
    assert "Your code" not in report.message


def test_a_harness_stopped_by_a_short_answer_grades_it_weak_not_failed(graded) -> None:
    report = graded("short")
    assert report.status is ReportStatus.GRADED
    assert report.failure is None, report.failure
    assert "the evaluation stopped: 99 labels for 100 texts" in report.components[0].reason


def test_an_answer_of_the_wrong_shape_could_not_be_used(graded) -> None:
    failure = graded("shape").failure
    assert failure is not None and failure.kind is FailureKind.INVALID, failure
    assert failure.summary == "Your code's answer could not be used in the serve phase."
