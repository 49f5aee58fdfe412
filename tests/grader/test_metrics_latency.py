"""grader.metrics.latency: percentiles by linear interpolation between the closest ranks, checked by
hand and against the written-out definition (Hyndman and Fan's type 7) on seeded random timings."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest

from grader.metrics import latency
from grader.metrics.latency import percentile_ms


def raises(message: str):
    """pytest.raises for a ValueError saying exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def _type7(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * percentile / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def test_public_names() -> None:
    assert latency.__all__ == ["percentile_ms"]


def test_by_hand() -> None:
    seconds = [0.004, 0.001, 0.003, 0.002]
    assert percentile_ms(seconds, 50) == pytest.approx(2.5)   # halfway between 2 and 3 ms
    assert percentile_ms(seconds, 95) == pytest.approx(3.85)  # not 4 ("higher"), not 3 ("lower")
    assert percentile_ms(seconds, 0) == pytest.approx(1.0)
    assert percentile_ms(seconds, 100) == pytest.approx(4.0)
    assert percentile_ms([0.25], 95) == 250.0


@pytest.mark.parametrize("seed", range(30))
def test_matches_linear_interpolation(seed: int) -> None:
    rng = random.Random(seed)
    seconds = [round(rng.expovariate(20), rng.choice([2, 6])) for _ in range(rng.randint(1, 50))]
    for percentile in (0, 1, 33.3, 50, 90, 95, 99, 100, rng.uniform(0, 100)):
        assert percentile_ms(seconds, percentile) == pytest.approx(
            _type7(seconds, percentile) * 1000, rel=1e-12, abs=1e-12)


def test_rejects_no_timings_and_bad_percentiles() -> None:
    with raises("no calls were timed"):
        percentile_ms([], 50)
    with raises("no calls were timed"):
        percentile_ms(np.array([]), 50)
    for bad in (-1, 101):
        with pytest.raises(ValueError):
            percentile_ms([0.1, 0.2], bad)
