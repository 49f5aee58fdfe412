"""What hidden code gets: the context's seeds and modules, and a candidate that checks arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.candidate import Candidate, InvalidResult
from grader.hidden import HarnessError, HiddenContext, run_suite


def context_with(folder: Path, source: str, seeds: dict[str, int] | None = None) -> HiddenContext:
    folder.mkdir(parents=True)
    (folder / "generate.py").write_text(source)
    return HiddenContext(hidden_dir=folder, seeds=seeds or {})


def test_two_assignments_generators_never_collide(tmp_path: Path) -> None:
    first = context_with(tmp_path / "a" / "hidden", "VALUE = 'a'\n")
    second = context_with(tmp_path / "b" / "hidden", "VALUE = 'b'\n")
    assert first.load_module("generate").VALUE == "a"
    assert second.load_module("generate").VALUE == "b"
    assert first.load_module("generate") is first.load_module("generate")


def test_a_missing_or_broken_module_is_reported(tmp_path: Path) -> None:
    context = context_with(tmp_path / "hidden", "raise RuntimeError('broken generator')\n")
    with pytest.raises(RuntimeError, match="broken generator"):
        context.load_module("generate")
    with pytest.raises((HarnessError, FileNotFoundError)):
        context.load_module("absent")


def test_seed_names_a_seed_in_force(tmp_path: Path) -> None:
    context = context_with(tmp_path / "hidden", "", seeds={"hidden": 7})
    assert context.seed("hidden") == 7
    with pytest.raises(KeyError):
        context.seed("other")


class RecordingSession:
    """Stands in for the sandbox's session: answers with a canned value, records each call."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.calls.append((method, params))
        self.last_call_seconds = 0.01
        return self.answer


ENTRY_POINTS = {"search": ({"query": {"type": "string"}, "k": {"type": "integer"}},
                           {"type": "array", "items": {"type": "string"}})}


def test_positional_and_keyword_arguments_map_onto_declared_params() -> None:
    session = RecordingSession(["p1", "p2"])
    candidate = Candidate(session, ENTRY_POINTS)  # type: ignore[arg-type]
    assert candidate.search("refunds", k=2) == ["p1", "p2"]
    assert session.calls == [("search", {"query": "refunds", "k": 2})]
    assert candidate.timings["search"] == [0.01]


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("refunds",), {"k": "ten"}, "argument 'k' of search"),
    ((), {"query": "q", "limit": 3}, "declares no parameter 'limit'"),
    (("q", 1, 2), {}, "takes 2 arguments"),
    (("q",), {"query": "again"}, "multiple values"),
])
def test_arguments_outside_the_declaration_are_the_authors_error(
        args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    session = RecordingSession([])
    with pytest.raises(TypeError, match=message):
        Candidate(session, ENTRY_POINTS).call("search", *args, **kwargs)  # type: ignore[arg-type]
    assert session.calls == []


def test_a_result_of_the_wrong_shape_fails_the_call_with_where() -> None:
    candidate = Candidate(RecordingSession(["ok", 3]), ENTRY_POINTS)  # type: ignore[arg-type]
    with pytest.raises(InvalidResult, match="wrong shape at 1"):
        candidate.search("q", 2)


def test_suites_with_the_same_file_names_never_share_a_module(tmp_path: Path) -> None:
    for name, body in (("a", "def test_x():\n    assert True\n"),
                       ("b", "def test_x():\n    assert False\n")):
        folder = tmp_path / name / "tests"
        folder.mkdir(parents=True)
        (folder / "test_behaviour.py").write_text(body)
    context = HiddenContext(hidden_dir=tmp_path, seeds={})
    candidate = Candidate(RecordingSession(None), {})  # type: ignore[arg-type]
    first = run_suite("s", tmp_path / "a" / "tests", candidate=candidate, context=context)
    second = run_suite("s", tmp_path / "b" / "tests", candidate=candidate, context=context)
    assert [t.outcome for t in first] == ["passed"]
    assert [t.outcome for t in second] == ["failed"]
