"""The agent names where the candidate's code failed: the frames of the submission's own files,
innermost last, never its own or a library's; and the trusted side keeps only well-formed ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import sandbox
from sandbox import CandidateError, Frame, Limits, SessionSpec
from sandbox._session import parse_frames

LIMITS = Limits(memory="256m", timeout=30)


def _submission(folder: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(source).lstrip())
    sandbox.make_readable(folder)
    return folder


@pytest.mark.docker
def test_an_exception_names_each_of_the_submissions_own_frames(runner_image: str,
                                                               tmp_path: Path) -> None:
    submission = _submission(tmp_path, {
        "solution.py": """
            import json
            from helpers.parse import rows

            def train(train_path):
                return rows(train_path)
        """,
        "helpers/__init__.py": "",
        "helpers/parse.py": """
            import json

            def rows(path):
                return [json.loads(line) for line in ["{not json"]]
        """})
    with sandbox.open_session(SessionSpec(image=runner_image, limits=LIMITS,
                                          submission=submission)
                              ) as session, pytest.raises(CandidateError) as caught:
        session.call("train", train_path="/nowhere")
    assert caught.value.type_name == "JSONDecodeError"
    # json's own frames (the library's) and the agent's are left out.
    assert caught.value.frames == (Frame("solution.py", 5, "train"),
                                   Frame("helpers/parse.py", 4, "rows"),
                                   Frame("helpers/parse.py", 4, "<listcomp>"))


@pytest.mark.docker
def test_a_syntax_error_names_its_own_line(runner_image: str, tmp_path: Path) -> None:
    submission = _submission(tmp_path, {"solution.py": "def train(:\n    pass\n"})
    with pytest.raises(CandidateError) as caught, sandbox.open_session(SessionSpec(
            image=runner_image, limits=LIMITS, submission=submission)):
        pass
    assert caught.value.type_name == "SyntaxError"
    assert caught.value.frames[-1] == Frame("solution.py", 1, "<module>")


def test_only_well_formed_frames_are_kept() -> None:
    assert parse_frames([{"file": "solution.py", "line": 3, "function": "train"},
                         {"file": "solution.py", "line": "3", "function": "train"},
                         {"file": "solution.py", "line": True, "function": "train"},
                         {"file": "solution.py", "line": 3, "function": "train", "x": 1},
                         "solution.py:3"]) == (Frame("solution.py", 3, "train"),)
    assert parse_frames({"file": "solution.py"}) == ()
    assert parse_frames(None) == ()
