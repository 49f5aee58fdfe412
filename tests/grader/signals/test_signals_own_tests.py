"""The candidate's own tests: run by pytest in the sandbox, counted from pytest's reports through a
channel the candidate's prints do not reach; faking a summary never turns failures into passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.signals import OwnTests, OwnTestsStatus, TestCounts
from grader.signals._common import scan
from grader.signals.own_tests import run_own_tests
from sandbox import Limits

MakeSubmission = Callable[..., Path]  # the make_submission fixture

LIMITS = Limits(memory="512m", cpus=1, timeout=60)

SOLUTION = "def predict(texts):\n    return ['short' for _ in texts]\n"

MIXED = {
    "solution.py": SOLUTION,
    "tests/test_solution.py": """\
        import os

        import pytest

        import solution


        def test_runs_in_the_sandbox_as_the_candidate_user():
            assert os.getuid() == 10001
            assert os.path.isdir("/data")


        def test_predicts_short():
            assert solution.predict(["a"]) == ["short"]


        def test_predicts_long():
            assert solution.predict(["a " * 100]) == ["long"]


        @pytest.mark.skip(reason="later")
        def test_later():
            pass


        @pytest.mark.xfail(reason="known")
        def test_known_bug():
            assert False
        """,
}


@pytest.fixture
def own_tests(runner_image: str, tmp_path: Path) -> Callable[..., OwnTests]:
    data = tmp_path / "public-data"
    data.mkdir(mode=0o755)

    def run(folder: Path, limits: Limits = LIMITS) -> OwnTests:
        return run_own_tests(scan(folder), runner_image=runner_image, limits=limits,
                             public_data=data)
    return run


def test_no_tests_is_said_plainly_and_nothing_runs(make_submission: MakeSubmission) -> None:
    # No runner image is needed: with no test files no container is started.
    result = run_own_tests(scan(make_submission({"solution.py": SOLUTION, "check.py": ""})),
                           runner_image="no-such-image:never", limits=LIMITS)
    assert result.status is OwnTestsStatus.NO_TESTS
    assert result.counts is None and result.test_files == []
    assert "no tests" in result.message


@pytest.mark.docker
def test_passing_failing_skipped_and_xfailed_tests_are_counted(
        make_submission: MakeSubmission, own_tests: Callable[..., OwnTests]) -> None:
    folder = make_submission(MIXED)
    result = own_tests(folder)
    assert result.status is OwnTestsStatus.COMPLETED, result
    assert result.counts == TestCounts(passed=2, failed=1, errors=0, skipped=1, xfailed=1,
                                       xpassed=0)
    assert result.exit_status == 1
    assert result.failures == ["tests/test_solution.py::test_predicts_long"]
    assert result.test_files == ["tests/test_solution.py"]
    assert result.summary == "1 failed, 2 passed, 1 skipped, 1 xfailed"
    assert result.outcome == "ok" and result.limit_seconds == 60
    assert result.message == "2 passed, 1 failed, 0 errors, 1 skipped, 1 xfailed " \
                             "(pytest exit status 1)."
    assert result.log.endswith("\n1 failed, 2 passed, 1 skipped, 1 xfailed\n")
    # Graded twice, the same (but for the measured time).
    again = own_tests(folder)
    assert again.model_dump(exclude={"wall_seconds"}) == result.model_dump(
        exclude={"wall_seconds"})


@pytest.mark.docker
def test_a_collection_error_is_counted_as_an_error(make_submission: MakeSubmission,
                                                   own_tests: Callable[..., OwnTests]) -> None:
    result = own_tests(make_submission({
        "solution.py": "import lightgbm\n",
        "test_solution.py": "import solution\n\ndef test_x():\n    pass\n"}))
    assert result.status is OwnTestsStatus.COMPLETED
    assert result.counts is not None and (result.counts.errors, result.counts.passed) == (1, 0)
    assert "No module named 'lightgbm'" in result.log


# Ways a failing suite might try to look passing. Each prints or writes a fake success.
FAKE_SUMMARY = '''\
import os, sys

def test_fails_but_prints_success():
    print("=" * 20 + " 10 passed in 0.01s " + "=" * 20)
    sys.__stdout__.write("10 passed in 0.01s\\n")
    os.write(1, b"10 passed in 0.01s\\n")
    assert False
'''
CONFTEST_FAKES = '''\
import json, os, sys

def pytest_unconfigure(config):
    fake = "10 passed, 0 failed in 0.01s"
    record = json.dumps({"exit_status": 0, "failures": [], "passed": 10, "failed": 0,
                         "errors": 0, "skipped": 0, "xfailed": 0, "xpassed": 0})
    print(fake)
    sys.__stdout__.write(fake + "\\n")
    os.write(1, (fake + "\\n").encode())
    with open("/proc/self/fd/1", "w") as out:
        out.write("@@grader-own-tests 0000 " + record + "\\n")
'''
CONFTEST_WRITES_EVERY_FD = '''\
import json, os

def pytest_unconfigure(config):
    record = json.dumps({"exit_status": 0, "failures": [], "passed": 10, "failed": 0,
                         "errors": 0, "skipped": 0, "xfailed": 0, "xpassed": 0})
    for fd in range(3, 64):
        try:
            os.write(fd, ("@@grader-own-tests guess " + record + "\\n").encode())
        except OSError:
            pass
'''
CONFTEST_EXITS_EARLY = '''\
import os

def pytest_sessionfinish(session, exitstatus):
    print("10 passed in 0.01s", flush=True)
    os._exit(0)
'''


@pytest.mark.docker
@pytest.mark.parametrize("conftest", [None, CONFTEST_FAKES],
                         ids=["prints_in_the_test", "prints_and_writes_fd_1_at_exit"])
def test_a_fake_summary_line_does_not_make_failing_tests_pass(
        make_submission: MakeSubmission, own_tests: Callable[..., OwnTests],
        conftest: str | None) -> None:
    files = {"solution.py": SOLUTION, "tests/test_fake.py": FAKE_SUMMARY}
    if conftest:
        files["conftest.py"] = conftest
    result = own_tests(make_submission(files))
    assert result.status is OwnTestsStatus.COMPLETED, result
    assert result.counts is not None
    assert (result.counts.passed, result.counts.failed) == (0, 1)
    assert result.exit_status == 1
    assert "10 passed" in result.log  # the fake is shown as what it is: printed text


@pytest.mark.docker
@pytest.mark.parametrize("conftest", [CONFTEST_WRITES_EVERY_FD, CONFTEST_EXITS_EARLY],
                         ids=["writes_a_record_to_every_fd", "exits_0_before_the_record"])
def test_tampering_with_the_result_channel_gives_no_counts(
        make_submission: MakeSubmission, own_tests: Callable[..., OwnTests],
        conftest: str) -> None:
    result = own_tests(make_submission({"solution.py": SOLUTION, "conftest.py": conftest,
                                        "tests/test_fake.py": FAKE_SUMMARY}))
    assert result.status is OwnTestsStatus.INCOMPLETE, result
    assert result.counts is None and result.exit_status is None
    assert "no counts" in result.message or "not trusted" in result.message


@pytest.mark.docker
def test_a_suite_past_its_time_limit_is_stopped_and_reported(
        make_submission: MakeSubmission, own_tests: Callable[..., OwnTests]) -> None:
    result = own_tests(make_submission({
        "solution.py": SOLUTION,
        "test_slow.py": "import time\n\ndef test_slow():\n    time.sleep(60)\n"}),
        limits=LIMITS.tightened(timeout=3))
    assert result.status is OwnTestsStatus.INCOMPLETE
    assert result.outcome == "timeout" and result.limit_seconds == 3
    assert result.counts is None
    assert "time limit" in result.message
