"""Running an assignment's hidden pytest suites and evaluation harnesses on the trusted side.

Both are the author's trusted code and run in the grader's process, never in a candidate container;
they reach the candidate only through a ``Candidate`` bound to a live serve-phase session.
Per-test outcome, duration and message come from pytest's own ``TestReport`` objects.

Whose failure it is (``grader.candidate.blames_candidate``): a test fails for the candidate when
its body raised the candidate's failure or an assertion about their answers (``assert``,
``pytest.fail``), or a fixture met the candidate's failure (a probe build that failed, a call that
raised). Anything else (a test body's ``TypeError``, a fixture's ``KeyError``, a collection error,
pytest itself stopping) is the author's code failing: ``run_suite`` raises ``HarnessError`` from
it, as ``run_harness`` does for a harness that breaks its contract. Skips and xfails keep pytest's
meaning.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import math
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sandbox
from grader.candidate import Candidate, CandidateFailure, blames_candidate
from grader.intervals import Measured, measured
from grader.metrics._recording import recording
from grader.report import TestCaseResult

__all__ = ["HarnessError", "HiddenContext", "load_hidden_module", "run_harness",
           "run_suite"]

MESSAGE_CHARS = 600


@dataclass(frozen=True)
class HiddenContext:
    """What trusted hidden code knows besides the candidate: its folder, the seeds in force, the
    size of the build's saved work dir, and a way to build the submission again on other data.

    The seeds are the deployment's instance's (grader.instance): derived from its secret, so
    publishing the assignment never publishes that deployment's hidden split.
    """

    hidden_dir: Path
    seeds: Mapping[str, int]
    work_bytes: int | None = None
    builder: Callable[[Path], AbstractContextManager[Candidate]] | None = field(
        default=None, repr=False, compare=False)

    def build_candidate(self, data_dir: Path) -> AbstractContextManager[Candidate]:
        """Build the submission again with ``data_dir`` mounted at /data in place of the public
        data, and serve that build: ``with context.build_candidate(folder) as probe: ...``.

        This proves a solution builds from its input rather than from anything it ships or
        hard-codes (an unseen small corpus, other labels). ``data_dir`` must hold every /data file
        the build's arguments name, since the build is called with the spec's arguments. Both
        sessions run under the phases' limits and appear in the report; a failed build fails the
        calling test. The caller's own serve session stays open meanwhile, its clock running.
        """
        if self.builder is None:
            raise HarnessError("no submission to build: this context is not part of a grading")
        return self.builder(data_dir)

    def seed(self, name: str) -> int:
        """The instance's seed for ``reproducibility.seeds[name]`` (the published one in demo)."""
        return self.seeds[name]

    def load_module(self, name: str) -> ModuleType:
        """Import ``hidden/<name>.py`` (a generator, shared helpers); see ``load_hidden_module``."""
        return load_hidden_module(self.hidden_dir / f"{name}.py")


