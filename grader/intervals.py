"""How sure a metric is: a 95% interval over the hidden items it was computed on.

A harness computes its metrics through ``grader.metrics``; ``grader.hidden.run_harness`` records
those calls (``grader.metrics._recording``) and hands them here with the values ``evaluate()``
returned. For each value, ``measured`` finds the call that produced it and bounds it over the
items that call was given:

- **A share of items that each score 0 or 1** (an accuracy, an exact-match rate, a recall@k
  where each query has one relevant page): the exact binomial interval (Clopper and Pearson,
  1934), which covers the true rate at least 95% of the time whatever the rate and the number of
  items, and is never zero-width (all right on 10 items: [0.69, 1]).
- **Any other metric**: the percentile bootstrap (Efron and Tibshirani, *An Introduction to the
  Bootstrap*, 1993, ch. 13): the items are drawn with replacement ``RESAMPLES`` times, the metric
  is computed again on each draw, and the 2.5th and 97.5th percentiles of those values are the
  interval; only over ``MIN_ITEMS`` items or more. On fewer, the draws cannot show what the
  hidden set left out (a ranking whose few items all came out right gives every draw the same
  value, a zero-width band), so the value gets no interval and the report says why
  (``unbounded``). ``MIN_ITEMS`` is where the bootstrap's coverage reaches about 0.9 in a
  simulation of this code (docs/intervals.md has the table).

**The items** of a call are what its metric averages or ranks over: the aligned per-row
sequences of a classification metric (``y_true`` and ``y_pred``, ``labels`` and ``scores``, ...),
the judged queries of a retrieval metric (the keys of ``qrels``, with their runs), or, for the
per-answer functions (``token_f1``, ``exact_match``, ``citation_support``), the calls themselves:
a value that is the mean of every call of one of them in the harness is bootstrapped as that mean.
Other arguments (``k``, ``max_fpr``, ``n_bins``, ``labels`` of ``macro_f1``) stay as they were.

**Which call.** A returned value matches a call when it equals the call's result, or that result
rounded to 2 or more decimals (harnesses round to make re-grades reproduce exactly; the interval's
ends are then rounded alike); a whole number (0, 1) matches only exactly, so a flag is never
mistaken for a rounded metric. Exact matches win over rounded ones. When several calls match, each
returned value takes the earliest call no earlier returned value took (the earliest of all when
every one was taken: one metric returned under two names): a harness that computes
``recall_at_5`` then ``recall_at_10`` and returns them in that order gets each its own call even
when their values coincide. A value no call produced (computed by hand, a timing, a flag) gets no
interval (None).

**Recomputing** (the bootstrap) is vectorised over the draws: a draw is a count per item (how
many times it was drawn), and each metric is written here over those counts, so a sort or an
encoding is done once per call rather than per draw. ``tests/grader/test_intervals.py`` checks
each form against the metric function itself on the materialised draw. A draw on which the metric
is undefined (average precision of a draw with no positive) is left out; with fewer than half the
draws defined there is no interval.

**Reproducible.** The draws come from numpy's PCG64 generator seeded by a hash of the harness's
name and the number of items, so the same answers give the same interval on every run and
platform; metrics over the same items share their draws (and so move together). The
interval is widened to include the value itself when the draws fall on one side of it (a biased
statistic: a calibration error is never below 0 and is inflated by drawing duplicates).

The scale a metric is placed on is monotone, so placing the interval's ends gives the interval of
its points (the percentile interval carries over any monotone map): ``grader.scoring``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from grader.metrics import answers, classification, retrieval
from grader.metrics._recording import Call

__all__ = ["LEVEL", "MIN_ITEMS", "RESAMPLES", "Interval", "Measured", "bounds", "interval_of",
           "intervals", "measured", "unbounded"]

RESAMPLES = 1000
LEVEL = 0.95
# Fewest items a bootstrapped metric is bounded over. Below it the percentile bootstrap's "95%"
# interval covered far less often in a simulation of this code: a per-item rate of 0.97 is
# covered 0.77 of the time on 50 items and 0.84 to 0.92 from 110 to 140 (its discreteness), 0.88
# or more from 150 on; average precision about 0.9 from 50 on (docs/intervals.md).
MIN_ITEMS = 150
# Draws per block: a block of weights is at most this many numbers (16 MB as float64).
_BLOCK_CELLS = 2_000_000

Interval: TypeAlias = tuple[float, float]


class Measured(float):
    """A metric value carrying its 95% interval (``None``: not known) and the number of hidden
    items it was computed over (``None``: no recorded call produced it). It is a float in every
    other respect, so code that only wants the value never notices."""

    interval: Interval | None
    items: int | None

    def __new__(cls, value: float, interval: Interval | None = None,
                items: int | None = None) -> Measured:
        self = super().__new__(cls, value)
        self.interval = interval
        self.items = items
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Measured, (float(self), self.interval, self.items))


def interval_of(value: object) -> Interval | None:
    """The interval a value carries; None for a plain number or None."""
    return value.interval if isinstance(value, Measured) else None


def unbounded(items: int | None) -> str | None:
    """Why a value computed over ``items`` hidden items has no interval, for a reviewer; None
    when no recorded call produced it (its uncertainty is simply not known)."""
    if items is None:
        return None
    if items < MIN_ITEMS:
        return f"too few hidden items to bound: {items}"
    return f"undefined on most resamples of its {items} hidden items"


# --- each metric over draw counts ----------------------------------------------------------------

@dataclass(frozen=True)
class _Items:
    """A call's items, ready to recompute its metric on draws: ``statistic(weights)`` takes a
    (draws, n) array of counts (each row sums to n) and gives one value per draw (NaN: undefined
    on that draw). ``successes``: set when the metric is the share of items scoring 1, each
    scoring 0 or 1 (bounded exactly, not bootstrapped)."""

    n: int
    statistic: Callable[[np.ndarray], np.ndarray]
    successes: int | None = None


def _mean_of(values: Sequence[float] | np.ndarray) -> _Items:
    array = np.asarray(values, dtype=float)
    binary = bool(np.isin(array, (0.0, 1.0)).all())
    return _Items(len(array), lambda w: w @ array / len(array),
                  successes=int(array.sum()) if binary else None)


def _onehot(codes: np.ndarray, width: int) -> np.ndarray:
    matrix = np.zeros((len(codes), width))
    known = codes >= 0
    matrix[np.flatnonzero(known), codes[known]] = 1.0
    return matrix


def _retrieval(metric: str) -> Callable[[Mapping[str, Any]], _Items]:
    def prepare(a: Mapping[str, Any]) -> _Items:
        values = retrieval.per_query(metric, a["qrels"], a["run"], a["k"],
                                     min_relevance=a["min_relevance"])
        return _mean_of(list(values.values()))
    return prepare


def _accuracy(a: Mapping[str, Any]) -> _Items:
    return _mean_of(list(map(operator.eq, a["y_true"], a["y_pred"])))


def _macro_f1(a: Mapping[str, Any]) -> _Items:
    y_true, y_pred, labels = list(a["y_true"]), list(a["y_pred"]), a["labels"]
    classes = (sorted(set(y_true) | set(y_pred)) if labels is None
               else list(dict.fromkeys(labels)))
    index = {label: i for i, label in enumerate(classes)}
    true = _onehot(np.array([index.get(y, -1) for y in y_true]), len(classes))
    predicted = _onehot(np.array([index.get(y, -1) for y in y_pred]), len(classes))
    hits = true * np.array(list(map(operator.eq, y_true, y_pred)), dtype=float)[:, None]

    def statistic(w: np.ndarray) -> np.ndarray:
        tp, denominator = w @ hits, w @ true + w @ predicted
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        if labels is None:  # the classes that occur in the draw
            return f1.sum(axis=1) / (denominator > 0).sum(axis=1)
        return f1.mean(axis=1)
    return _Items(len(y_true), statistic)


def _binned(confidence: np.ndarray, outcome: np.ndarray, n_bins: int) -> _Items:
    """ECE over draws: the sum over bins of |outcomes - confidences| in the bin, over n (the same
    (lo, hi] bins as ``grader.metrics.classification``)."""
    bins = np.searchsorted(np.arange(1, n_bins) / n_bins, confidence)
    member = _onehot(bins, n_bins)
    outcomes, confidences = member * outcome[:, None], member * confidence[:, None]
    n = len(confidence)
    return _Items(n, lambda w: np.abs(w @ outcomes - w @ confidences).sum(axis=1) / n)


def _ece(a: Mapping[str, Any]) -> _Items:
    predicted, confidence = classification.confidences(a["probabilities"])
    correct = np.array(list(map(operator.eq, predicted, a["y_true"])), dtype=float)
    return _binned(confidence, correct, a["n_bins"])


def _binary(a: Mapping[str, Any], scores: str) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(a["labels"]).astype(float), np.asarray(a[scores], dtype=float)


def _binary_ece(a: Mapping[str, Any]) -> _Items:
    y, p = _binary(a, "probabilities")
    return _binned(p, y, a["n_bins"])


def _brier(a: Mapping[str, Any]) -> _Items:
    y, p = _binary(a, "probabilities")
    return _mean_of((p - y) ** 2)


def _ranked(a: Mapping[str, Any],
            summary: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> _Items:
    """Ranking metrics over draws: cumulated true and false positives when flagging ``s >= t``
    at each distinct score, highest first (ties flagged together, as the metric does).

    Only thresholds whose tie group holds a positive are kept: at any other one the true
    positives are those of the kept threshold above it and the false positives no fewer, so
    neither average precision (its recall does not move there) nor the best recall under a
    false-positive rate can change. The counts between kept thresholds are summed per segment.
    ``summary(tp, fp, n)`` gets them as (draws, kept thresholds) arrays.
    """
    y, s = _binary(a, "scores")
    n = len(y)
    order = np.argsort(-s, kind="stable")
    ranked_y, ranked_s = y[order], s[order]
    new_group = np.r_[True, ranked_s[1:] != ranked_s[:-1]]
    group_ends = np.flatnonzero(np.r_[new_group[1:], True])
    positive_at = np.flatnonzero(ranked_y > 0)
    if len(positive_at) == 0:
        return _Items(n, lambda w: np.full(len(w), np.nan))
    kept_ends = group_ends[np.unique(np.cumsum(new_group)[positive_at] - 1)]
    segment_starts = np.r_[0, kept_ends[:-1] + 1]
    segment_of_positive = np.searchsorted(kept_ends, positive_at)
    positive_starts = np.flatnonzero(np.r_[True, np.diff(segment_of_positive) != 0])
    columns = order[:kept_ends[-1] + 1]

    def statistic(w: np.ndarray) -> np.ndarray:
        drawn = np.take(w, columns, axis=1)
        flagged = np.cumsum(np.add.reduceat(drawn, segment_starts, axis=1), axis=1)
        tp = np.cumsum(np.add.reduceat(drawn[:, positive_at], positive_starts, axis=1), axis=1)
        return summary(tp, flagged - tp, n)
    return _Items(n, statistic)


def _average_precision(a: Mapping[str, Any]) -> _Items:
    def summary(tp: np.ndarray, fp: np.ndarray, n: int) -> np.ndarray:
        positives = tp[:, -1:]
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
        recall = np.divide(tp, positives, out=np.zeros_like(tp), where=positives > 0)
        ap = (np.diff(recall, axis=1, prepend=0.0) * precision).sum(axis=1)
        return np.where(positives[:, 0] > 0, ap, np.nan)
    return _ranked(a, summary)


def _recall_at_fpr(a: Mapping[str, Any]) -> _Items:
    max_fpr = a["max_fpr"]

    def summary(tp: np.ndarray, fp: np.ndarray, n: int) -> np.ndarray:
        positives = tp[:, -1]
        negatives = n - positives
        with np.errstate(divide="ignore", invalid="ignore"):
            admissible = fp / negatives[:, None] <= max_fpr
            best = np.where(admissible, tp, 0.0).max(axis=1) / positives
        return np.where((positives > 0) & (negatives > 0), best, np.nan)
    return _ranked(a, summary)


_AGGREGATES: dict[Callable[..., Any], Callable[[Mapping[str, Any]], _Items]] = {
    retrieval.recall_at_k: _retrieval("recall"),
    retrieval.mrr_at_k: _retrieval("mrr"),
    retrieval.ndcg_at_k: _retrieval("ndcg"),
    classification.accuracy: _accuracy,
    classification.macro_f1: _macro_f1,
    classification.expected_calibration_error: _ece,
    classification.binary_calibration_error: _binary_ece,
    classification.brier_score: _brier,
    classification.average_precision: _average_precision,
    classification.recall_at_fpr: _recall_at_fpr,
}
"""Metrics over many items in one call: how to recompute each on draws of its items."""

_PER_ITEM: frozenset[Callable[..., Any]] = frozenset(
    {answers.token_f1, answers.exact_match, answers.citation_support})
"""Metrics of one item per call: a harness averages them; the calls are the items."""


# --- the bootstrap ------------------------------------------------------------------------------

def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"grader.intervals:{name}".encode()).digest()[:8], "big")


def _draws(n: int, seed: str, resamples: int) -> Iterator[np.ndarray]:
    """``resamples`` draws of n items with replacement, as blocks of counts (draws, n)."""
    rng = np.random.default_rng(_seed(seed))
    block = max(1, min(resamples, _BLOCK_CELLS // n))
    for start in range(0, resamples, block):
        draws = min(block, resamples - start)
        picks = rng.integers(0, n, size=(draws, n), dtype=np.int64)
        picks += (np.arange(draws, dtype=np.int64) * n)[:, None]
        yield np.bincount(picks.ravel(), minlength=draws * n).reshape(draws, n).astype(float)


def _percentile_interval(values: np.ndarray, resamples: int) -> Interval | None:
    values = values[np.isfinite(values)]
    if len(values) < resamples / 2:
        return None
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def _exact_binomial(successes: int, n: int) -> Interval:
    """The Clopper-Pearson interval of a rate seen as ``successes`` of ``n``: the rates under
    which so many or more (so few or fewer) have probability (1 - LEVEL) / 2 (beta quantiles)."""
    # Imported here: scipy.special takes about 0.4 s, and most processes that import this module
    # (the CLI, the web app) never bound a value.
    from scipy.special import betaincinv  # type: ignore[import-untyped]

    tail = (1 - LEVEL) / 2
    low = 0.0 if successes == 0 else float(betaincinv(successes, n - successes + 1, tail))
    high = 1.0 if successes == n else float(betaincinv(successes + 1, n - successes, 1 - tail))
    return low, high


def bounds(items: Mapping[str, _Items], *, seed: str, resamples: int = RESAMPLES
           ) -> dict[str, Interval | None]:
    """The 95% interval of each named metric over its items: exact for a share of 0/1 items, else
    the percentile interval over ``resamples`` draws of them.

    Metrics over the same number of items share their draws (drawn once, from a generator seeded
    by ``seed`` and that number), so a harness's metrics over one set of rows move together, and
    the draws are made once per set rather than once per metric. None for a metric without items,
    a bootstrapped one over fewer than ``MIN_ITEMS``, or one with fewer than half its draws
    defined.
    """
    found: dict[str, Interval | None] = {}
    by_size: dict[int, list[str]] = {}
    for name, each in items.items():
        if each.n > 0 and each.successes is not None:
            found[name] = _exact_binomial(each.successes, each.n)
        elif each.n < MIN_ITEMS:
            found[name] = None
        else:
            by_size.setdefault(each.n, []).append(name)
    for n, names in by_size.items():
        values: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for weights in _draws(n, f"{seed}:{n}", resamples):
            for name in names:
                values[name].append(items[name].statistic(weights))
        for name in names:
            found[name] = _percentile_interval(np.concatenate(values[name]), resamples)
    return found


# --- matching returned values to calls ----------------------------------------------------------

@dataclass
class _Candidate:
    value: float
    prepare: Callable[[], _Items]
    approximate: bool  # a mean the harness summed in its own order: equal up to rounding error
    taken: bool = False


def _candidates(calls: Sequence[Call]) -> list[_Candidate]:
    found = []
    per_item: dict[Callable[..., Any], list[float]] = {}
    for call in calls:
        if isinstance(call.result, bool) or not isinstance(call.result, (int, float)):
            continue
        if call.function in _PER_ITEM:
            per_item.setdefault(call.function, []).append(float(call.result))
        elif call.function in _AGGREGATES:
            prepare = _AGGREGATES[call.function]
            found.append(_Candidate(float(call.result),
                                    functools.partial(prepare, call.arguments),
                                    approximate=False))
    for values in per_item.values():
        found.append(_Candidate(math.fsum(values) / len(values),
                                functools.partial(_mean_of, values), approximate=True))
    return found


def _equal(value: float, candidate: _Candidate) -> bool:
    if candidate.approximate:
        return math.isclose(value, candidate.value, rel_tol=1e-9, abs_tol=1e-12)
    return value == candidate.value


def _decimals(value: float, candidate: _Candidate) -> int | None:
    """The number of decimals (2 to 12) the candidate's value was rounded to, giving ``value``."""
    if value == round(value):  # a whole number matches only exactly
        return None
    for digits in range(2, 13):
        if _equal(value, _Candidate(round(candidate.value, digits), candidate.prepare,
                                    candidate.approximate)):
            return digits
    return None


