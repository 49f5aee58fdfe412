"""What a report releases to candidates: never more than the assignment's release list allows, and
never a log of a phase that was handed hidden inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.instance import demo_instance, load_generator
from grader.intake import IntakeRules
from grader.pipeline import grade_zip
from grader.report import CANDIDATE_LOG_PHASE, PHASE_FINISHED, PhaseResult, Report, ReportStatus
from grader.spec import load_assignment
from sandbox import Limits


def _phase(name: str, log: str) -> PhaseResult:
    return PhaseResult(name=name, outcome="ok", message="", wall_seconds=1.0, cpu_seconds=None,
                       peak_memory_bytes=None, log=log)


def test_released_logs_are_the_build_phases_only() -> None:
    phases = [_phase("build", "read 200 rows"),
              _phase("serve: quality", "received: the hidden question one"),
              _phase("build probe: behaviour (data)", "read: a hidden probe row"),
              _phase("serve probe: behaviour (data)", "received: a hidden probe query")]
    report = Report.model_construct(status=ReportStatus.GRADED, message="Graded: 50.0 / 100.",
                                    total=50.0, components=[], metrics=[], hidden_tests=[],
                                    phases=phases)
    released = report.for_candidate(["total", "logs"])
    assert released["logs"] == [{"phase": CANDIDATE_LOG_PHASE, "log": "read 200 rows"}]
    assert "hidden" not in str(released)
    assert "logs" not in report.for_candidate(["total"])


# Prints every text it is asked about, as a submission fishing for the hidden split would.
ECHO = '''
import sys


def train(train_path, work_dir):
    print("training on", train_path, file=sys.stderr)


def load(work_dir):
    pass


def predict(texts):
    for text in texts:
        print("received:", text, file=sys.stderr)
    return ["long" for _ in texts]
'''


@pytest.mark.docker
def test_hidden_inputs_printed_by_the_candidate_reach_reviewers_not_candidates(
        tmp_path: Path, runner_image: str) -> None:
    folder = new_assignment(tmp_path / "assignments", "echo")
    assignment = load_assignment(folder, ceiling=Limits())
    (tmp_path / "solution").mkdir()
    (tmp_path / "solution" / "solution.py").write_text(ECHO)
    instance = demo_instance(assignment, folder)
    report = grade_zip(assignment=assignment, folder=folder, instance=instance,
                       zip_path=zip_folder(tmp_path / "solution", tmp_path / "s.zip"),
                       runner_image=runner_image, ceiling=Limits(memory="1g", cpus=1),
                       intake=IntakeRules())
    generator = load_generator(assignment, folder)
    assert generator is not None
    hidden = [row["text"] for row in generator.hidden_items(instance.seeds)]
    reviewers = "\n".join(p.log for p in report.phases)
    assert all(text in reviewers for text in hidden)  # the full logs are the reviewers'
    released = report.for_candidate(["total", "logs"])
    assert [entry["phase"] for entry in released["logs"]] == ["build"]
    assert "training on /data/train.jsonl" in released["logs"][0]["log"]
    assert not any(text in str(released) for text in hidden if " " in text)


def test_reading_a_report_imports_no_pytest() -> None:
    # Reports are read by the web app and the CLI; pytest belongs to the grading process only.
    code = "import sys, grader.report; print('pytest' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"


def test_a_phase_reads_failed_when_its_code_raised_in_a_container_that_ended_ok() -> None:
    finished = PhaseResult(name="build", outcome="ok", message=PHASE_FINISHED, wall_seconds=1.0,
                           cpu_seconds=None, peak_memory_bytes=None)
    raised = finished.model_copy(update={"message": "train() raised ValueError: no rows"})
    timed_out = finished.model_copy(update={"outcome": "timeout", "message": "timed out"})
    assert [p.verdict for p in (finished, raised, timed_out)] == ["ok", "failed", "timeout"]
