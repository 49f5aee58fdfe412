"""The submission's README: present or not, its length and headings, and three plain questions.

Does it say how to run the code, what was tried, and what the results were? Each answer is a simple
keyword or heading match, shown with the line that matched, so a reviewer can see why; it is
evidence, not a grade. Lines copied from the starter bundle's README are not counted as evidence
(the starter already says how to run its checker), and an untouched starter README is flagged.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from grader.signals._common import MAX_TEXT_BYTES, SignalModel, clip, read_regular_file

__all__ = ["Documentation", "Evidence", "documentation", "find_readme"]

README_NAMES = ("readme.md", "readme.markdown", "readme.rst", "readme.txt", "readme")
MAX_HEADINGS = 40

_HOW_TO_RUN = re.compile(
    r"\b(usage|how to (run|use|reproduce)|running|run (it|this|the \w+|locally)|getting started|"
    r"quick ?start|set-?up|installation|install(ing)?|reproduc\w+|instructions)\b", re.IGNORECASE)
_COMMAND = re.compile(
    r"(^|[\s`$>])(python3?\s+(-m\s+)?[\w./-]+|pip3?\s+install|pytest\b|make\s+\w+|"
    r"uv\s+(run|sync|pip)|poetry\s+(run|install)|conda\s+(env|create|install)|"
    r"docker\s+(run|build|compose)|bash\s+\S+\.sh|\./\S+\.sh)")
_TRIED = re.compile(
    r"\b(approach(es)?|method(s|ology)?|tried|experiment(s|ed|ation)?|alternatives?|"
    r"trade-?offs?|design|decisions?|iterations?|ablations?|considered|attempt(s|ed)?|"
    r"compared|comparison)\b", re.IGNORECASE)
_RESULTS_HEADING = re.compile(
    r"\b(results?|evaluation|metrics?|performance|benchmarks?|scores?|findings)\b", re.IGNORECASE)
_METRIC_WITH_NUMBER = re.compile(
    r"\b(accuracy|acc|f1|precision|recall|auc|roc|ndcg|mrr|map|rmse|mae|mse|loss|bleu|rouge|"
    r"score|latency|hit rate|recall@\d+)\b.*\d", re.IGNORECASE)
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^\s*([=\-~^*+#\"'])\1{2,}\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class Evidence(SignalModel):
    found: bool
    via: str = Field("", description="heading, command or keyword")
    line: int | None = None
    text: str = Field("", description="the README line that matched")


class Documentation(SignalModel):
    readme: str | None = Field(description="its path in the submission, if there is one")
    words: int
    lines: int
    headings: list[str]
    unchanged_from_starter: bool = Field(description="the starter bundle's README, untouched")
    how_to_run: Evidence
    what_was_tried: Evidence
    results: Evidence
    message: str


def find_readme(folder: Path) -> Path | None:
    try:
        names = {p.name.lower(): p for p in folder.iterdir() if not p.is_symlink()}
    except OSError:
        return None
    return next((names[n] for n in README_NAMES if n in names and names[n].is_file()), None)


def documentation(submission: Path, starter: Path | None = None) -> Documentation:
    readme = find_readme(submission)
    data = read_regular_file(readme, MAX_TEXT_BYTES) if readme is not None else None
    if readme is None or data is None:
        none = Evidence(found=False)
        return Documentation(readme=None, words=0, lines=0, headings=[],
                             unchanged_from_starter=False, how_to_run=none, what_was_tried=none,
                             results=none, message="No README in the submission's root folder.")
    text = data.decode("utf-8", errors="replace")
    starter_text = _starter_readme(starter)
    starter_lines = {line.strip() for line in (starter_text or "").splitlines() if line.strip()}
    unchanged = starter_text is not None and _normalise(text) == _normalise(starter_text)
    lines = text.splitlines()
    headings = _headings(lines)
    own = [(number, headings.get(number, line), number in headings)
           for number, line in enumerate(lines, start=1) if line.strip() not in starter_lines]
    how = _first(own, _HOW_TO_RUN, heading_only=True) or _command(own)
    tried = _first(own, _TRIED, heading_only=True) or _first(own, _TRIED)
    results = (_first(own, _RESULTS_HEADING, heading_only=True)
               or _first(own, _METRIC_WITH_NUMBER, via="metric with a number"))
    none = Evidence(found=False)
    found = [name for name, ev in (("how to run", how), ("what was tried", tried),
                                   ("results", results)) if ev is not None]
    words = len(text.split())
    message = (f"{readme.name}: {words} words, {len(headings)} heading(s)"
               + (", unchanged from the starter bundle" if unchanged else "")
               + (f"; mentions {', '.join(found)}." if found
                  else "; says nothing recognisable about how to run, what was tried or results."))
    return Documentation(
        readme=readme.relative_to(submission).as_posix(), words=words, lines=len(lines),
        headings=[clip(h, 120) for h in headings.values()][:MAX_HEADINGS],
        unchanged_from_starter=unchanged, how_to_run=how or none,
        what_was_tried=tried or none, results=results or none, message=message)


def _starter_readme(starter: Path | None) -> str | None:
    if starter is None:
        return None
    readme = find_readme(starter)
    data = read_regular_file(readme, MAX_TEXT_BYTES) if readme is not None else None
    return data.decode("utf-8", errors="replace") if data is not None else None


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _headings(lines: list[str]) -> dict[int, str]:
    """Line number (1-based) of each heading's title -> its text; code fences are skipped."""
    headings: dict[int, str] = {}
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if match := _ATX.match(line):
            headings[index + 1] = match.group(2).strip()
            continue
        previous = lines[index - 1].strip() if index else ""
        if (_UNDERLINE.match(line) and previous and index not in headings
                and len(line.strip()) >= min(len(previous), 3)
                and not previous.startswith(("-", "*", "|", ">"))):
            headings[index] = previous
    return dict(sorted(headings.items()))


def _first(lines: list[tuple[int, str, bool]], pattern: re.Pattern[str], *,
           heading_only: bool = False, via: str = "keyword") -> Evidence | None:
    for number, line, heading in lines:
        if (heading or not heading_only) and pattern.search(line):
            return Evidence(found=True, via="heading" if heading else via, line=number,
                            text=clip(line.strip(), 200))
    return None


def _command(lines: list[tuple[int, str, bool]]) -> Evidence | None:
    for number, line, heading in lines:
        if not heading and _COMMAND.search(line):
            return Evidence(found=True, via="command", line=number, text=clip(line.strip(), 200))
    return None
