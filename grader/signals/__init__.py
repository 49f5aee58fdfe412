"""Engineering signals for reviewers: the candidate's own tests, static checks, documentation,
dependencies, and (for a cohort) similarity between submissions.

Signals are evidence shown to reviewers, never part of the score unless an assignment's rubric
says so. Only the candidate's own tests run candidate code, and they run in the sandbox; every
other signal reads files on the trusted side without importing or executing them.

Exceptions: ``collect_signals`` raises ``sandbox.SandboxError`` when the engine could not run the
own-tests container at all (the caller's infrastructure problem, not the candidate's).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

import sandbox
from grader.signals._common import SignalModel, scan
from grader.signals.dependencies import Dependencies, MissingImport, dependencies
from grader.signals.docs import Documentation, Evidence, documentation
from grader.signals.own_tests import OwnTests, OwnTestsStatus, TestCounts, run_own_tests
from grader.signals.similarity import FileOverlap, PairSimilarity, cohort_similarity
from grader.signals.static import Lint, StaticChecks, static_checks

if TYPE_CHECKING:  # grader.environment_fit reads files through this package: no import cycle
    from grader.environment_fit import ProvidedModules

__all__ = [
    "Dependencies",
    "Documentation",
    "Evidence",
    "FileOverlap",
    "Lint",
    "MissingImport",
    "OwnTests",
    "OwnTestsStatus",
    "PairSimilarity",
    "Signals",
    "StaticChecks",
    "TestCounts",
    "cohort_similarity",
    "collect_signals",
]


class Signals(SignalModel):
    """What a reviewer sees beside the score: reported, not scored."""

    own_tests: OwnTests = Field(description="the candidate's own tests, run in the sandbox")
    static: StaticChecks = Field(description="lint, type hints, docstrings, size, complexity")
    documentation: Documentation
    dependencies: Dependencies = Field(description="imports the environment does not provide")


def collect_signals(*, submission_dir: Path, starter_dir: Path | None, runner_image: str,
                    limits: sandbox.Limits, provided: ProvidedModules,
                    public_data: Path | None = None) -> Signals:
    """All single-submission signals. ``limits`` are the build phase's; the own-tests run
    tightens their timeout. ``starter_dir`` is the assignment's starter bundle, if any;
    ``provided`` what ``runner_image`` has installed (``grader.environment_fit.provided_by``)."""
    tree = scan(submission_dir)
    return Signals(
        static=static_checks(tree),
        documentation=documentation(submission_dir, starter_dir),
        dependencies=dependencies(tree, provided),
        own_tests=run_own_tests(tree, runner_image=runner_image, limits=limits,
                                public_data=public_data))
