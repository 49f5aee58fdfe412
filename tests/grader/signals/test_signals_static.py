"""Static checks: ruff by rule family, type hints, docstrings, size, complexity, notebooks; read
without running anything, and safe on hostile files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.signals import static as static_module
from grader.signals._common import MAX_FILE_BYTES, scan
from grader.signals.static import StaticChecks, static_checks

MakeSubmission = Callable[..., Path]  # the make_submission fixture

LINTY = """\
import os
import sys


def f(x):
    if x == None:
        return 1
    return 2
"""

CLEAN = '''\
"""A clean module."""


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''


def check(folder: Path) -> StaticChecks:
    return static_checks(scan(folder))


def test_lint_findings_are_grouped_by_rule_family(make_submission: MakeSubmission) -> None:
    lint = check(make_submission({"solution.py": LINTY})).lint
    assert lint.available
    families = {f.prefix: f.findings for f in lint.families}
    assert families == {"F": 2, "E": 1}
    assert lint.rules == {"E711": 1, "F401": 2}
    assert lint.total == 3
    assert {(e.path, e.line, e.code) for e in lint.examples} == {
        ("solution.py", 1, "F401"), ("solution.py", 2, "F401"), ("solution.py", 6, "E711")}


def test_clean_code_has_no_findings(make_submission: MakeSubmission) -> None:
    lint = check(make_submission({"solution.py": CLEAN})).lint
    assert lint.available and lint.total == 0 and lint.families == []
    assert "No findings" in lint.message


def test_the_candidates_own_lint_config_and_noqa_comments_are_ignored(
        make_submission: MakeSubmission) -> None:
    folder = make_submission({
        "solution.py": "# ruff: noqa\nimport os  # noqa: F401\n",
        "pyproject.toml": '[tool.ruff]\nexclude = ["*"]\n[tool.ruff.lint]\nignore = ["F"]\n',
        "ruff.toml": 'exclude = ["*"]\n[lint]\nselect = []\n',
    })
    assert check(folder).lint.rules == {"F401": 1}


def test_syntax_errors_are_a_family_of_their_own_and_listed_as_unparsable(
        make_submission: MakeSubmission) -> None:
    checks = check(make_submission({"broken.py": "def f(:\n", "ok.py": CLEAN}))
    assert [f.prefix for f in checks.lint.families] == ["syntax"]
    assert len(checks.unparsable) == 1 and checks.unparsable[0].startswith("broken.py (line 1)")
    assert checks.functions == 1  # ok.py is still measured


def test_type_hints_and_docstrings_are_counted_over_non_test_code(
        make_submission: MakeSubmission) -> None:
    checks = check(make_submission({
        "solution.py": '''\
            """Module docstring."""


            def typed(a: int, *args: str, flag: bool = False, **kw: int) -> int:
                """Documented."""
                return a


            def half(a: int, b) -> int:
                return a


            def bare(a):
                return a


            def _private(a):
                return a


            class Model:
                """A model."""

                def __init__(self, size: int):
                    self.size = size

                def fit(self, texts: list[str]) -> None:
                    """Fit."""

                @staticmethod
                def make(size) -> "Model":
                    return Model(size)
            ''',
        "tests/test_solution.py": "def test_one():\n    assert True\n",
    }))
    # typed, half, bare, _private, __init__, fit, make; the test function is not counted
    assert checks.functions == 7
    assert checks.typed_functions == 3  # typed, __init__ (no return needed), fit
    assert checks.type_hint_share == pytest.approx(3 / 7, abs=1e-3)
    # public: typed, half, bare, Model, fit, make (not _private, not __init__)
    assert checks.public_definitions == 6
    assert checks.documented_definitions == 3  # typed, Model, fit
    assert checks.docstring_share == 0.5


def test_no_functions_means_no_share_rather_than_zero(make_submission: MakeSubmission) -> None:
    checks = check(make_submission({"solution.py": "x = 1\n"}))
    assert checks.type_hint_share is None and checks.docstring_share is None


def test_lines_of_code_by_file_leave_out_blanks_and_comments(
        make_submission: MakeSubmission) -> None:
    checks = check(make_submission({
        "solution.py": "# a comment\n\nx = 1\n\n    # indented comment\ny = 2  # trailing\n",
        "tests/test_x.py": "def test_x():\n    pass\n",
    }))
    by_path = {f.path: f for f in checks.files}
    assert by_path["solution.py"].code_lines == 2 and not by_path["solution.py"].test
    assert by_path["tests/test_x.py"].code_lines == 2 and by_path["tests/test_x.py"].test
    assert (checks.code_lines, checks.test_code_lines) == (2, 2)


def test_longest_function_and_complexity_outliers(make_submission: MakeSubmission) -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    checks = check(make_submission({"solution.py": (
        "def tangled(x):\n" + branches + "    return -1\n\n\n"
        "def simple(x):\n    return [y for y in x if y and y > 0]\n\n\n"
        "class Box:\n    def method(self):\n        def inner():\n"
        "            return 1 if self else 2\n        return inner\n")}))
    longest = checks.longest_functions[0]
    assert (longest.name, longest.line, longest.lines) == ("tangled", 1, 26)
    assert [(f.name, f.complexity) for f in checks.complexity_outliers] == [("tangled", 13)]
    complexity = {f.name: f.complexity for f in checks.longest_functions}
    # 1 + comprehension loop + its filter + one `and`; nested functions measured on their own
    assert complexity["simple"] == 4
    assert complexity["Box.method"] == 1 and complexity["Box.method.inner"] == 2


def test_notebooks_are_flagged(make_submission: MakeSubmission) -> None:
    checks = check(make_submission({"solution.py": CLEAN, "notebooks/explore.ipynb": "{}"}))
    assert checks.notebooks == ["notebooks/explore.ipynb"]


def test_virtualenvs_caches_and_hidden_folders_are_not_counted(
        make_submission: MakeSubmission) -> None:
    checks = check(make_submission({
        "solution.py": CLEAN, ".venv/lib/x.py": LINTY, "venv/y.py": LINTY,
        "__pycache__/z.py": LINTY, ".git/hooks/h.py": LINTY}))
    assert [f.path for f in checks.files] == ["solution.py"]


def test_symlinks_are_never_followed(make_submission: MakeSubmission, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.py"
    secret.write_text("SECRET = 'from the host'\nimport os\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "more.py").write_text("import sys\n")
    folder = make_submission({"solution.py": CLEAN})
    os.symlink(secret, folder / "leak.py")
    os.symlink(outside, folder / "linked_dir")
    checks = check(folder)
    assert [f.path for f in checks.files] == ["solution.py"]
    assert checks.lint.total == 0


def test_hostile_sources_do_not_break_the_checks(make_submission: MakeSubmission) -> None:
    checks = check(make_submission({
        "deep.py": "x = 1" + " + 1" * 100_000 + "\n",
        "nested.py": "x = " + "[" * 300 + "]" * 300 + "\n",
        "binary.py": "\x00\x01\x02 not python",
        "solution.py": CLEAN,
    }))
    assert checks.python_files == 4
    assert checks.functions == 1


def test_oversized_files_are_skipped_with_a_note(make_submission: MakeSubmission) -> None:
    folder = make_submission({"solution.py": CLEAN,
                              "big.py": "x = 1\n" * (MAX_FILE_BYTES // 6 + 10)})
    checks = check(folder)
    assert [f.path for f in checks.files] == ["solution.py"]
    assert any("big.py" in note for note in checks.notes)


def test_a_missing_ruff_is_reported_not_raised(make_submission: MakeSubmission,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(static_module, "ruff_binary", lambda: None)
    lint = check(make_submission({"solution.py": LINTY})).lint
    assert not lint.available and "not installed" in lint.message
