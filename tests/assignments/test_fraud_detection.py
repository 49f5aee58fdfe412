"""The fraud_detection assignment: its instance generator, the committed public data of the
published (demo) instance, the hidden suite and harness on a private instance, and that it separates
behavioural feature engineering from the textbook recipe. What a private instance resists is in
test_fraud_detection_instance.py."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

import sandbox
from grader.authoring import zip_folder
from grader.candidate import Candidate
from grader.hidden import HiddenContext, run_harness, run_suite
from grader.instance import demo_instance
from grader.intake import IntakeRules
from grader.pipeline import grade_zip
from grader.report import ReportStatus
from grader.spec import load_assignment
from sandbox import Limits

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "fraud_detection"
OTHER = {"public": 912873, "hidden": 5551212}  # an instance of no deployment


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
def published() -> dict[str, int]:
    """The demo instance's seeds, as assignment.yaml publishes them."""
    spec = yaml.safe_load((FOLDER / "assignment.yaml").read_text())
    return dict(spec["reproducibility"]["seeds"])


@pytest.fixture(scope="module")
def files(generate: ModuleType, published: dict[str, int]) -> dict[str, bytes]:
    return generate.public_files(published)


@pytest.fixture(scope="module")
def public(files: dict[str, bytes]) -> dict[str, list[dict]]:
    return {name.removesuffix(".jsonl"): [json.loads(line) for line in content.splitlines()]
            for name, content in files.items()}


@pytest.fixture(scope="module")
def hidden(generate: ModuleType, published: dict[str, int]) -> list[dict]:
    return generate.hidden_items(published)


def test_the_spec_declares_the_instance_generator(published: dict[str, int]) -> None:
    spec = yaml.safe_load((FOLDER / "assignment.yaml").read_text())
    assert spec["instance"] == {"generator": "hidden/generate.py"}
    assert set(published) == {"public", "hidden"}


def test_the_committed_public_data_is_the_published_instance(files: dict[str, bytes]) -> None:
    data = FOLDER / "candidate" / "data"
    assert sorted(p.name for p in data.iterdir()) == sorted(files)
    for name, content in files.items():
        assert (data / name).read_bytes() == content, \
            f"regenerate with `python hidden/generate.py candidate/data` ({name} differs)"


def test_the_same_seeds_give_the_same_bytes(generate: ModuleType, published: dict[str, int],
                                            files: dict[str, bytes], hidden: list[dict]) -> None:
    assert generate.public_files(dict(published)) == files
    assert generate.dumps(generate.hidden_items(dict(published))) == generate.dumps(hidden)


def test_two_instances_share_no_hidden_row_and_no_public_file(
        generate: ModuleType, files: dict[str, bytes], hidden: list[dict]) -> None:
    other = generate.hidden_items(OTHER)
    rows = {generate.dumps([r]) for r in hidden}
    assert rows.isdisjoint(generate.dumps([r]) for r in other)
    for key in ("transaction_id", "customer_id"):
        assert {r[key] for r in hidden}.isdisjoint(r[key] for r in other), key
    assert {r["device_id"] for r in hidden if r["device_id"]}.isdisjoint(
        r["device_id"] for r in other if r["device_id"])
    theirs = generate.public_files(OTHER)
    assert all(files[name] != theirs[name] for name in files)


def test_the_harness_scores_the_hidden_items_of_the_instance(published: dict[str, int]) -> None:
    harness = _load("_fraud_detection_harness_under_test", FOLDER / "hidden" / "harness.py")
    generate = SimpleNamespace(hidden_items=lambda seeds: [{"seeds": dict(seeds)}])
    context = SimpleNamespace(seed=published.__getitem__, load_module={"generate": generate}.get)
    assert harness.hidden_rows(context) == [{"seeds": published}]


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


def test_the_rows_are_valid_by_the_candidates_contract(
        public: dict[str, list[dict]], hidden: list[dict]) -> None:
    """What candidate/README.md promises (the reference checks it), on a quarter of the rows."""
    reference = _load("_fraud_detection_reference_under_test",
                      FOLDER / "reference" / "reference" / "solution.py")
    for rows in [*public.values(), hidden]:
        invalid = [(r["transaction_id"], p) for r in rows[::4]
                   if (p := reference.validate_input({k: v for k, v in r.items()
                                                      if k not in ("is_fraud", "slice")}))]
        assert not invalid, invalid[:3]


class _InProcessSession:
    """An ``AgentSession`` stand-in: calls a module here, through a JSON round trip."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        started = time.monotonic()
        try:
            return json.loads(json.dumps(getattr(self.module, method)(
                **json.loads(json.dumps(params)))))
        except Exception as exc:
            raise sandbox.CandidateError(type(exc).__name__, str(exc), "") from exc
        finally:
            self.last_call_seconds = time.monotonic() - started


class _Checker:
    """The reference's input validation, and a score that reads the amount and the device."""

    def __init__(self) -> None:
        self.validate_input = _load("_fraud_detection_reference_under_test",
                                    FOLDER / "reference" / "reference" / "solution.py"
                                    ).validate_input

    @staticmethod
    def predict_proba(rows: list[dict]) -> list[float]:
        return [min(1.0, r["amount"] / 5000 + 0.2 * (r["device_id"] not in r["known_devices"]))
                for r in rows]


def test_the_hidden_suite_and_the_harness_run_on_a_private_instance() -> None:
    spec = load_assignment(FOLDER, ceiling=Limits())
    candidate = Candidate(_InProcessSession(_Checker()), {
        ep.name: (ep.params, ep.returns) for ep in spec.entry_points if ep.phase == "serve"})
    context = HiddenContext(hidden_dir=FOLDER / "hidden", seeds=OTHER, work_bytes=0)
    results = run_suite("robustness", FOLDER / "hidden" / "tests", candidate=candidate,
                        context=context)
    assert results and {r.outcome for r in results} == {"passed"}, \
        [(r.name, r.message) for r in results if r.outcome != "passed"]
    values = run_harness("quality", FOLDER / "hidden" / "harness.py", candidate=candidate,
                         context=context, metrics=[m.name for m in spec.harness("quality").metrics])
    assert 0.0 < values["pr_auc_shift"] < 1.0 and 0.0 < values["pr_auc_recent"] < 1.0


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.docker
def test_the_reference_beats_logistic_regression_by_a_clear_margin(runner_image: str,
                                                                   tmp_path: Path) -> None:
    assignment = load_assignment(FOLDER, ceiling=Limits())

    def pr_auc(solution: str) -> float:
        archive = zip_folder(FOLDER / "reference" / solution, tmp_path / f"{solution}.zip")
        report = grade_zip(assignment=assignment, folder=FOLDER,
                           instance=demo_instance(assignment, FOLDER), zip_path=archive,
                           runner_image=runner_image, ceiling=Limits(), intake=IntakeRules())
        assert report.status == ReportStatus.GRADED, report.message
        return {m.name: m.value for m in report.metrics}["quality.pr_auc"]

    reference, logreg = pr_auc("reference"), pr_auc("logreg")
    assert reference - logreg >= 0.1, f"reference {reference:.3f}, logreg {logreg:.3f}"
