"""Static checks on a submission, on the trusted side, without importing or running any of it.

Python files are parsed with ``ast`` (which only parses); ruff runs as a subprocess over a private
copy of the ``.py`` files with ``--isolated`` (no configuration file of the candidate's is read,
so none can point a cache or anything else at the host) and ``--no-cache``. Suppression comments
are ignored (``--ignore-noqa``) so every submission is measured by the same rules.

What is measured, over non-test code unless said otherwise:
- type hints: a function counts as typed when every parameter (but ``self``/``cls``) and its return
  are annotated (``__init__`` needs no return annotation);
- docstrings: public (no leading underscore) functions, methods and classes that have one;
- lines of code: non-blank lines that are not only a comment, for every file (tests included);
- length: lines from ``def`` to the function's last line;
- complexity: McCabe-style, 1 + each ``if``/``elif``, conditional expression, loop, ``except``,
  ``match`` case, comprehension loop and filter, and each extra operand of ``and``/``or``;
  functions above ``COMPLEXITY_THRESHOLD`` (McCabe's own suggestion, 10) are listed;
- notebooks: listed, since take-homes ask for code.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from grader.signals._common import SignalModel, SourceFile, Tree, clip

__all__ = [
    "COMPLEXITY_THRESHOLD",
    "LINT_FAMILIES",
    "FileLines",
    "FunctionStat",
    "Lint",
    "LintFamily",
    "LintFinding",
    "StaticChecks",
    "static_checks",
]

COMPLEXITY_THRESHOLD = 10
# The rule families selected, by code prefix. Kept to families whose findings are about
# correctness or plain readability; naming rules are left out (ML code says X_train).
LINT_FAMILIES = {
    "F": "pyflakes",
    "E": "pycodestyle errors",
    "W": "pycodestyle warnings",
    "B": "flake8-bugbear",
    "I": "isort",
    "UP": "pyupgrade",
    "SIM": "flake8-simplify",
    "C4": "flake8-comprehensions",
}
SYNTAX = "syntax"
OTHER = "other"
_FAMILY_NAMES = {**LINT_FAMILIES, SYNTAX: "syntax errors", OTHER: "other rules"}
RUFF_TIMEOUT_SECONDS = 60.0
MAX_LINT_EXAMPLES = 30
MAX_LINT_LINE_BYTES = 64 * 1024
MAX_LISTED_FILES = 200
MAX_LISTED_FUNCTIONS = 20


class LintFamily(SignalModel):
    prefix: str = Field(description="the rule codes' prefix, e.g. F, or 'syntax'")
    name: str
    findings: int


class LintFinding(SignalModel):
    path: str
    line: int
    code: str
    message: str


class Lint(SignalModel):
    available: bool = Field(description="false when ruff could not be run; then nothing below")
    message: str
    total: int = 0
    families: list[LintFamily] = Field(default_factory=list)
    rules: dict[str, int] = Field(default_factory=dict, description="findings per rule code")
    examples: list[LintFinding] = Field(default_factory=list, description="the first few")


class FileLines(SignalModel):
    path: str
    lines: int
    code_lines: int = Field(description="non-blank lines that are not only a comment")
    test: bool


class FunctionStat(SignalModel):
    path: str
    name: str = Field(description="qualified: Class.method, outer.inner")
    line: int
    lines: int
    complexity: int


class StaticChecks(SignalModel):
    python_files: int
    code_lines: int = Field(description="in non-test files")
    test_code_lines: int
    files: list[FileLines] = Field(description=f"by path, at most {MAX_LISTED_FILES}")
    functions: int = Field(description="functions and methods in non-test files")
    typed_functions: int
    type_hint_share: float | None
    public_definitions: int = Field(description="public functions, methods and classes")
    documented_definitions: int
    docstring_share: float | None
    longest_functions: list[FunctionStat] = Field(description="the five longest")
    complexity_threshold: int = COMPLEXITY_THRESHOLD
    complexity_outliers: list[FunctionStat] = Field(
        description="functions above the threshold, most complex first")
    notebooks: list[str] = Field(description="flagged: take-homes ask for code")
    unparsable: list[str] = Field(description="files Python cannot parse, with the reason")
    lint: Lint
    notes: list[str] = Field(default_factory=list, description="what was not looked at, and why")


def static_checks(tree: Tree) -> StaticChecks:
    files: list[FileLines] = []
    functions: list[tuple[SourceFile, _Function]] = []
    unparsable: list[str] = []
    public = documented = 0
    for source in tree.python:
        files.append(FileLines(path=source.path, lines=source.text.count("\n") + 1,
                               code_lines=_code_lines(source.text), test=source.is_test))
        try:
            module = ast.parse(source.text, filename=source.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line})" if line else ""
            unparsable.append(clip(f"{source.path}{where}: {type(exc).__name__}: "
                                   f"{getattr(exc, 'msg', exc)}", 300))
            continue
        found = list(_functions(module))
        functions.extend((source, f) for f in found)
        if not source.is_test:
            definitions = [f.node for f in found if not f.nested] + [
                n for n in ast.walk(module) if isinstance(n, ast.ClassDef)]
            for node in definitions:
                if not node.name.startswith("_"):
                    public += 1
                    documented += ast.get_docstring(node, clean=False) is not None
    stats = [FunctionStat(path=s.path, name=f.name, line=f.node.lineno, lines=f.length,
                          complexity=f.complexity) for s, f in functions]
    source_functions = [f for s, f in functions if not s.is_test]
    typed = sum(f.typed for f in source_functions)
    outliers = sorted((s for s in stats if s.complexity > COMPLEXITY_THRESHOLD),
                      key=lambda s: (-s.complexity, s.path, s.line))
    notes = list(tree.notes)
    if len(files) > MAX_LISTED_FILES:
        notes.append(f"{len(files)} Python files; the first {MAX_LISTED_FILES} are listed")
    return StaticChecks(
        python_files=len(tree.python),
        code_lines=sum(f.code_lines for f in files if not f.test),
        test_code_lines=sum(f.code_lines for f in files if f.test),
        files=files[:MAX_LISTED_FILES],
        functions=len(source_functions), typed_functions=typed,
        type_hint_share=_share(typed, len(source_functions)),
        public_definitions=public, documented_definitions=documented,
        docstring_share=_share(documented, public),
        longest_functions=sorted(stats, key=lambda s: (-s.lines, s.path, s.line))[:5],
        complexity_outliers=outliers[:MAX_LISTED_FUNCTIONS],
        notebooks=list(tree.notebooks), unparsable=unparsable,
        lint=run_ruff(tree.python), notes=notes)


# --- ast measurements -------------------------------------------------------------------------

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class _Function:
    def __init__(self, node: _FunctionNode, name: str, *, method: bool, nested: bool) -> None:
        self.node = node
        self.name = name
        self.nested = nested
        self.length = (node.end_lineno or node.lineno) - node.lineno + 1
        self.complexity = _complexity(node)
        self.typed = _typed(node, method=method)


def _functions(module: ast.Module) -> Iterator[_Function]:
    """Every function, with a qualified name; iterative, so deep nesting cannot overflow."""
    stack: list[tuple[ast.AST, str, str]] = [(module, "", "module")]
    while stack:
        node, prefix, context = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                yield _Function(child, name, method=context == "class",
                                nested=context == "function")
                stack.append((child, name + ".", "function"))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, prefix + child.name + ".", "class"))
            else:
                stack.append((child, prefix, context))


_BRANCHES = (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler,
             ast.match_case)


def _complexity(function: _FunctionNode) -> int:
    score = 1
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue  # measured on its own
        if isinstance(node, _BRANCHES):
            score += 1
        elif isinstance(node, ast.BoolOp):
            score += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            score += 1 + len(node.ifs)
        stack.extend(ast.iter_child_nodes(node))
    return score


def _typed(function: _FunctionNode, *, method: bool) -> bool:
    args = function.args
    params = [*args.posonlyargs, *args.args]
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod"
                 for d in function.decorator_list)
    if method and not static and params:
        params = params[1:]
    params += args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]
    returns_ok = function.returns is not None or function.name == "__init__"
    return returns_ok and all(p.annotation is not None for p in params)


def _code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines()
               if line.strip() and not line.lstrip().startswith("#"))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


# --- ruff -------------------------------------------------------------------------------------

def ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return shutil.which("ruff")
    try:
        return os.fsdecode(find_ruff_bin())
    except FileNotFoundError:
        return shutil.which("ruff")


def run_ruff(sources: list[SourceFile]) -> Lint:
    """ruff's findings over a private copy of the files, read as a bounded stream."""
    if not sources:
        return Lint(available=True, message="No Python files to lint.")
    binary = ruff_binary()
    if binary is None:
        return Lint(available=False, message="ruff is not installed on the grader.")
    with tempfile.TemporaryDirectory(prefix="lint-") as tmp:
        copy = Path(tmp).resolve()
        for source in sources:
            target = copy / source.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.text, encoding="utf-8")
        command = [binary, "check", "--isolated", "--no-cache", "--ignore-noqa", "--exit-zero",
                   "--output-format", "json-lines", "--target-version", "py311",
                   "--line-length", "100", "--select", ",".join(LINT_FAMILIES), "."]
        try:
            findings, failure = _stream_findings(command, copy)
        except OSError as exc:
            return Lint(available=False, message=f"ruff could not be run: {exc}")
    if failure is not None:
        return Lint(available=False, message=failure)
    families: Counter[str] = Counter(_family(code) for code, _ in findings)
    rules: Counter[str] = Counter(code for code, _ in findings)
    examples = [example for _, example in findings if example is not None][:MAX_LINT_EXAMPLES]
    total = len(findings)
    return Lint(
        available=True,
        message=(f"{total} finding(s) from ruff's {', '.join(LINT_FAMILIES)} rules."
                 if total else f"No findings from ruff's {', '.join(LINT_FAMILIES)} rules."),
        total=total,
        families=[LintFamily(prefix=p, name=_FAMILY_NAMES[p], findings=n)
                  for p, n in sorted(families.items(), key=lambda kv: (-kv[1], kv[0]))],
        rules=dict(sorted(rules.items())), examples=examples)


