"""What an environment's image provides, asked of the real runner image, and an import it lacks
named where the candidate looks: the pre-flight answer and the graded report
(grader.environment_fit; in-process cases in test_environment_fit.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.environment_fit import provided_by
from grader.instance import Instance
from grader.intake import IntakeRules
from grader.pipeline import grade_zip
from grader.preflight import run_preflight
from grader.settings import PreflightRules
from grader.spec import load_assignment
from sandbox import Limits

pytestmark = pytest.mark.docker
RUNNER_LOCK = Path(__file__).parents[2] / "requirements" / "runner.lock"
CEILING = Limits(memory="1g", cpus=1, timeout=300)
IMPORTS_LIGHTGBM = """\
    import numpy
    import lightgbm

    def train(train_path, work_dir):
        pass
    """


@pytest.fixture(scope="module")
def submission(tmp_path_factory: pytest.TempPathFactory):
    """The scaffolded assignment, its demo instance, and a zip whose solution imports lightgbm
    (which the runner image lacks) and asks for it in requirements.txt."""
    root = tmp_path_factory.mktemp("environment")
    folder = new_assignment(root / "assignments", "starter")
    assignment = load_assignment(folder, ceiling=CEILING)
    instance = Instance.demo().prepare(assignment, folder, root / "instances")
    solution = root / "solution"
    solution.mkdir()
    (solution / "solution.py").write_text(textwrap.dedent(IMPORTS_LIGHTGBM))
    (solution / "requirements.txt").write_text("lightgbm==4.5.0\nnumpy\n")
    return assignment, folder, instance, zip_folder(solution, root / "s.zip")


def test_the_runner_image_is_asked_for_its_modules_and_versions(runner_image: str) -> None:
    provided = provided_by(runner_image)
    assert provided.modules["sklearn"] == ["scikit-learn"]
    assert "torch" in provided.modules["torch"]
    locked = dict(line.split("==") for line in RUNNER_LOCK.read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    assert provided.distributions["scikit-learn"] == locked["scikit-learn"]
    assert provided.distributions["torch"] == locked["torch"]
    assert "lightgbm" not in provided.modules
    assert provided_by(runner_image) is provided  # asked once per digest


def test_the_preflight_names_an_import_the_environment_lacks(submission,
                                                             runner_image: str) -> None:
    assignment, folder, instance, archive = submission
    result = run_preflight(assignment=assignment, folder=folder, instance=instance,
                           zip_path=archive, runner_image=runner_image, ceiling=CEILING,
                           intake=IntakeRules(), rules=PreflightRules())
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure.exception_type == "ModuleNotFoundError"
    assert [(m.module, m.optional) for m in result.environment.missing_imports] == [
        ("lightgbm", False)]
    assert [(r.text, r.status) for r in result.environment.requirements] == [
        ("lightgbm==4.5.0", "missing"), ("numpy", "available")]
    assert "Your code imports lightgbm, which this environment does not provide" in result.message


def test_the_graded_report_tells_the_candidate_the_same(submission, runner_image: str) -> None:
    assignment, folder, instance, archive = submission
    report = grade_zip(assignment=assignment, folder=folder, instance=instance,
                       zip_path=archive, runner_image=runner_image, ceiling=CEILING,
                       intake=IntakeRules())
    assert report.failure is not None and report.failure.exception_type == "ModuleNotFoundError"
    released = report.for_candidate([])["environment"]
    assert [m["module"] for m in released["missing_imports"]] == ["lightgbm"]
    assert released["message"].startswith("Your code imports lightgbm")
