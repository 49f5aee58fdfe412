"""The catalogue checks specs against the Settings it was given, not the environment's."""

from __future__ import annotations

from pathlib import Path

from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.web._catalog import Catalog
from sandbox import Limits


def catalog(tmp_path: Path, limits: Limits) -> Catalog:
    settings = Settings(data_dir=tmp_path / "data", limits=limits)
    return Catalog(BUILT_IN_ASSIGNMENTS, tmp_path / "bundles", settings)


def test_an_assignment_within_the_settings_limits_is_offered(tmp_path: Path) -> None:
    found = catalog(tmp_path, Limits()).get("rag_pipeline")
    assert found is not None and found.folder == BUILT_IN_ASSIGNMENTS / "rag_pipeline"


def test_an_assignment_above_the_settings_limits_is_not_offered(tmp_path: Path) -> None:
    # rag_pipeline's phases ask for 600 s; this deployment allows 300.
    tight = catalog(tmp_path, Limits(timeout=300))
    assert tight.get("rag_pipeline") is None
    [entry] = [entry for entry in tight.entries() if entry.id == "rag_pipeline"]
    assert entry.assignment is None
    assert entry.error is not None and "exceeds the deployment's limit" in entry.error