def _finish(interval: Interval, value: float, digits: int | None) -> Interval:
    low, high = interval
    if digits is not None:
        low, high = round(low, digits), round(high, digits)
    else:  # drop the last bits of summation noise: a constant metric gets a zero-width interval
        low, high = float(f"{low:.12g}"), float(f"{high:.12g}")
    return min(low, value), max(high, value)


def measured(values: Mapping[str, float], calls: Sequence[Call], *, harness: str,
             resamples: int = RESAMPLES) -> dict[str, Measured]:
    """Each returned value with its interval and number of items, from the recorded call that
    produced it (see the module docstring for the rule); neither for a value no call produced."""
    candidates = _candidates(calls)
    matched: dict[str, tuple[_Items, int | None]] = {}
    for name, value in values.items():
        match, digits = None, None
        exact = [c for c in candidates if _equal(value, c)]
        if exact:
            match = next((c for c in exact if not c.taken), exact[0])
        else:
            rounded = [(c, d) for c in candidates if (d := _decimals(value, c)) is not None]
            if rounded:
                match, digits = next(((c, d) for c, d in rounded if not c.taken), rounded[0])
        if match is not None:
            match.taken = True
            matched[name] = (match.prepare(), digits)
    found = bounds({name: each for name, (each, _) in matched.items()}, seed=harness,
                   resamples=resamples)
    result = {}
    for name, value in values.items():
        if name not in matched:
            result[name] = Measured(value)
            continue
        each, digits = matched[name]
        interval = found[name]
        result[name] = Measured(value, None if interval is None
                                else _finish(interval, value, digits), each.n)
    return result


def intervals(values: Mapping[str, float], calls: Sequence[Call], *, harness: str,
              resamples: int = RESAMPLES) -> dict[str, Interval | None]:
    """Each returned value's interval alone (``measured``)."""
    return {name: value.interval for name, value in
            measured(values, calls, harness=harness, resamples=resamples).items()}
