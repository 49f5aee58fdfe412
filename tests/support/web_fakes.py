"""The fast fake of the pipeline (fakes.py) plus engineering signals, so the web
tests can check where signals are shown. Imported by the worker's grading child process
(``GRADER_WORKER_GRADER=support.web_fakes:grade_with_signals``).

Static checks, documentation and dependencies are the real ones (they read files, run nothing);
the candidate's own tests are described from directives rather than run in the sandbox:

    # own-passed: 3      the own-tests counts (default: the submission has no tests)
    # own-failed: 1
"""

from __future__ import annotations

from grader.jobs.grading import GradingRequest
from grader.report import Report
from grader.settings import Settings
from grader.signals import OwnTests, OwnTestsStatus, Signals, TestCounts
from grader.signals._common import scan
from grader.signals.dependencies import dependencies
from grader.signals.docs import documentation
from grader.signals.static import static_checks
from support.environment import RUNNER_PROVIDED
from support.fakes import directives, fast_grade


def grade_with_signals(request: GradingRequest, settings: Settings) -> Report:
    report = fast_grade(request, settings)
    wanted = directives(request)
    tree = scan(request.submission_dir)
    if "own-passed" in wanted or "own-failed" in wanted:
        counts = TestCounts(passed=int(wanted.get("own-passed", 0)),
                            failed=int(wanted.get("own-failed", 0)), errors=0, skipped=0,
                            xfailed=0, xpassed=0)
        own = OwnTests(status=OwnTestsStatus.COMPLETED, test_files=["tests/test_solution.py"],
                       counts=counts, exit_status=1 if counts.failed else 0,
                       summary=f"{counts.passed} passed, {counts.failed} failed",
                       message=f"{counts.passed} passed, {counts.failed} failed, 0 errors "
                               "(pytest exit status 0).", limit_seconds=120.0,
                       wall_seconds=1.0)
    else:
        own = OwnTests(status=OwnTestsStatus.NO_TESTS, test_files=[],
                       message="The submission has no tests (looked for tests/, test_*.py and "
                               "*_test.py).")
    signals = Signals(own_tests=own, static=static_checks(tree),
                      documentation=documentation(request.submission_dir, None),
                      dependencies=dependencies(tree, RUNNER_PROVIDED))
    return report.model_copy(update={"signals": signals})
