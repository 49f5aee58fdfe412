"""Integrity evidence for reviewers: what in a submission matches the assignment's own ``hidden/``
or ``reference/`` content, and scores no honest solution is expected to reach.

Shown to reviewers beside the score, never to candidates, never scored: each finding comes with
the lines or values that raised it, to be read, not obeyed. Four checks:

- **Copies.** Every text file of the submission is compared with every text file under the
  assignment's ``hidden/`` and ``reference/`` folders, two ways. Lines: each line is stripped,
  its whitespace collapsed, Python comments dropped (``tokenize``, so a ``#`` in a string stays);
  blank lines, import lines, lines shorter than ``MIN_LINE_CHARS`` and lines of the starter bundle
  are set aside; a run of ``MIN_RUN_LINES`` or more consecutive remaining lines, and
  ``MIN_RUN_CHARS`` characters, found in the same order in both files is a match (so a copy with
  a comment added, or its blank lines changed, still matches). Tokens: Python files are shingled
  as ``grader.signals.similarity`` does (names, strings and numbers normalised, so renaming
  changes nothing; the starter's shingles set aside); a pair sharing ``MIN_SHARED_SHINGLES``
  shingles that make up ``MIN_TOKEN_SHARE`` of either file, or ``MANY_SHARED_SHINGLES`` in any
  case, is a match. Each match names both files, the share of the source file found, and the
  matching lines (the first ``MAX_EVIDENCE_LINES``). The thresholds leave the built-in
  assignments' reference solutions unflagged against each other but for two that share their
  feature code.
- **Hidden module names.** A submission's Python code that imports a module named like a file of
  ``hidden/`` (``import generate``, ``from catalogue import ...``, ``import_module("harness")``),
  or names such a file in a string (``"generate.py"``), unless the submission ships its own
  module of that name and that module is not itself a copy (then the copy check has compared it).
  Test modules under ``hidden/`` and standard-library names are not looked for.
- **Hidden items.** When the assignment's instance generator gives the hidden split
  (``hidden_items(seeds)``), each string in it of ``MIN_ITEM_WORDS`` words and ``MIN_ITEM_CHARS``
  characters or more (a question, a row's text) that is not also in the public data or the starter
  bundle is looked for, word for word (case, punctuation and JSON escapes aside), in every file of
  the submission, binary files included (a pickled lookup table holds its strings as they are).
  ``MIN_ITEMS_FOUND`` distinct items or more are a finding.
- **Implausible metrics.** Each rubric metric that measures quality (not a timing or a size:
  see ``grader.spec.SUPPORTING_SUFFIXES``) whose value is perfect (1 for a share where higher is
  better, 0 where lower is better) while the reference's is not, or that beats the reference
  (the scale's top anchor) by more than a margin: ``SHARE_MARGIN`` (absolute) for a metric whose
  anchors all lie in [0, 1], else half the gap between the reference and the anchor below it.

``check_integrity`` runs them all and never raises: a failure inside it is the grader's problem,
recorded in the section (``checked`` false, with the reason) while the report is still produced.
Nothing here imports, executes or unpickles a submitted file.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import logging
import math
import os
import re
import stat
import sys
import token
import tokenize
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.environment_fit import absolute_imports
from grader.scoring import AnchorValues, recorded_anchors
from grader.signals._common import clip, decode_source, is_test_path, read_regular_file
from grader.signals.similarity import SHINGLE_TOKENS, _normalised_tokens
from grader.spec import SUPPORTING_SUFFIXES, Assignment

__all__ = [
    "CopyFinding",
    "File",
    "Files",
    "ImportFinding",
    "Integrity",
    "ItemFinding",
    "MatchedLine",
    "MetricFinding",
    "check_integrity",
    "find_copies",
    "find_hidden_imports",
    "find_hidden_items",
    "find_implausible_metrics",
    "integrity_not_checked",
    "item_texts",
    "read_tree",
    "with_metrics",
]

log = logging.getLogger("grader.integrity")

MIN_LINE_CHARS = 10
MIN_RUN_LINES = 6
MIN_RUN_CHARS = 240
MIN_SHARED_SHINGLES = 150
MIN_TOKEN_SHARE = 0.5
MANY_SHARED_SHINGLES = 400
MIN_SOURCE_SHINGLES = 20  # a smaller source file is compared by lines only
MAX_EVIDENCE_LINES = 40
MAX_RUNS = 20
MAX_COPY_FINDINGS = 20
MAX_LINE_CHARS = 200
MIN_ITEM_WORDS = 4
MIN_ITEM_CHARS = 20
MIN_ITEMS_FOUND = 3
MAX_ITEM_EXAMPLES = 10
MAX_ITEM_TEXTS = 100_000
SHARE_MARGIN = 0.05
# What is read: the whole submission (no folder is skipped: a copy may hide anywhere), within caps.
MAX_FILES = 5_000
MAX_FILE_BYTES = 4 * 1024**2
MAX_TOTAL_BYTES = 32 * 1024**2
MAX_TOKENS = 400_000  # Python tokens shingled per submission
STARTER_FILE_BYTES = 1024**2  # larger starter files are data, not code to set aside
PUBLIC_FILE_BYTES = 64 * 1024**2  # public data read to set its texts aside
SOURCE_FOLDERS = ("hidden", "reference")

_IMPORT_LINE = re.compile(r"^(import\s|from\s+\S+\s+import\s)")
_WORD = re.compile(r"\w+")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|[nrtbf])")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MatchedLine(_Model):
    submission_line: int
    source_line: int
    text: str = Field(description="the submission's line as written (stripped, capped)")


class CopyFinding(_Model):
    """A submission file that matches a file of the assignment's hidden/ or reference/ folder."""

    path: str = Field(description="the submission's file")
    source: str = Field(description="the assignment's file, e.g. hidden/generate.py")
    folder: Literal["hidden", "reference"]
    similarity: float = Field(description="the larger of line_share and token_share")
    line_share: float = Field(description="share of the source's compared lines found in "
                                          "matching runs")
    token_share: float | None = Field(description="share of the source's token shingles found "
                                                  "in the file (Python files only)")
    matched_lines: int = Field(description="lines in matching runs")
    longest_run: int = Field(description="the longest run of consecutive matching lines")
    runs: list[tuple[int, int, int, int]] = Field(
        description=f"matching runs as (submission first, last, source first, last line), "
                    f"the first {MAX_RUNS}")
    lines: list[MatchedLine] = Field(description=f"the first {MAX_EVIDENCE_LINES} matching lines")


