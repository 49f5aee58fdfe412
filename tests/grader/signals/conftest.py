"""Crafted submissions for the signal tests: a folder written from a mapping of path to text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import sandbox

MakeSubmission = Callable[..., Path]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Files (dedented) under ``root``, readable by the sandbox's uid as intake leaves them."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    sandbox.make_readable(root)
    return root


@pytest.fixture
def make_submission(tmp_path: Path) -> MakeSubmission:
    counter = iter(range(1000))

    def make(files: dict[str, str], name: str | None = None) -> Path:
        return write_tree(tmp_path / (name or f"submission-{next(counter)}"), files)

    return make
