"""The sandbox's exceptions form two disjoint trees: the grader's side and the candidate's."""

from __future__ import annotations

import inspect

import sandbox
from sandbox import AgentError, SandboxError


def test_the_candidates_errors_are_never_the_graders() -> None:
    exported = [value for name in sandbox.__all__
                if inspect.isclass(value := getattr(sandbox, name))
                and issubclass(value, Exception)]
    graders = {e.__name__ for e in exported if issubclass(e, SandboxError)}
    candidates = {e.__name__ for e in exported if issubclass(e, AgentError)}
    assert graders == {"SandboxError", "EngineUnavailable", "EngineFailed", "ImageError"}
    assert candidates == {"AgentError", "CallTimeout", "CandidateError", "SessionClosed"}
    # So no order of except clauses can take one for the other.
    assert not graders & candidates