class ImportFinding(_Model):
    path: str
    line: int
    module: str = Field(description="the hidden module's name")
    source: str = Field(description="the hidden file of that name")
    how: Literal["import", "path"] = Field(description="an import, or the file named in a string")
    text: str = Field(description="the line as written")
    shipped_copy: str | None = Field(description="the submission's own file of that name, when "
                                                 "it is a copy of the hidden one")


class ItemExample(_Model):
    line: int | None = Field(description="where it starts (None in a binary file)")
    text: str = Field(description="the hidden item's text (capped)")


class ItemFinding(_Model):
    path: str = Field(description="the submission's file holding hidden items word for word")
    items: int = Field(description="distinct hidden items found in it")
    examples: list[ItemExample]


class MetricFinding(_Model):
    metric: str = Field(description="harness.metric")
    kind: Literal["perfect", "beyond_reference"]
    value: float
    reference: str = Field(description="the baseline the scale's top anchor names")
    reference_value: float
    margin: float | None = Field(description="how far beyond the reference is implausible")
    message: str


class Integrity(_Model):
    """Evidence for reviewers (never candidates): copies of hidden or reference files, hidden
    module names imported, hidden items held word for word, implausible metrics. Not a verdict."""

    checked: bool = Field(description="false when the check could not run (the grader's "
                                      "problem, never the candidate's): see message")
    flagged: bool = Field(description="at least one finding below")
    message: str
    copies: list[CopyFinding] = Field(default_factory=list)
    imports: list[ImportFinding] = Field(default_factory=list)
    hidden_items: list[ItemFinding] = Field(default_factory=list)
    hidden_items_searched: int | None = Field(
        None, description="hidden item texts looked for; None when the assignment gives none")
    metrics: list[MetricFinding] = Field(default_factory=list)
    files_compared: int = Field(0, description="submission files compared")
    sources_compared: int = Field(0, description="hidden/ and reference/ files compared with")
    notes: list[str] = Field(default_factory=list, description="what was not looked at, and why")

    @property
    def findings(self) -> int:
        return len(self.copies) + len(self.imports) + len(self.hidden_items) + len(self.metrics)