def _stream_findings(command: list[str], cwd: Path
                     ) -> tuple[list[tuple[str, LintFinding | None]], str | None]:
    """(code, example or None) per finding; examples are kept for the first few only."""
    findings: list[tuple[str, LintFinding | None]] = []
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=errors,
                                   env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"})
        timer = threading.Timer(RUFF_TIMEOUT_SECONDS, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                if len(raw) > MAX_LINT_LINE_BYTES:
                    continue
                parsed = _finding(raw, cwd, keep=len(findings) < MAX_LINT_EXAMPLES)
                if parsed is not None:
                    findings.append(parsed)
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        stderr = errors.read(4096).decode(errors="replace").strip()
    if code != 0:
        reason = "ran past its time limit" if code < 0 else f"exited with code {code}"
        return [], clip(f"ruff {reason}: {stderr}", 500)
    return findings, None


def _finding(raw: bytes, root: Path, *, keep: bool) -> tuple[str, LintFinding | None] | None:
    try:
        item = json.loads(raw)
        code = item.get("code") or SYNTAX
        if code == "invalid-syntax":
            code = SYNTAX
        if not keep:
            return str(code), None
        filename = Path(str(item["filename"]))
        path = filename.relative_to(root).as_posix() if filename.is_absolute() else str(filename)
        return str(code), LintFinding(path=path, line=int(item["location"]["row"]),
                                      code=str(code), message=clip(str(item["message"]), 300))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _family(code: str) -> str:
    for prefix in sorted(LINT_FAMILIES, key=len, reverse=True):
        if code.startswith(prefix) and code[len(prefix):].isdigit():
            return prefix
    return SYNTAX if code == SYNTAX else OTHER
