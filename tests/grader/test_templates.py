"""The scaffolds `grader assignment new --template NAME` copies: each validates as it is, and each
makes its data per instance (public data and hidden split from the instance's seeds)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
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