# --- reading files ------------------------------------------------------------------------------

@dataclass(frozen=True)
class File:
    """A file as read for the checks: its bytes, and its text unless it is binary."""

    path: str  # relative, with forward slashes
    data: bytes
    text: str | None  # None for a binary file

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")


@dataclass
class Files:
    """What ``read_tree`` read, and what it left out."""

    files: list[File] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_tree(root: Path, *, skip: Callable[[str], bool] = lambda _p: False,
              max_files: int = MAX_FILES, max_file: int = MAX_FILE_BYTES,
              max_total: int = MAX_TOTAL_BYTES) -> Files:
    """Every regular file under ``root`` (never through a symlink), sorted, within the caps."""
    found = Files()
    total = 0
    big: list[str] = []
    if not root.is_dir():
        return found
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(folder, d)))
        relative_folder = Path(folder).relative_to(root)
        for name in sorted(names):
            relative = (relative_folder / name).as_posix()
            absolute = Path(folder) / name
            if skip(relative):
                continue
            try:
                info = absolute.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if len(found.files) >= max_files:
                found.notes.append(f"only the first {max_files} files were read")
                return _finish(found, big, max_file, max_total)
            if info.st_size > max_file or total + info.st_size > max_total:
                big.append(relative)
                continue
            data = read_regular_file(absolute, max_file)
            if data is None:
                continue
            total += len(data)
            found.files.append(File(relative, data, _text(relative, data)))
    return _finish(found, big, max_file, max_total)


def _finish(found: Files, big: list[str], max_file: int, max_total: int) -> Files:
    if big:
        shown = ", ".join(big[:5]) + (" ..." if len(big) > 5 else "")
        found.notes.append(f"{len(big)} file(s) not read: over {max_file / 1024**2:g} MiB "
                           f"each or {max_total / 1024**2:g} MiB in all ({shown})")
    return found


