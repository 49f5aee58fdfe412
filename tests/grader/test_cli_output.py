"""The CLI's messages are text, not markup: an assignment's sentence, a path or an error with
brackets is printed as it is (rich markup in one raised MarkupError before the report was written).
"""

from __future__ import annotations

import pytest

from grader.cli._output import info


def test_info_prints_brackets_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    info("readable from public code: see [/dim] and [red]x[/red] in hidden/[content]")
    printed = capsys.readouterr().err
    assert "see [/dim] and [red]x[/red] in hidden/[content]" in printed
