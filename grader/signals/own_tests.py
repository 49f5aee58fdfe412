"""The candidate's own tests, run with pytest inside the sandbox, and counted without trusting
what they print.

pytest runs in a fresh hardened container from the runner image (the same hardening as every
phase, a time limit of its own), with the submission mounted read-only at /submission and the
public data at /data. The runner is a short script given to ``python3 -c``. Before any candidate
code loads it keeps a private duplicate of stdout for itself and points file descriptor 1 at
stderr, so everything pytest and the candidate print goes to stderr; the private descriptor is
not inherited by child processes. A small plugin counts outcomes from pytest's own reports, and
the script writes one line on the private descriptor: a random nonce chosen on the trusted side,
then a JSON record. The trusted side accepts the counts only when the container ended normally
and its stdout holds exactly that one line, which parses into a strict model; anything else
(a timeout, a crash, more output on that channel) is reported as an incomplete run, never as
passing tests. Printing "10 passed" therefore changes nothing but the text shown as pytest's
output.

Limits of this signal: the tests run in the same process as the candidate's code, so a
deliberately hostile conftest can rewrite its own test reports. The counts are the candidate's
own test run as reported to reviewers; they are never scored unless an assignment says so.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError

import sandbox
from grader.signals._common import SignalModel, Tree, clip, is_test_path

__all__ = ["OWN_TESTS_TIMEOUT", "OwnTests", "OwnTestsStatus", "TestCounts", "run_own_tests"]

OWN_TESTS_TIMEOUT = 120.0
SUBMISSION_DIR = "/submission"
DATA_DIR = "/data"
MAX_RECORD_BYTES = 64 * 1024
MAX_FAILURES = 50
MAX_LISTED_TEST_FILES = 50
LOG_CHARS = 8_000

_RUNNER = r'''
import json, os, sys
_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
class _Counter:
    def __init__(self):
        self.counts = dict.fromkeys(
            ("passed", "failed", "errors", "skipped", "xfailed", "xpassed"), 0)
        self.failures = []
    def _failed(self, nodeid):
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(str(nodeid)[:300])
    def pytest_collectreport(self, report):
        if report.failed:
            self.counts["errors"] += 1
            self._failed(report.nodeid or "collection")
    def pytest_runtest_logreport(self, report):
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if report.passed:
                key = "xpassed" if xfail else "passed"
            elif report.failed:
                key = "failed"
            else:
                key = "xfailed" if xfail else "skipped"
        elif report.failed:
            key = "errors"
        elif report.skipped:
            key = "xfailed" if xfail else "skipped"
        else:
            return
        self.counts[key] += 1
        if key in ("failed", "errors"):
            self._failed(report.nodeid)
import pytest
_counter = _Counter()
_status = pytest.main(sys.argv[1:], plugins=[_counter])
_out.write(PREFIX + json.dumps({"exit_status": int(_status), "failures": _counter.failures,
                                **_counter.counts}) + "\n")
_out.flush()
'''
PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic")
_DURATION = re.compile(r"\s+in\s+\d+(\.\d+)?s(\s+\(\d+:\d\d:\d\d\))?(?=\s*=*\s*$)")


class OwnTestsStatus(StrEnum):
    NO_TESTS = "no_tests"
    COMPLETED = "completed"  # pytest ran to its end and its counts were read
    INCOMPLETE = "incomplete"  # no trustworthy counts: timeout, crash, or a tampered channel


class TestCounts(SignalModel):
    __test__ = False  # not a pytest test class

    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    errors: int = Field(ge=0, description="errors in collection, setup or teardown")
    skipped: int = Field(ge=0)
    xfailed: int = Field(ge=0)
    xpassed: int = Field(ge=0)


class _Record(TestCounts):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    exit_status: int
    failures: list[str] = Field(max_length=MAX_FAILURES)


class OwnTests(SignalModel):
    status: OwnTestsStatus
    message: str = Field(description="one sentence for reviewers")
    test_files: list[str] = Field(description=f"the first {MAX_LISTED_TEST_FILES} test files")
    counts: TestCounts | None = None
    exit_status: int | None = Field(None, description="pytest's exit status (0 all passed, "
                                                      "1 some failed, 5 none collected, ...)")
    failures: list[str] = Field(default_factory=list,
                                description="node ids of failed and errored tests")
    outcome: str | None = Field(None, description="how the container ended")
    summary: str = Field("", description="the last line printed (pytest's summary, unless the "
                                         "candidate printed after it: not trusted)")
    log: str = Field("", description="the tail of what the test run printed (not trusted); "
                                     "the duration is taken off pytest's summary line")
    limit_seconds: float | None = None
    wall_seconds: float | None = None


def find_test_files(tree: Tree) -> list[str]:
    return [s.path for s in tree.python
            if is_test_path(s.path) and not s.path.endswith("conftest.py")]


def run_own_tests(tree: Tree, *, runner_image: str, limits: sandbox.Limits,
                  public_data: Path | None = None) -> OwnTests:
    """Run the submission's tests in the sandbox; ``limits`` are tightened to OWN_TESTS_TIMEOUT.

    Raises ``sandbox.SandboxError`` when the engine could not run the container at all.
    """
    test_files = find_test_files(tree)
    if not test_files:
        return OwnTests(status=OwnTestsStatus.NO_TESTS, test_files=[],
                        message="The submission has no tests (looked for tests/, test_*.py "
                                "and *_test.py).")
    limits = limits.tightened(timeout=min(OWN_TESTS_TIMEOUT, limits.timeout))
    nonce = secrets.token_hex(16)
    prefix = f"@@grader-own-tests {nonce} "
    script = _RUNNER.replace("MAX_FAILURES", str(MAX_FAILURES)).replace("PREFIX", repr(prefix))
    mounts = [sandbox.ReadOnlyMount(tree.root, SUBMISSION_DIR)]
    if public_data is not None:
        mounts.append(sandbox.ReadOnlyMount(public_data, DATA_DIR))
    result = sandbox.run_command(["python3", "-c", script, *PYTEST_ARGS], image=runner_image,
                                 limits=limits, mounts=mounts, working_dir=SUBMISSION_DIR)
    if result.outcome is sandbox.Outcome.INFRASTRUCTURE_ERROR:
        raise sandbox.SandboxError(result.message)
    output = _without_duration(result.stderr.text)
    lines = output.strip().splitlines()
    common = {"test_files": test_files[:MAX_LISTED_TEST_FILES], "outcome": result.outcome.value,
              "summary": clip(lines[-1].strip(), 300) if lines else "",
              "log": output[-LOG_CHARS:],
              "limit_seconds": limits.timeout, "wall_seconds": result.wall_seconds}
    record, problem = _read_record(result, prefix)
    if record is None:
        return OwnTests(status=OwnTestsStatus.INCOMPLETE, message=problem, **common)
    counts = TestCounts(**record.model_dump(include=set(TestCounts.model_fields)))
    return OwnTests(status=OwnTestsStatus.COMPLETED, counts=counts,
                    exit_status=record.exit_status, failures=record.failures,
                    message=_describe(counts, record.exit_status), **common)


def _read_record(result: sandbox.RunResult, prefix: str) -> tuple[_Record | None, str]:
    if result.outcome is not sandbox.Outcome.OK:
        return None, f"The test run {result.message}; no counts."
    stdout = result.stdout
    lines = stdout.text.split("\n")
    if stdout.truncated or len(lines) != 2 or lines[1] or not lines[0].startswith(prefix):
        if not stdout.text:
            return None, "pytest ended without reporting its results; no counts."
        return None, ("The test run wrote unexpected output where only the grader's record "
                      "belongs; its counts are not trusted.")
    payload = lines[0][len(prefix):]
    if len(payload) > MAX_RECORD_BYTES:
        return None, "The test run's record is too large; its counts are not trusted."
    try:
        return _Record.model_validate_json(payload), ""
    except ValidationError:
        return None, "The test run's record is malformed; its counts are not trusted."


def _describe(counts: TestCounts, exit_status: int) -> str:
    errors = f"{counts.errors} error" + ("" if counts.errors == 1 else "s")
    parts = [f"{counts.passed} passed", f"{counts.failed} failed", errors]
    parts += [f"{value} {name}" for name, value in (("skipped", counts.skipped),
                                                    ("xfailed", counts.xfailed),
                                                    ("xpassed", counts.xpassed)) if value]
    ran = counts.passed + counts.failed + counts.errors + counts.skipped + counts.xfailed \
        + counts.xpassed
    if not ran:
        return f"pytest found no tests to run (exit status {exit_status})."
    return ", ".join(parts) + f" (pytest exit status {exit_status})."


def _without_duration(output: str) -> str:
    """pytest's output with the duration taken off its last line, so that grading a submission
    twice gives the same report (the time is in ``wall_seconds``)."""
    head, _, last = output.rstrip().rpartition("\n")
    return (head + "\n" if head else "") + _DURATION.sub("", last) + "\n" if output else ""
