"""The scaffolds `grader assignment new --template NAME` copies: each validates as it is, each
makes its data per instance (public data and hidden split from the instance's seeds), and on each
a submission that learns nothing scores at most 5."""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from support.learns_nothing import BOUND, total, unit
from typer.testing import CliRunner

from grader.authoring import TEMPLATES, hidden_split_overlap, new_assignment, validate_assignment
from grader.cli import app
from grader.instance import Instance, load_generator, public_files
from grader.intake import IntakeRules
from grader.integrity import item_texts
from grader.spec import Assignment, load_assignment
from sandbox import Limits

NAMES = ["blank", "retrieval", "classification"]
# Two instances' secrets, fixed so that every run checks the same instances.
SECRETS = (b"the first private instance of a test", b"the second private instance, another")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "assignments"
    root.mkdir()
    return root


@pytest.fixture(scope="module")
def scaffolds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Assignment, Path]]:
    root = tmp_path_factory.mktemp("assignments")
    folders = {name: new_assignment(root, name, template=name) for name in NAMES}
    return {name: (load_assignment(folder, ceiling=Limits()), folder)
            for name, folder in folders.items()}


def test_every_template_is_covered_here() -> None:
    assert sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()) == sorted(NAMES)


def test_new_help_names_every_template() -> None:
    done = CliRunner().invoke(app, ["assignment", "new", "--help"], terminal_width=200)
    assert done.exit_code == 0, done.output
    for name in NAMES:
        assert name in done.output


@pytest.mark.parametrize("template", NAMES)
def test_a_scaffold_loads_as_it_is(root: Path, template: str) -> None:
    folder = new_assignment(root, "demo", template=template)
    assignment = load_assignment(folder, ceiling=Limits())
    assert assignment.id == "demo"
    assert len(assignment.baselines) >= 2
    assert not any("{{id}}" in p.read_text() for p in folder.rglob("*") if p.suffix == ".yaml")
    # Everything validate checks before running a container: schema, bundle, recorded anchors.
    report = validate_assignment(folder, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    assert report.ok, report.checks
    assert report.warnings == []  # the hidden split depends on the instance


@pytest.mark.parametrize("template", NAMES)
def test_the_committed_public_data_is_the_demo_instances(template: str, scaffolds) -> None:
    assignment, folder = scaffolds[template]
    assert assignment.instance is not None
    data = folder / "candidate" / "data"
    committed = {p.relative_to(data).as_posix(): p.read_bytes() for p in data.rglob("*")
                 if p.is_file()}
    assert public_files(assignment, folder, assignment.reproducibility.seeds) == committed


@pytest.mark.parametrize("template", NAMES)
def test_two_instances_get_their_own_data_and_hidden_split(template: str, scaffolds) -> None:
    assignment, folder = scaffolds[template]
    generator = load_generator(assignment, folder)
    assert generator is not None
    first, second = (Instance(secret).seeds(assignment) for secret in SECRETS)
    assert generator.hidden_items(first) == generator.hidden_items(dict(first))  # deterministic
    assert public_files(assignment, folder, first) != public_files(assignment, folder, second)
    assert set(public_files(assignment, folder, first)) == set(
        public_files(assignment, folder, assignment.reproducibility.seeds))
    items, texts = hidden_split_overlap(generator.hidden_items(first),
                                        generator.hidden_items(second))
    assert items == texts == 0.0


@pytest.mark.parametrize("template", NAMES)
def test_the_public_generator_cannot_tabulate_a_private_hidden_split(template: str,
                                                                      scaffolds) -> None:
    """The attack: run the public generator under the published seeds and 50 seeds of one's own,
    keep every text it emits (public files and hidden items), and look a private instance's
    hidden texts up in that table. None is there: they come from the instance's seeds."""
    assignment, folder = scaffolds[template]
    generator = load_generator(assignment, folder)
    assert generator is not None
    rng = random.Random(0)
    tried = [assignment.reproducibility.seeds] + [
        {name: rng.getrandbits(63) for name in assignment.reproducibility.seeds}
        for _ in range(50)]
    table: set[str] = set()
    for seeds in tried:
        table.update(item_texts(generator.hidden_items(seeds)))
        for content in public_files(assignment, folder, seeds).values():
            table.update(content.decode().splitlines())
    private = item_texts(generator.hidden_items(Instance(SECRETS[0]).seeds(assignment)))
    assert private and not any(text in table or any(text in row for row in table)
                               for text in private[:20])


@pytest.mark.docker
@pytest.mark.parametrize("template", NAMES)
def test_a_scaffold_validates_as_it_is(root: Path, template: str, runner_image: str) -> None:
    folder = new_assignment(root, template, template=template)
    report = validate_assignment(folder, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    assert report.ok, [c for c in report.checks if not c.ok]


# --- what learning nothing scores --------------------------------------------------------------

def _public_rows(folder: Path, name: str) -> list[dict]:
    return [json.loads(line)
            for line in (folder / "candidate" / "data" / name).read_text().splitlines()]


def _label_strategies(rows: list[dict]) -> dict[str, Callable[[list[str]], list[str]]]:
    """Labels that ignore the text's meaning: the most common training label, a label hashed
    from each text uniformly over the training labels, and one hashed into the training labels'
    shares (guessing in proportion, which earns the most macro-F1 a guess can). The hash is
    salted: a draw of its own, not the one a recorded floor made."""
    counts = Counter(row["label"] for row in rows)
    labels = sorted(counts)
    bounds = list(accumulate(counts[label] / len(rows) for label in labels))

    def draw(text: str) -> float:
        return unit(f"guess {text}")

    def in_shares(text: str) -> str:
        return labels[min(bisect_right(bounds, draw(text)), len(labels) - 1)]
    return {
        "majority": lambda texts: [counts.most_common(1)[0][0] for _ in texts],
        "hashed_uniform": lambda texts: [labels[int(draw(t) * len(labels))] for t in texts],
        "hashed_in_shares": lambda texts: [in_shares(t) for t in texts],
    }


def _retrieval_strategies(folder: Path) -> dict[str, Callable[[str, int], list[str]]]:
    """Ids that ignore the query's meaning: the corpus's first ids, ids hashed with the query,
    and the public label prior (the passages most often relevant to the dev queries first)."""
    ids = [row["id"] for row in _public_rows(folder, "corpus.jsonl")]
    relevant = Counter(passage for query in _public_rows(folder, "queries.jsonl")
                       for passage, grade in query["relevant"].items() if grade >= 1)
    prior = [passage for passage, _ in relevant.most_common()]
    prior += [passage for passage in ids if passage not in relevant]
    return {
        "first_ids": lambda query, k: ids[:k],
        "hashed_ids": lambda query, k: sorted(ids, key=lambda i: unit(f"{query} {i}"))[:k],
        "label_prior": lambda query, k: prior[:k],
    }


def _no_learning(folder: Path, template: str) -> dict[str, dict[str, Callable[..., Any]]]:
    if template == "retrieval":
        return {name: {"search": search}
                for name, search in _retrieval_strategies(folder).items()}
    return {name: {"predict": predict} for name, predict in
            _label_strategies(_public_rows(folder, "train.jsonl")).items()}


@pytest.mark.parametrize("template", NAMES)
def test_what_learns_nothing_scores_at_most_5(template: str, scaffolds) -> None:
    """Each strategy that learns nothing, through the template's real harness on the demo
    instance, scored on its recorded anchors with every hidden test passed."""
    _, folder = scaffolds[template]
    found = {name: total(folder, calls) for name, calls in _no_learning(folder, template).items()}
    assert all(points <= BOUND for points, _ in found.values()), found
