"""Latency figures from the call timings the grader measured on its side of the boundary."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["percentile_ms"]


def percentile_ms(seconds: Sequence[float], percentile: float) -> float:
    """The given percentile of call durations, in milliseconds (linear interpolation)."""
    if len(seconds) == 0:
        raise ValueError("no calls were timed")
    return float(np.percentile(seconds, percentile) * 1000.0)
