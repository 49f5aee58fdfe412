"""Recording the metric calls a harness makes, so the grader can say how sure each value is.

While ``recording()`` is active (``grader.hidden.run_harness`` holds it around a harness's
``evaluate()``), each call of a public metric function of this package is kept as a ``Call``: the
function, its arguments bound to their names (defaults applied), and its result. The grader then
finds, for each value the harness returns, the call that produced it and bootstraps it over the
items that call was given (``grader.intervals``).

- Only the outermost call is kept: a metric that calls another (``recall_at_k`` calls
  ``per_query``) is one call.
- Arguments are kept as given, except that lists, tuples and numpy arrays are copied (shallow), so a
  harness that reuses a buffer after the call does not change what was recorded. Mappings (qrels,
  runs, passages) are kept by reference: do not change them after the call.
- The active list lives in a ``ContextVar``: calls made in other threads are not recorded.
- Inactive, a recorded function costs one ``ContextVar.get`` more than the function itself.

The metric modules wrap their functions with ``recorded`` by assignment after the definitions, not
with decorator syntax: the mutation test's tool (mutmut) leaves decorated functions unmutated.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

__all__ = ["Call", "recorded", "recording"]

F = TypeVar("F", bound=Callable[..., Any])

_CALLS: ContextVar[list[Call] | None] = ContextVar("grader_metric_calls", default=None)


@dataclass(frozen=True)
class Call:
    """One recorded call of a public metric function."""

    function: Callable[..., Any]
    """The public (recorded) function, as a harness imports it."""
    arguments: Mapping[str, Any]
    """Every parameter by name, defaults applied; sequences copied at the time of the call."""
    result: Any


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def recorded(function: F) -> F:
    """``function``, recording each of its outermost calls while ``recording()`` is active."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls = _CALLS.get()
        if calls is None:
            return function(*args, **kwargs)
        token = _CALLS.set(None)  # metrics this one calls are part of this call
        try:
            result = function(*args, **kwargs)
        finally:
            _CALLS.reset(token)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        calls.append(Call(wrapper, {name: _snapshot(value)
                                    for name, value in bound.arguments.items()}, result))
        return result

    return wrapper  # type: ignore[return-value]


@contextmanager
def recording() -> Iterator[list[Call]]:
    """Record the metric calls made in this context; yields the list they are appended to."""
    calls: list[Call] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)
