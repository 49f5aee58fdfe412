"""The scaffolds `grader assignment new --template NAME` copies: each validates as it is."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from grader.authoring import TEMPLATES, new_assignment, validate_assignment
from grader.cli import app
from grader.intake import IntakeRules
from grader.spec import load_assignment
from sandbox import Limits

NAMES = ["blank", "retrieval", "classification"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "assignments"
    root.mkdir()
    return root


def _generator(folder: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generate_{folder.name}",
                                                  folder / "hidden" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


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
    assignment = load_assignment(folder)
    assert assignment.id == "demo"
    assert len(assignment.baselines) >= 2
    assert not any("{{id}}" in p.read_text() for p in folder.rglob("*") if p.suffix == ".yaml")
    # Everything validate checks before running a container: schema, bundle, recorded anchors.
    report = validate_assignment(folder, runner_image="unused", ceiling=Limits(),
                                 intake=IntakeRules(), run_solutions=False)
    assert report.ok, report.checks


@pytest.mark.parametrize("template", NAMES)
def test_the_public_data_is_what_the_generator_makes(template: str) -> None:
    folder = TEMPLATES / template
    generate, data = _generator(folder), folder / "candidate" / "data"
    if template == "blank":
        assert _jsonl(data / "train.jsonl") == generate.rows(1, 200)
    elif template == "retrieval":
        corpus = [{"id": p["id"], "text": p["text"]} for p in generate.corpus()]
        assert _jsonl(data / "corpus.jsonl") == corpus
        assert _jsonl(data / "queries.jsonl") == generate.queries(generate.PUBLIC_SEED, 20)
    else:
        assert _jsonl(data / "train.jsonl") + _jsonl(data / "dev.jsonl") == generate.rows(
            generate.PUBLIC_SEED, 800)


@pytest.mark.docker
@pytest.mark.parametrize("template", NAMES)
def test_a_scaffold_validates_as_it_is(root: Path, template: str, runner_image: str) -> None:
    folder = new_assignment(root, template, template=template)
    report = validate_assignment(folder, runner_image=runner_image, ceiling=Limits(),
                                 intake=IntakeRules())
    assert report.ok, [c for c in report.checks if not c.ok]
