"""The `candidate` that hidden tests and harnesses hold: the submission's serve-phase entry points.

Every call crosses the agent channel, is timed on this side, and has its result checked against the
shape ``assignment.yaml`` declares, so a hidden test never compares against a value the candidate's
process built (a lying ``__eq__`` cannot survive JSON), and a wrong shape fails with a clear reason.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from sandbox import AgentError, AgentSession

__all__ = ["Candidate", "CandidateCallFailed", "InvalidResult", "result_schema"]

_TYPE_NAMES = {"string", "integer", "number", "boolean", "array", "object", "null"}


class CandidateCallFailed(AssertionError):
    """A call into the candidate's code raised, timed out, or its container ended.

    An AssertionError, so a hidden test that makes the call fails (rather than errors) with this
    message.
    """


class InvalidResult(AssertionError):
    """The candidate returned a value of the wrong type or shape."""


def _validator(shape: str | Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(result_schema(shape))


def result_schema(returns: str | Mapping[str, Any]) -> dict[str, Any]:
    """A declared result shape as JSON Schema: a bare type name or a schema fragment."""
    if isinstance(returns, str):
        if returns not in _TYPE_NAMES:
            raise ValueError(f"unknown result type {returns!r}")
        return {"type": returns}
    return dict(returns)


class Candidate:
    """Calls ``solution.<name>(...)`` in the serve container: ``candidate.search("q", k=10)``."""

    def __init__(self, session: AgentSession,
                 entry_points: Mapping[str, tuple[Mapping[str, Any], Any]]) -> None:
        """``entry_points`` maps each callable name to (its parameters in order, each with its
        declared type or schema, and its result shape)."""
        self._session = session
        self._entry_points = {
            name: ({param: _validator(shape) for param, shape in params.items()},
                   _validator(returns))
            for name, (params, returns) in entry_points.items()
        }
        self.timings: dict[str, list[float]] = defaultdict(list)

    def call(self, name: str, /, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        if name not in self._entry_points:
            raise AttributeError(f"{name!r} is not an entry point of this assignment")
        params, validator = self._entry_points[name]
        if len(args) > len(params):
            raise TypeError(f"{name}() takes {len(params)} arguments, got {len(args)}")
        arguments = dict(zip(params, args, strict=False))
        overlap = arguments.keys() & kwargs.keys()
        if overlap:
            raise TypeError(f"{name}() got multiple values for {sorted(overlap)}")
        arguments.update(kwargs)
        # Hidden code is the author's: an argument outside the declared params is their bug, so
        # it is a TypeError (a test error), never a failure charged to the candidate.
        for param, value in arguments.items():
            if param not in params:
                raise TypeError(f"{name}() declares no parameter {param!r} "
                                f"(declared: {', '.join(params) or 'none'})")
            problem = jsonschema.exceptions.best_match(params[param].iter_errors(value))
            if problem is not None:
                raise TypeError(f"argument {param!r} of {name}() does not match its declared "
                                f"type: {problem.message}")
        try:
            result = self._session.call(name, timeout=timeout, **arguments)
        except AgentError as exc:
            raise CandidateCallFailed(f"{name}() failed: {exc}") from exc
        finally:
            if self._session.last_call_seconds is not None:
                self.timings[name].append(self._session.last_call_seconds)
        errors = sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the result"
            raise InvalidResult(f"{name}() returned a wrong shape at {where}: {errors[0].message}")
        return result

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._entry_points:
            raise AttributeError(f"{name!r} is not an entry point of this assignment")
        return functools.partial(self.call, name)