def load_hidden_module(path: Path) -> ModuleType:
    """Import an assignment's trusted module under a name unique to its file, so two
    assignments' ``generate.py`` never collide in one process; imported once per process."""
    key = "grader_hidden_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        if spec is None or spec.loader is None or not path.is_file():
            raise HarnessError(f"no module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


class HarnessError(Exception):
    """The assignment's hidden code failed, not the candidate: a harness broke its contract (no
    evaluate(), undeclared or non-finite metrics), or a hidden suite's test, fixture or
    collection raised something that is no verdict on the candidate (its ``__cause__``)."""


class _CandidatePlugin:
    """Provides the `candidate` and `context` fixtures and collects pytest's reports."""

    def __init__(self, suite: str, candidate: Candidate, context: HiddenContext) -> None:
        self._suite = suite
        self._candidate = candidate
        self._context = context
        self.results: dict[str, TestCaseResult] = {}
        self._raised: dict[tuple[str, str], BaseException] = {}
        # The author's failures: what happened, and the exception when pytest kept it.
        self.broken: list[tuple[str, BaseException | None]] = []

    @pytest.fixture(scope="session")
    def candidate(self) -> Candidate:
        return self._candidate

    @pytest.fixture(scope="session")
    def context(self) -> HiddenContext:
        return self._context

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        """Keep what each phase raised; pytest's own implementation still makes the report."""
        if call.excinfo is not None:
            self._raised[(item.nodeid, call.when)] = call.excinfo.value

    def _candidates(self, report: pytest.TestReport) -> bool:
        """Whether a failed report is the candidate's failure (else the author's)."""
        raised = self._raised.get((report.nodeid, report.when))
        if report.when != "call":
            # A fixture's own assertions are the author's preconditions; only the candidate's
            # failure as the grader saw it (a failed call or probe build) is theirs there.
            return isinstance(raised, (CandidateFailure, sandbox.AgentError))
        # No exception: pytest failed it on its own terms (a strict xfail that passed).
        return (raised is None or blames_candidate(raised)
                or isinstance(raised, pytest.fail.Exception))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and not self._candidates(report):
            self.broken.append((f"{report.nodeid} ({report.when}): {_short_message(report)}"
                                f"{_where(report)}", self._raised.get((report.nodeid,
                                                                        report.when))))
            return
        previous = self.results.get(report.nodeid)
        if report.when == "call" or report.outcome != "passed":
            if previous is not None and previous.outcome != "passed":
                return  # keep the first failure (setup), not a later teardown's
            outcome: str = report.outcome
            if report.when != "call" and report.outcome == "failed":
                outcome = "error"
            message = ""
            if report.longrepr is not None and report.outcome != "passed":
                message = _short_message(report)
            self.results[report.nodeid] = TestCaseResult(
                suite=self._suite, name=report.nodeid, outcome=outcome,
                duration_seconds=round(report.duration, 4), message=message)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # collection never meets the candidate: the author's
            self.broken.append((f"collecting {report.nodeid or self._suite}: "
                                f"{_short_message(report)}{_where(report)}", None))


def _short_message(report: Any) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip()[:MESSAGE_CHARS]


def _where(report: Any) -> str:
    """Where the failure was raised (path:line), for an operator reading an author's error."""
    crash = getattr(report.longrepr, "reprcrash", None)
    return f" (at {crash.path}:{crash.lineno})" if crash is not None else ""


def run_suite(name: str, path: Path, *, candidate: Candidate, context: HiddenContext
              ) -> list[TestCaseResult]:
    """Run one hidden suite (a file or folder of pytest tests) against the candidate.

    Raises ``HarnessError`` when the suite failed other than on the candidate (see the module
    docstring); its ``__cause__`` is the first such exception pytest kept.
    """
    plugin = _CandidatePlugin(name, candidate, context)
    output = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="hidden-suite-") as tmp:
        # An empty ini of its own, so the grader's or the host's pytest settings never apply.
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [str(path), "-c", str(ini), "--rootdir", str(path if path.is_dir() else path.parent),
                "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "--no-header"]
        root = path if path.is_dir() else path.parent
        try:
            with (_names_set_aside(root), contextlib.redirect_stdout(output),
                  contextlib.redirect_stderr(output)):
                code = pytest.main(args, plugins=[plugin])
        finally:
            _forget_modules_under(root)
    if plugin.broken:
        what, cause = plugin.broken[0]
        more = f" (and {len(plugin.broken) - 1} more)" if len(plugin.broken) > 1 else ""
        raise HarnessError(f"hidden suite {name}: {what}{more}") from cause
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise HarnessError(f"hidden suite {name}: pytest ended with {pytest.ExitCode(code).name}: "
                           f"{output.getvalue()[-MESSAGE_CHARS:].strip()}")
    return list(plugin.results.values())


@contextlib.contextmanager
def _names_set_aside(folder: Path) -> Iterator[None]:
    """Set aside, while the suite runs, every loaded module that has the name one of the suite's
    files would be imported under: pytest's importlib mode serves a name already in sys.modules,
    so a suite's ``test_stability.py`` would silently run another module of that name (one of the
    process's own, or another suite's left loaded) instead of the author's tests."""
    root = folder.resolve()
    names = set()
    for file in root.rglob("*.py"):
        parts = file.relative_to(root).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    names.discard("")
    aside = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    try:
        yield
    finally:
        sys.modules.update(aside)


def _forget_modules_under(folder: Path) -> None:
    """Drop the suite's own modules from sys.modules: pytest names them by their path relative
    to the rootdir, so another assignment's ``tests/test_behaviour.py`` (or this one, edited)
    would otherwise be served from the cache in a long-lived process."""
    root = folder.resolve()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(root):
            del sys.modules[name]


def run_harness(name: str, path: Path, *, candidate: Candidate, context: HiddenContext,
                metrics: list[str]) -> dict[str, Measured]:
    """Import a harness module and return its declared metrics (finite floats only).

    Each value is a ``grader.intervals.Measured``: a float carrying its 95% interval over the
    hidden items and their number when ``evaluate()`` computed it through a ``grader.metrics``
    function (the calls are recorded while it runs; see ``grader.intervals`` for the rule; too
    few items for the bootstrap, no interval); else neither.
    """
    spec = importlib.util.spec_from_file_location(f"grader_harness_{name}", path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"cannot import harness {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    evaluate = getattr(module, "evaluate", None)
    if not callable(evaluate):
        raise HarnessError(f"{path} defines no evaluate(candidate, context)")
    with recording() as calls:
        values = evaluate(candidate, context)
    if not isinstance(values, dict):
        raise HarnessError(f"{path}: evaluate() returned {type(values).__name__}, not a dict")
    undeclared = set(values) - set(metrics)
    if undeclared:
        raise HarnessError(f"{path}: evaluate() returned undeclared metrics {sorted(undeclared)}")
    result = {}
    for metric in metrics:
        value = values.get(metric)
        if value is None:
            raise HarnessError(f"{path}: evaluate() did not return {metric}")
        value = float(value)
        if not math.isfinite(value):
            raise HarnessError(f"{path}: {metric} is not finite ({value})")
        result[metric] = value
    return measured(result, calls, harness=name)
