"""The fraud_detection assignment: its generator, its committed public data, and that it separates
behavioural feature engineering from the textbook recipe."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from grader.authoring import zip_folder
from grader.instance import demo_instance
from grader.intake import IntakeRules
from grader.pipeline import grade_zip
from grader.report import ReportStatus
from grader.spec import load_assignment
from sandbox import Limits

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "fraud_detection"
SEED = 912873


@pytest.fixture(scope="module")
def generate() -> Iterator[ModuleType]:
    name = "_fraud_detection_generate_under_test"
    spec = importlib.util.spec_from_file_location(name, FOLDER / "hidden" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


@pytest.fixture(scope="module")
def public(generate: ModuleType) -> dict[str, list[dict]]:
    return generate.public_splits()


@pytest.fixture(scope="module")
def hidden(generate: ModuleType) -> list[dict]:
    return generate.hidden_rows(SEED)


def test_the_same_seed_gives_the_same_bytes(generate: ModuleType, public: dict[str, list[dict]],
                                            hidden: list[dict]) -> None:
    again = generate.public_splits()
    assert {k: generate.dumps(v) for k, v in again.items()} == \
        {k: generate.dumps(v) for k, v in public.items()}
    assert generate.dumps(generate.hidden_rows(SEED)) == generate.dumps(hidden)


def test_another_seed_gives_other_hidden_rows(generate: ModuleType, hidden: list[dict]) -> None:
    other = generate.hidden_rows(SEED + 1)
    assert {r["transaction_id"] for r in other}.isdisjoint(r["transaction_id"] for r in hidden)
    assert [r["amount"] for r in other[:200]] != [r["amount"] for r in hidden[:200]]


def test_the_committed_public_split_is_the_generators_output(
        generate: ModuleType, public: dict[str, list[dict]]) -> None:
    committed = sorted(p.name for p in (FOLDER / "candidate" / "data").iterdir())
    assert committed == sorted(f"{name}.jsonl" for name in public)
    for name, rows in public.items():
        on_disk = (FOLDER / "candidate" / "data" / f"{name}.jsonl").read_bytes()
        assert on_disk == generate.dumps(rows), \
            f"regenerate with `python hidden/generate.py candidate/data` ({name} differs)"


def test_the_data_is_imbalanced_and_the_hidden_split_has_both_slices(
        public: dict[str, list[dict]], hidden: list[dict]) -> None:
    for rows in [*public.values(), hidden]:
        assert 0.01 <= sum(r["is_fraud"] for r in rows) / len(rows) <= 0.05
    assert public["train"][-1]["timestamp"] <= public["dev"][0]["timestamp"]
    assert all("slice" not in r for rows in public.values() for r in rows)
    for name in ("recent", "shift"):
        rows = [r for r in hidden if r["slice"] == name]
        assert len(rows) > 2000 and sum(r["is_fraud"] for r in rows) > 50
        assert rows[0]["timestamp"] > public["dev"][-1]["timestamp"]
    customers = {r["customer_id"] for rows in public.values() for r in rows}
    assert customers.isdisjoint(r["customer_id"] for r in hidden)


@pytest.mark.docker
def test_the_reference_beats_logistic_regression_by_a_clear_margin(runner_image: str,
                                                                   tmp_path: Path) -> None:
    assignment = load_assignment(FOLDER)

    def pr_auc(solution: str) -> float:
        archive = zip_folder(FOLDER / "reference" / solution, tmp_path / f"{solution}.zip")
        report = grade_zip(assignment=assignment, folder=FOLDER,
                           instance=demo_instance(assignment, FOLDER), zip_path=archive,
                           runner_image=runner_image, ceiling=Limits(), intake=IntakeRules())
        assert report.status == ReportStatus.GRADED, report.message
        return {m.name: m.value for m in report.metrics}["quality.pr_auc"]

    reference, logreg = pr_auc("reference"), pr_auc("logreg")
    assert reference - logreg >= 0.1, f"reference {reference:.3f}, logreg {logreg:.3f}"
