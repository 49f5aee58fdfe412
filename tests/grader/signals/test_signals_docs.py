"""Documentation: README present, its length and headings, and evidence for how to run, what was
tried and results; lines copied from the starter's README are not evidence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grader.authoring import new_assignment
from grader.signals.docs import documentation

MakeSubmission = Callable[..., Path]  # the make_submission fixture

GOOD = """\
# Short or long, by Ada

## Approach
I started with a length threshold, then tried TF-IDF with logistic regression.

## Results
| model | accuracy |
| --- | --- |
| threshold | 0.81 |

## Running
```
pip install -r requirements.txt
```
"""


def test_a_readme_that_says_everything(make_submission: MakeSubmission) -> None:
    docs = documentation(make_submission({"README.md": GOOD}))
    assert docs.readme == "README.md"
    assert docs.headings == ["Short or long, by Ada", "Approach", "Results", "Running"]
    assert docs.words > 20 and docs.lines == 14
    assert (docs.how_to_run.via, docs.how_to_run.line, docs.how_to_run.text) == (
        "heading", 11, "Running")
    assert (docs.what_was_tried.via, docs.what_was_tried.line) == ("heading", 3)
    assert (docs.results.via, docs.results.line) == ("heading", 6)
    assert not docs.unchanged_from_starter
    assert "how to run, what was tried, results" in docs.message


def test_a_readme_without_run_instructions(make_submission: MakeSubmission) -> None:
    docs = documentation(make_submission({"readme.md": (
        "My solution\n===========\n\nI used a logistic regression and compared it with a "
        "threshold.\nIt reaches an accuracy of 0.9 on my split.\n")}))
    assert docs.readme == "readme.md"
    assert docs.headings == ["My solution"]  # a setext heading
    assert not docs.how_to_run.found
    assert docs.what_was_tried.found and docs.what_was_tried.via == "keyword"
    assert docs.results.found and docs.results.via == "metric with a number"
    assert "accuracy of 0.9" in docs.results.text


def test_a_run_command_counts_without_a_heading(make_submission: MakeSubmission) -> None:
    docs = documentation(make_submission({"README.md": "Notes.\n\n    python -m train --fast\n"}))
    assert (docs.how_to_run.found, docs.how_to_run.via, docs.how_to_run.line) == (
        True, "command", 3)


def test_headings_inside_code_fences_are_not_headings(make_submission: MakeSubmission) -> None:
    docs = documentation(make_submission({"README.md": "# Real\n```\n# Results\n```\n"}))
    assert docs.headings == ["Real"]
    assert not docs.results.found


def test_no_readme_is_said_plainly(make_submission: MakeSubmission) -> None:
    docs = documentation(make_submission({"solution.py": "x = 1\n"}))
    assert docs.readme is None and docs.words == 0
    assert not (docs.how_to_run.found or docs.what_was_tried.found or docs.results.found)
    assert docs.message == "No README in the submission's root folder."


def test_the_starters_readme_is_flagged_and_is_not_evidence(
        make_submission: MakeSubmission, tmp_path: Path) -> None:
    starter = new_assignment(tmp_path / "assignments", "starter") / "candidate"
    text = (starter / "README.md").read_text()
    assert "python check.py" in text  # the starter says how to run its checker

    untouched = documentation(make_submission({"README.md": text}), starter)
    assert untouched.unchanged_from_starter
    assert not untouched.how_to_run.found
    assert "unchanged from the starter bundle" in untouched.message

    extended = documentation(make_submission(
        {"README.md": text + "\n## Results\nAccuracy 0.97 on the public data.\n"}), starter)
    assert not extended.unchanged_from_starter
    assert not extended.how_to_run.found
    assert extended.results.found and extended.results.text == "Results"
