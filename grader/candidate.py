"""The `candidate` that hidden tests and harnesses hold: the submission's serve-phase entry points.

Every call crosses the agent channel, is timed on this side, and has its result checked against the
shape ``assignment.yaml`` declares, so a hidden test never compares against a value the candidate's
process built (a lying ``__eq__`` cannot survive JSON), and a wrong shape fails with a clear reason.

Whose fault an exception is (``blames_candidate``). Trusted code (hidden tests, harnesses, the
grader) meets two kinds of exceptions, and only one is the candidate's graded outcome:

- the candidate's: their code raised, timed out, broke the protocol, or their container ended (a
  ``sandbox.AgentError``, which ``Candidate`` raises as ``CandidateCallFailed``); their answer has
  the wrong shape (``InvalidResult``); or hidden code asserted something about their answers (an
  ``AssertionError``: ``assert``, ``pytest.fail`` in a test, ``numpy.testing``...).
- everything else: a hidden test's or harness's own bug (a ``KeyError``, a ``TypeError``, a wrong
  argument to an entry point), an error in a fixture or at collection, an assertion inside the
  grader's own packages, the engine losing a container (``sandbox.SandboxError``). The pipeline
  raises these as ``InfrastructureError``: retried, then shown to operators, never a zero.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

import sandbox
from grader.spec import JSON_TYPES
from sandbox import AgentError, AgentSession

__all__ = ["Candidate", "CandidateCallFailed", "CandidateFailure", "InvalidResult",
           "blames_candidate", "result_schema"]

class CandidateFailure(AssertionError):
    """The candidate's failure as the grader saw it, wherever in hidden code it surfaces (a test,
    a fixture, a harness). An AssertionError, so a hidden test that meets it fails (rather than
    errors) with its message."""


class CandidateCallFailed(CandidateFailure):
    """A call into the candidate's code raised, timed out, or its container ended."""


class InvalidResult(CandidateFailure):
    """The candidate returned a value of the wrong type or shape."""


# Code whose own assertions are the grader's invariants, never verdicts on a candidate (the
# assignment templates excepted: their hidden code is an author's).
_GRADER = Path(__file__).resolve().parent
_OWN_CODE = (_GRADER, Path(sandbox.__file__).resolve().parent)


def _raised_in_grader(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    where = Path(tb.tb_frame.f_code.co_filename).resolve()
    return (any(where.is_relative_to(folder) for folder in _OWN_CODE)
            and not where.is_relative_to(_GRADER / "templates"))


def blames_candidate(exc: BaseException) -> bool:
    """Whether an exception that reached trusted code is the candidate's outcome (see the module
    docstring): their failure, or an assertion about their answers made outside the grader's own
    packages."""
    if isinstance(exc, (CandidateFailure, AgentError)):
        return True
    return isinstance(exc, AssertionError) and not _raised_in_grader(exc)


def _not_a_double(result: Any) -> str | None:
    """Where the result holds a number no float can carry, or None.

    JSON numbers are read as IEEE doubles (RFC 8259, section 6). A whole number past the double
    range (``10**400``, which ``json.dumps`` writes out digit by digit) or a literal that reads
    as infinity (``1e400``) passes a ``number`` schema, then makes trusted code raise
    ``OverflowError`` (``math.isfinite``, ``numpy.array(..., dtype=float)``), which would blame
    the grader for the candidate's answer. Walked with a stack: nesting is the candidate's.
    """
    pending: list[tuple[str, Any]] = [("", result)]
    while pending:
        where, value = pending.pop()
        # Pushed last first, so the first such number is the one named.
        if isinstance(value, dict):
            pending.extend(reversed([(f"{where}/{key}", item) for key, item in value.items()]))
        elif isinstance(value, list):
            pending.extend(reversed([(f"{where}/{index}", item)
                                     for index, item in enumerate(value)]))
        elif isinstance(value, float) and not math.isfinite(value):
            return where.lstrip("/") or "the result"
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                float(value)
            except OverflowError:
                return where.lstrip("/") or "the result"
    return None


def _validator(shape: str | Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(result_schema(shape))


def result_schema(returns: str | Mapping[str, Any]) -> dict[str, Any]:
    """A declared result shape as JSON Schema: a bare type name or a schema fragment."""
    if isinstance(returns, str):
        if returns not in JSON_TYPES:
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
            # Only the candidate's side: the engine's (sandbox.SandboxError) passes through.
            raise CandidateCallFailed(f"{name}() failed: {exc}") from exc
        finally:
            if self._session.last_call_seconds is not None:
                self.timings[name].append(self._session.last_call_seconds)
        errors = sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the result"
            raise InvalidResult(f"{name}() returned a wrong shape at {where}: {errors[0].message}")
        if (at := _not_a_double(result)) is not None:
            raise InvalidResult(f"{name}() returned a number at {at} that no float can hold "
                                "(infinite, or past 1.8e308): return finite floats")
        return result

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._entry_points:
            raise AttributeError(f"{name!r} is not an entry point of this assignment")
        return functools.partial(self.call, name)