def _text(path: str, data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    if path.endswith(".py"):
        return decode_source(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _skip_source(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return "__pycache__" in parts or relative.endswith((".pyc", ".pyo"))


# --- copies -------------------------------------------------------------------------------------

@dataclass
class _Lines:
    """A file's compared lines: (line number, normalised text), in order."""

    numbers: list[int]
    texts: list[str]
    raw: list[str]  # every line of the file as written


def _split_lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _comment_columns(text: str) -> tuple[dict[int, int], int]:
    """Where each Python comment starts (line -> column), and the last line tokenised."""
    cuts: dict[int, int] = {}
    last = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            last = tok.end[0]
            if tok.type == token.COMMENT:
                cuts[tok.start[0]] = tok.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass
    return cuts, last


def _normalised(line: str) -> str:
    return " ".join(line.split())


def _compared_lines(file: File, ignored: frozenset[str]) -> _Lines:
    assert file.text is not None
    raw = _split_lines(file.text)
    cuts, tokenised = _comment_columns(file.text) if file.is_python else ({}, 0)
    numbers, texts = [], []
    for number, line in enumerate(raw, 1):
        if number in cuts:
            line = line[:cuts[number]]
        text = _normalised(line)
        if number > tokenised and text.startswith("#"):
            continue  # not Python, or past where tokenize stopped
        if _significant(text) and text not in ignored:
            numbers.append(number)
            texts.append(text)
    return _Lines(numbers, texts, raw)


def _significant(text: str) -> bool:
    return (len(text) >= MIN_LINE_CHARS and any(c.isalnum() for c in text)
            and not _IMPORT_LINE.match(text))


def _shingles(text: str, budget: int) -> tuple[dict[bytes, int], int]:
    """A Python file's shingle hashes, each with the line where it first starts; and the number
    of tokens read (``grader.signals.similarity``'s normalisation)."""
    tokens = _normalised_tokens(text, budget)
    found: dict[bytes, int] = {}
    for start in range(len(tokens) - SHINGLE_TOKENS + 1):
        window = tokens[start:start + SHINGLE_TOKENS]
        digest = hashlib.blake2b("\x1f".join(t for t, _ in window).encode(),
                                 digest_size=8).digest()
        found.setdefault(digest, window[0][1])
    return found, len(tokens)


@dataclass
class _Prepared:
    file: File
    lines: _Lines
    shingles: dict[bytes, int]


def _prepare(files: Iterable[File], ignored_lines: frozenset[str], ignored_shingles: set[bytes],
             token_budget: int | None) -> tuple[list[_Prepared], bool]:
    """Text files' compared lines and (Python files) shingles; True when the budget ran out."""
    prepared = []
    budget = token_budget if token_budget is not None else sys.maxsize
    exhausted = False
    for file in files:
        if file.text is None:
            continue
        shingles: dict[bytes, int] = {}
        if file.is_python and budget > 0:
            shingles, used = _shingles(file.text, budget)
            budget -= used
            exhausted = exhausted or budget <= 0
            for digest in ignored_shingles & shingles.keys():
                del shingles[digest]
        prepared.append(_Prepared(file, _compared_lines(file, ignored_lines), shingles))
    return prepared, exhausted


def _starter_sets(files: Iterable[File]) -> tuple[frozenset[str], set[bytes]]:
    lines: set[str] = set()
    shingles: set[bytes] = set()
    for file in files:
        if file.text is None:
            continue
        lines.update(_compared_lines(file, frozenset()).texts)
        if file.is_python:
            shingles.update(_shingles(file.text, sys.maxsize)[0])
    return frozenset(lines), shingles


def find_copies(submission: Sequence[File], sources: Sequence[File],
                starter: Sequence[File] = (), *, token_budget: int = MAX_TOKENS
                ) -> tuple[list[CopyFinding], list[str]]:
    """Each (submission file, source file) pair that matches, most similar first; and notes.

    ``sources`` are named by their path under the assignment folder (``hidden/...`` or
    ``reference/...``); ``starter`` is the starter bundle, whose lines and shingles are set aside.
    """
    ignored_lines, ignored_shingles = _starter_sets(starter)
    prepared_sources, _ = _prepare(sources, ignored_lines, ignored_shingles, None)
    prepared_files, exhausted = _prepare(submission, ignored_lines, ignored_shingles,
                                         token_budget)
    notes = ([f"only the first {token_budget:,} Python tokens of the submission were compared "
              "by shingles (lines were compared in full)"] if exhausted else [])
    by_line: dict[str, set[int]] = defaultdict(set)
    by_shingle: dict[bytes, set[int]] = defaultdict(set)
    for index, source in enumerate(prepared_sources):
        for text in source.lines.texts:
            by_line[text].add(index)
        for digest in source.shingles:
            by_shingle[digest].add(index)
    findings = []
    for mine in prepared_files:
        line_hits: dict[int, int] = defaultdict(int)
        for text in set(mine.lines.texts):
            for index in by_line.get(text, ()):
                line_hits[index] += 1
        shingle_hits: dict[int, int] = defaultdict(int)
        for digest in mine.shingles:
            for index in by_shingle.get(digest, ()):
                shingle_hits[index] += 1
        for index in sorted(set(line_hits) | set(shingle_hits)):
            if line_hits.get(index, 0) < MIN_RUN_LINES and \
                    shingle_hits.get(index, 0) < MIN_SHARED_SHINGLES:
                continue
            finding = _compare(mine, prepared_sources[index])
            if finding is not None:
                findings.append(finding)
    findings.sort(key=lambda f: (-f.similarity, -f.matched_lines, f.path, f.source))
    if len(findings) > MAX_COPY_FINDINGS:
        notes.append(f"{len(findings)} matching file pairs; the {MAX_COPY_FINDINGS} most similar "
                     "are listed")
    return findings[:MAX_COPY_FINDINGS], notes


def _compare(mine: _Prepared, source: _Prepared) -> CopyFinding | None:
    matcher = difflib.SequenceMatcher(None, mine.lines.texts, source.lines.texts, autojunk=False)
    runs = [block for block in matcher.get_matching_blocks() if block.size >= MIN_RUN_LINES
            and sum(map(len, mine.lines.texts[block.a:block.a + block.size])) >= MIN_RUN_CHARS]
    matched = sum(block.size for block in runs)
    compared = len(source.lines.texts)
    line_share = round(matched / compared, 3) if compared else 0.0
    token_share: float | None = None
    shared: set[bytes] = set()
    token_match = False
    if source.file.is_python and mine.file.is_python and len(source.shingles) >= \
            MIN_SOURCE_SHINGLES:
        shared = mine.shingles.keys() & source.shingles.keys()
        token_share = round(len(shared) / len(source.shingles), 3)
        own_share = len(shared) / len(mine.shingles) if mine.shingles else 0.0
        token_match = len(shared) >= MANY_SHARED_SHINGLES or (
            len(shared) >= MIN_SHARED_SHINGLES
            and max(token_share, own_share) >= MIN_TOKEN_SHARE)
    if not runs and not token_match:
        return None
    evidence: list[MatchedLine] = []
    spans = []
    for block in runs:
        a = [mine.lines.numbers[block.a + k] for k in range(block.size)]
        b = [source.lines.numbers[block.b + k] for k in range(block.size)]
        spans.append((a[0], a[-1], b[0], b[-1]))
        evidence.extend(_evidence(mine.lines.raw, line, other)
                        for line, other in zip(a, b, strict=True))
    if not runs:  # a match by tokens only (renamed, reformatted): where the shared shingles start
        pairs = sorted({(mine.shingles[d], source.shingles[d]) for d in shared})
        seen: set[int] = set()
        for line, other in pairs:
            if line not in seen:
                seen.add(line)
                evidence.append(_evidence(mine.lines.raw, line, other))
        spans = _spans(pairs)
    folder = PurePosixPath(source.file.path).parts[0]
    return CopyFinding(
        path=mine.file.path, source=source.file.path,
        folder="hidden" if folder == "hidden" else "reference",
        similarity=max(line_share, token_share or 0.0), line_share=line_share,
        token_share=token_share, matched_lines=matched,
        longest_run=max((block.size for block in runs), default=0),
        runs=spans[:MAX_RUNS], lines=evidence[:MAX_EVIDENCE_LINES])


def _evidence(raw: list[str], line: int, source_line: int) -> MatchedLine:
    text = raw[line - 1].strip() if 0 < line <= len(raw) else ""
    return MatchedLine(submission_line=line, source_line=source_line,
                       text=clip(text, MAX_LINE_CHARS))


def _spans(pairs: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Consecutive (submission line, source line) pairs grouped into ranges."""
    spans: list[list[int]] = []
    for line, other in pairs:
        if spans and line - spans[-1][1] <= 2 and 0 <= other - spans[-1][3] <= 2:
            spans[-1][1], spans[-1][3] = line, other
        else:
            spans.append([line, line, other, other])
    return [(a, b, c, d) for a, b, c, d in spans]


# --- hidden module names ------------------------------------------------------------------------

def hidden_module_names(hidden: Iterable[str]) -> dict[str, str]:
    """Module name -> the hidden file (``hidden/...``) for the hidden folder's Python files,
    test modules, ``__init__`` and standard-library names aside."""
    names: dict[str, str] = {}
    for path in sorted(hidden):
        parts = PurePosixPath(path).parts
        if not path.endswith(".py") or is_test_path(PurePosixPath(*parts[1:]).as_posix()):
            continue
        name = parts[-1].removesuffix(".py")
        if name.isidentifier() and name != "__init__" and name not in sys.stdlib_module_names:
            names.setdefault(name, path)
    return names


def find_hidden_imports(submission: Sequence[File], names: Mapping[str, str],
                        copies: Sequence[CopyFinding] = ()) -> list[ImportFinding]:
    """Imports of (and strings naming) hidden modules in the submission's Python files."""
    if not names:
        return []
    own = {PurePosixPath(f.path).name.removesuffix(".py"): f.path
           for f in submission if f.is_python}
    copied = {c.path: c.source for c in copies if c.folder == "hidden"}
    findings = []
    for file in submission:
        if not file.is_python or file.text is None or not any(n in file.text for n in names):
            continue
        try:
            module = ast.parse(file.text, filename=file.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        raw = _split_lines(file.text)
        for name, line, how in _module_mentions(module, names):
            mine = own.get(name)
            if mine is not None and mine not in copied:
                continue  # the submission's own module of that name, not a copy
            findings.append(ImportFinding(
                path=file.path, line=line, module=name, source=names[name], how=how,
                text=clip(raw[line - 1].strip() if 0 < line <= len(raw) else "", MAX_LINE_CHARS),
                shipped_copy=mine))
    return findings


def _module_mentions(module: ast.Module, names: Mapping[str, str]
                     ) -> list[tuple[str, int, Literal["import", "path"]]]:
    found: set[tuple[str, int, Literal["import", "path"]]] = set()
    for name, line, _guarded in absolute_imports(module):
        if name in names:
            found.add((name, line, "import"))
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            candidates = [node.module.split(".")[0]] if node.module else [
                alias.name for alias in node.names]
            found.update((n, node.lineno, "import") for n in candidates if n in names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value.endswith(".py") and len(node.value) < 1000:
            stem = PurePosixPath(node.value.replace("\\", "/")).name.removesuffix(".py")
            if stem in names:
                found.add((stem, node.lineno, "path"))
    return sorted(found, key=lambda item: (item[1], item[0]))


# --- hidden items -------------------------------------------------------------------------------

def item_texts(items: Iterable[Any]) -> list[str]:
    """The strings of hidden items (JSON rows) long enough to be looked for, without repeats."""
    found: dict[str, None] = {}
    stack = list(items)[::-1]
    while stack and len(found) < MAX_ITEM_TEXTS:
        value = stack.pop()
        if isinstance(value, str):
            if len(value) >= MIN_ITEM_CHARS and len(_words(value)) >= MIN_ITEM_WORDS:
                found.setdefault(value, None)
        elif isinstance(value, Mapping):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list | tuple):
            stack.extend(reversed(value))
    return list(found)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _unescaped(text: str) -> str:
    """JSON and Python escapes read as what they stand for (``\\n`` a space, ``\\u00e9`` é)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else " ", text)


class _ItemIndex:
    """Hidden item texts by their second to fourth words, found in one pass over a file.

    The first and last words need only end and start the text's words: in a binary file (a
    pickle) a string's length byte may read as a letter or digit glued to its first word.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: list[list[str]] = []
        self.texts: list[str] = []
        self.keys: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for text in texts:
            words = _words(text)
            if len(words) >= MIN_ITEM_WORDS:
                self.keys[tuple(words[1:MIN_ITEM_WORDS])].append(len(self.texts))
                self.words.append(words)
                self.texts.append(text)

    def find(self, text: str) -> dict[int, int]:
        """Item index -> the character offset where it first occurs in ``text``."""
        if not self.keys:
            return {}
        lowered = _unescaped(text).lower()
        words = _WORD.findall(lowered)
        firsts = {key[0] for key in self.keys}
        key = MIN_ITEM_WORDS - 1
        at_word: dict[int, int] = {}
        for at in range(1, len(words) - key + 1):
            if words[at] not in firsts:
                continue
            for item in self.keys.get(tuple(words[at:at + key]), ()):
                wanted = self.words[item]
                start, end = at - 1, at - 1 + len(wanted)
                if item in at_word or end > len(words):
                    continue
                if words[start].endswith(wanted[0]) and words[end - 1].startswith(
                        wanted[-1]) and words[start + 1:end - 1] == wanted[1:-1]:
                    at_word[item] = start
        if not at_word:
            return {}
        wanted_starts = set(at_word.values())
        offsets = {index: match.end() for index, match in enumerate(_WORD.finditer(lowered))
                   if index in wanted_starts}
        return {item: offsets[start] - len(self.words[item][0])
                for item, start in at_word.items()}


def find_hidden_items(submission: Sequence[File], texts: Sequence[str],
                      public: Sequence[File] = ()) -> tuple[list[ItemFinding], int]:
    """Files holding hidden item texts word for word, once ``MIN_ITEMS_FOUND`` distinct items are
    found in all; and how many texts were looked for (those not also in ``public`` files)."""
    index = _ItemIndex(texts)
    public_hits: set[int] = set()
    for file in public:
        public_hits.update(index.find(_decoded(file)))
    searched = _ItemIndex(t for i, t in enumerate(index.texts) if i not in public_hits)
    per_file: list[tuple[File, str, dict[int, int]]] = []
    distinct: set[int] = set()
    for file in submission:
        content = _decoded(file)
        hits = searched.find(content)
        if hits:
            per_file.append((file, content, hits))
            distinct.update(hits)
    if len(distinct) < MIN_ITEMS_FOUND:
        return [], len(searched.texts)
    findings = []
    for file, content, hits in per_file:
        examples = []
        for item, offset in sorted(hits.items(), key=lambda kv: kv[1])[:MAX_ITEM_EXAMPLES]:
            line = _unescaped(content)[:offset].count("\n") + 1 if file.text is not None else None
            examples.append(ItemExample(line=line, text=clip(searched.texts[item], 300)))
        findings.append(ItemFinding(path=file.path, items=len(hits), examples=examples))
    findings.sort(key=lambda f: (-f.items, f.path))
    return findings, len(searched.texts)


def _decoded(file: File) -> str:
    return file.text if file.text is not None else file.data.decode("utf-8", errors="replace")


# --- metrics ------------------------------------------------------------------------------------

def find_implausible_metrics(assignment: Assignment, values: Mapping[str, float | None],
                             anchors: AnchorValues | None = None) -> list[MetricFinding]:
    """Scored quality metrics that are perfect, or beyond the reference by more than a margin.

    ``anchors`` are the baselines' values the score was placed between (``grader.scoring``;
    default: those ``assignment.yaml`` records).
    """
    recorded = recorded_anchors(assignment) if anchors is None else anchors
    findings = []
    for component in assignment.rubric:
        key = component.metric
        if key is None or component.scale is None or key.endswith(SUPPORTING_SUFFIXES):
            continue
        value = values.get(key)
        if value is None or not math.isfinite(value):
            continue
        higher = assignment.metric(key).higher_is_better
        scale = sorted(component.scale.anchors, key=lambda a: a.points)
        placed = [(a.baseline, recorded.get(a.baseline, {}).get(key)) for a in scale]
        if any(v is None for _, v in placed):
            continue  # not placed on its scale either (scoring says so)
        reference, reference_value = placed[-1]
        assert reference_value is not None
        below = placed[-2][1] if len(placed) > 1 else None
        share = all(0.0 <= v <= 1.0 for _, v in placed if v is not None)
        best = (1.0 if higher else 0.0) if share or (not higher and all(
            v >= 0 for _, v in placed if v is not None)) else None
        name = key.partition(".")[2]
        if best is not None and math.isclose(value, best, abs_tol=1e-9) and \
                not math.isclose(reference_value, best, abs_tol=1e-9):
            findings.append(MetricFinding(
                metric=key, kind="perfect", value=value, reference=reference,
                reference_value=reference_value, margin=None,
                message=f"{name} is perfect ({value:.3f}); the reference reaches "
                        f"{reference_value:.3f}"))
            continue
        if share:
            margin = SHARE_MARGIN
        elif below is not None and below != reference_value:
            margin = abs(reference_value - below) / 2
        else:
            continue
        beyond = value - reference_value if higher else reference_value - value
        if beyond > margin + 1e-12:
            findings.append(MetricFinding(
                metric=key, kind="beyond_reference", value=value, reference=reference,
                reference_value=reference_value, margin=round(margin, 6),
                message=f"{name} {value:.3f} is {beyond:.3f} {'above' if higher else 'below'} "
                        f"the reference's {reference_value:.3f} (implausible beyond "
                        f"{margin:.3f})"))
    return findings


# --- the section --------------------------------------------------------------------------------

def check_integrity(*, submission_dir: Path, assignment: Assignment, folder: Path,
                    metrics: Mapping[str, float | None],
                    hidden_items: Callable[[], Iterable[Any]] | None = None,
                    public_data: Path | None = None,
                    anchors: AnchorValues | None = None) -> Integrity:
    """The integrity section of a graded report. Never raises: a failure is recorded in it.

    ``folder`` is the assignment's folder (its ``hidden/``, ``reference/`` and starter bundle);
    ``hidden_items`` returns the hidden split as JSON rows (the instance generator's
    ``hidden_items(seeds)``), or is None when the assignment has none; ``public_data`` is the
    instance's public data, whose texts are not looked for; ``anchors`` the baselines' values
    the score was placed between (default: those ``assignment.yaml`` records).
    """
    try:
        return _check(submission_dir=submission_dir, assignment=assignment, folder=folder,
                      metrics=metrics, hidden_items=hidden_items, public_data=public_data,
                      anchors=anchors)
    except Exception as exc:  # the grader's own failure: recorded, never the candidate's zero
        log.exception("the integrity check of a %s submission failed", assignment.id)
        return integrity_not_checked(f"{type(exc).__name__}: {exc}")


def integrity_not_checked(reason: str) -> Integrity:
    """The section when the check itself failed (the grader's problem)."""
    return Integrity(checked=False, flagged=False,
                     message=clip(f"The integrity check could not run: {reason}", 1000))


def _check(*, submission_dir: Path, assignment: Assignment, folder: Path,
           metrics: Mapping[str, float | None],
           hidden_items: Callable[[], Iterable[Any]] | None, public_data: Path | None,
           anchors: AnchorValues | None) -> Integrity:
    submitted = read_tree(submission_dir)
    notes = list(submitted.notes)
    sources: list[File] = []
    for name in SOURCE_FOLDERS:
        read = read_tree(folder / name, skip=_skip_source)
        sources.extend(File(f"{name}/{f.path}", f.data, f.text) for f in read.files)
        notes.extend(f"{name}/: {note}" for note in read.notes)
    # The starter's code is set aside (reference solutions start from it); its data is not code.
    starter = read_tree(folder / assignment.candidate.bundle, max_file=STARTER_FILE_BYTES).files
    copies, copy_notes = find_copies(submitted.files, sources, starter)
    notes.extend(copy_notes)
    names = hidden_module_names(f.path for f in sources if f.path.startswith("hidden/"))
    imports = find_hidden_imports(submitted.files, names, copies)
    items: list[ItemFinding] = []
    searched: int | None = None
    if hidden_items is not None:
        try:
            texts = item_texts(hidden_items())
        except Exception as exc:  # the assignment's generator failed: its author's problem
            log.exception("hidden_items() of %s failed", assignment.id)
            notes.append(f"hidden items could not be made, so none were looked for: "
                         f"{type(exc).__name__}: {clip(str(exc), 300)}")
        else:
            public = list(starter)
            if public_data is None and assignment.candidate.public_data is not None:
                public_data = folder / assignment.candidate.public_data
            if texts and public_data is not None:
                public.extend(read_tree(public_data, max_file=PUBLIC_FILE_BYTES,
                                        max_total=PUBLIC_FILE_BYTES).files)
            items, searched = find_hidden_items(submitted.files, texts, public)
    section = Integrity(
        checked=True, flagged=False, message="", copies=copies, imports=imports,
        hidden_items=items, hidden_items_searched=searched,
        files_compared=sum(f.text is not None for f in submitted.files),
        sources_compared=sum(f.text is not None for f in sources), notes=notes)
    return with_metrics(section, assignment, metrics, anchors)


def with_metrics(section: Integrity, assignment: Assignment, metrics: Mapping[str, float | None],
                 anchors: AnchorValues | None = None) -> Integrity:
    """The section with its metric findings made (again) on these anchors: for a report
    re-scored once its instance's anchors are measured. A section not checked stays as it is."""
    if not section.checked:
        return section
    placed = section.model_copy(update={
        "metrics": find_implausible_metrics(assignment, metrics, anchors)})
    return placed.model_copy(update={"flagged": placed.findings > 0,
                                     "message": _message(placed)})


def _message(section: Integrity) -> str:
    parts = []
    if section.copies:
        top = section.copies[0]
        parts.append(f"{len(section.copies)} file(s) matching hidden/ or reference/ content "
                     f"(most: {top.path} ~ {top.source}, {top.similarity:.0%})")
    if section.imports:
        modules = sorted({f.module for f in section.imports})
        parts.append(f"hidden module name(s) used: {', '.join(modules)}")
    if section.hidden_items:
        parts.append(f"{sum(f.items for f in section.hidden_items)} hidden item(s) held word "
                     f"for word in {len(section.hidden_items)} file(s)")
    if section.metrics:
        parts.append("; ".join(f.message for f in section.metrics))
    if not parts:
        return (f"Nothing found: {section.files_compared} submitted file(s) compared with "
                f"{section.sources_compared} hidden and reference file(s).")
    return "Evidence to read, not a verdict: " + "; ".join(parts) + "."
