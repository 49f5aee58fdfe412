"""fraud_detection on a private instance: the simulator's output for other seeds buys no points.

The attack of issue 13: anyone with this repository can run hidden/generate.py for any seeds, the
holiday season included, and train on its labelled output. Before instances the simulator's world
was fixed, so its output for any seed was the hidden distribution: on a private hidden seed, the
repository's gradient boosting baseline trained on the public train split plus the simulator's
public and hidden splits for the published seed and six seeds of its own rose from 0.536 to 0.715
PR-AUC and from 0.409 to 0.612 on the holiday shift (logistic regression: 0.302 to 0.439).

Now the instance's `public` seed draws its world (home countries, trip destinations, fraud origins,
what each fraud tactic favours: categories, channel, hours, places, amounts) and its `hidden` seed
the holiday season (which categories boom, how people shop and travel, the fraudsters' new tactic).
The bar: on a private instance (seeds no one published), the same baseline trained on the
instance's train split plus the simulator's labelled output for the published seeds and five seeds
of the attacker's own, hidden periods included, scores no better than trained on the train split
alone, overall and on the shift, within a small tolerance. Other worlds teach other worlds.

The assignment keeps its point there: the reference clearly beats logistic regression, which
clearly beats the base rate, and the holiday shift costs a model without time features. The
baselines are the repository's own solutions (reference/*/solution.py), trained and scored
in-process on the harness's metrics; no Docker.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "fraud_detection"
# Seeds no deployment uses: drawn once for this test, never the published ones.
PRIVATE = {"public": 6822151349226075389, "hidden": 2917453040154920647}
ATTACKER_SEEDS = 5  # the attacker's own instances, besides the published one
TOLERANCE = 0.02
HIDDEN_ONLY = ("is_fraud", "slice")
BATCH = 200


def _module(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: the generator defines dataclasses
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return _module("fraud_detection_instance_generate", FOLDER / "hidden" / "generate.py")


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return _module("fraud_detection_instance_harness", FOLDER / "hidden" / "harness.py")


def _solution(name: str) -> ModuleType:
    return _module(f"fraud_detection_instance_{name}", FOLDER / "reference" / name / "solution.py")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fraud_instance")


@pytest.fixture(scope="module")
def instance(generate, folder) -> Path:
    """The private instance's public data, as the grader would mount it."""
    data = folder / "data"
    data.mkdir()
    for name, content in generate.public_files(PRIVATE).items():
        (data / name).write_bytes(content)
    return data


@pytest.fixture(scope="module")
def hidden(generate) -> list[dict]:
    return generate.hidden_items(PRIVATE)


@pytest.fixture(scope="module")
def attack(generate, folder, instance) -> Path:
    """The instance's train split plus the labelled output of the simulator for the published
    seeds and the attacker's own, hidden periods and holiday season included."""
    published = generate.published_seeds()
    assert set(published.values()).isdisjoint(PRIVATE.values())
    rng = random.Random(20241224)
    everything = [published] + [{"public": rng.getrandbits(63), "hidden": rng.getrandbits(63)}
                                for _ in range(ATTACKER_SEEDS)]
    data = folder / "attack"
    data.mkdir()
    with open(data / "train.jsonl", "wb") as out:
        out.write((instance / "train.jsonl").read_bytes())
        for seeds in everything:
            for content in generate.public_files(seeds).values():
                out.write(content)
            out.write(generate.dumps(generate.hidden_items(seeds)))
    (data / "dev.jsonl").write_bytes((instance / "dev.jsonl").read_bytes())
    return data


def _scores(harness: ModuleType, solution: str, data: Path, hidden: list[dict],
            work: Path) -> dict[str, float]:
    """Train a reference solution on `data`, score the hidden rows as the harness does."""
    module = _solution(solution)
    work.mkdir()
    module.train(str(data / "train.jsonl"), str(data / "dev.jsonl"), str(work))
    module.load(str(work))
    rows = [{k: v for k, v in r.items() if k not in HIDDEN_ONLY} for r in hidden]
    predictions = [p for start in range(0, len(rows), BATCH)
                   for p in module.predict_proba(rows[start:start + BATCH])]
    return harness.score(hidden, predictions)


@pytest.fixture(scope="module")
def honest(harness, instance, hidden, folder) -> Iterator[dict[str, dict[str, float]]]:
    yield {name: _scores(harness, name, instance, hidden, folder / f"honest-{name}")
           for name in ("prior", "logreg", "gbm", "reference")}


@pytest.mark.parametrize("baseline", ["logreg", "gbm"])
def test_the_simulators_output_for_other_seeds_does_not_help(
        baseline: str, harness, attack: Path, hidden: list[dict],
        honest: dict[str, dict[str, float]], folder: Path) -> None:
    attacked = _scores(harness, baseline, attack, hidden, folder / f"attack-{baseline}")
    alone = honest[baseline]
    report = (f"{baseline}: PR-AUC {alone['pr_auc']:.3f} -> {attacked['pr_auc']:.3f}, "
              f"shift {alone['pr_auc_shift']:.3f} -> {attacked['pr_auc_shift']:.3f}")
    assert attacked["pr_auc"] <= alone["pr_auc"] + TOLERANCE, report
    assert attacked["pr_auc_shift"] <= alone["pr_auc_shift"] + TOLERANCE, report


def test_the_private_instance_still_separates_the_baselines(
        honest: dict[str, dict[str, float]], hidden: list[dict]) -> None:
    base_rate = sum(r["is_fraud"] for r in hidden) / len(hidden)
    prior, logreg, gbm, reference = (honest[name] for name in
                                     ("prior", "logreg", "gbm", "reference"))
    summary = {name: round(s["pr_auc"], 3) for name, s in honest.items()}
    assert prior["pr_auc"] == pytest.approx(base_rate, abs=0.005), summary
    assert logreg["pr_auc"] >= 5 * base_rate, summary
    assert reference["pr_auc"] - logreg["pr_auc"] >= 0.1, summary
    assert reference["pr_auc_shift"] > gbm["pr_auc_shift"] > prior["pr_auc_shift"], summary
    # The holiday season costs a model that has no time features of its own.
    assert gbm["pr_auc_shift"] < gbm["pr_auc_recent"] - 0.1, summary
