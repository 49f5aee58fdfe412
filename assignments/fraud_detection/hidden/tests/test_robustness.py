"""Hidden robustness tests: trusted code, run by the grader with a live `candidate`.

A scoring service meets malformed input every day: it must say what is wrong (naming the field)
rather than crash, and its probabilities must be probabilities, the same every time, whatever the
batch they arrive in.
"""

from __future__ import annotations

import copy
import math
from functools import cache

import pytest

HIDDEN_ONLY = ("is_fraud", "slice")


@cache
def _sample(generate, public_seed: int, hidden_seed: int) -> tuple[dict, ...]:
    rows = generate.hidden_rows(public_seed, hidden_seed, customers=25)
    clean = [{k: v for k, v in r.items() if k not in HIDDEN_ONLY} for r in rows]
    # Every kind of row: online and in store, both slices, fraud and not, spread over time.
    return tuple(clean[:: max(1, len(clean) // 60)])


@pytest.fixture
def rows(context) -> list[dict]:
    generate = context.load_module("generate")
    sample = _sample(generate, context.seed("public"), context.seed("hidden"))
    return copy.deepcopy(list(sample))


@pytest.fixture
def row(rows) -> dict:
    return next(r for r in rows if r["channel"] == "online" and r["prev_timestamp"])


def _new_customer(row: dict) -> dict:
    """A first transaction: no history, no known device, no usual amount yet."""
    return {**row, "prev_timestamp": None, "prev_country": None, "prev_lat": None,
            "prev_lon": None, "known_devices": [], "avg_amount_90d": None, "txn_count_1h": 0,
            "txn_count_24h": 0, "amount_sum_24h": 0.0, "account_age_days": 0}


def _in_store(row: dict) -> dict:
    return {**row, "channel": "in_store", "device_id": None}


def _problems(candidate, value) -> list[str]:
    problems = candidate.validate_input(value)
    assert isinstance(problems, list), f"validate_input returned {type(problems).__name__}"
    assert all(isinstance(p, str) and p.strip() for p in problems), \
        f"every problem must be a non-empty sentence: {problems!r}"
    return problems


# ------------------------------------------------------------------ valid rows are accepted

def test_valid_rows_have_no_problems(candidate, rows):
    flagged = {r["transaction_id"]: p for r in rows if (p := _problems(candidate, r))}
    assert not flagged, f"valid rows were rejected: {dict(list(flagged.items())[:3])}"


def test_first_transaction_and_in_store_rows_are_valid(candidate, row):
    for variant in (_new_customer(row), _in_store(row), _in_store(_new_customer(row))):
        assert _problems(candidate, variant) == [], variant


def test_unknown_extra_field_is_ignored(candidate, row):
    assert _problems(candidate, {**row, "merchant_name": "ACME Ltd"}) == []


# ------------------------------------------------------------------ malformed rows get problems

MISSING = ["amount", "timestamp", "merchant_category", "lat", "device_id", "known_devices",
           "txn_count_1h", "home_country"]


@pytest.mark.parametrize("field", MISSING)
def test_missing_field_is_named(candidate, row, field):
    del row[field]
    problems = _problems(candidate, row)
    assert problems, f"a row without {field} was accepted"
    assert any(field in p for p in problems), f"no problem names {field}: {problems!r}"


WRONG = [
    ("amount", "12.50"),
    ("amount", True),
    ("timestamp", 1717245296),
    ("lat", "48.1"),
    ("txn_count_1h", 1.5),
    ("known_devices", "d-1234"),
    ("merchant_category", 5),
    ("device_id", 1234),
]


@pytest.mark.parametrize(("field", "value"), WRONG, ids=[f"{f}={v!r}" for f, v in WRONG])
def test_wrong_type_is_named(candidate, row, field, value):
    row[field] = value
    problems = _problems(candidate, row)
    assert any(field in p for p in problems), f"{field}={value!r} was not reported: {problems!r}"


OUT_OF_RANGE = [
    ("amount", -20.0),
    ("amount", 0),
    ("lat", 95.0),
    ("lon", -181.0),
    ("txn_count_24h", -1),
    ("account_age_days", -5),
    ("timestamp", "2024-02-30T10:00:00"),
    ("timestamp", "yesterday"),
    ("merchant_category", "casino"),
    ("channel", "fax"),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE,
                         ids=[f"{f}={v!r}" for f, v in OUT_OF_RANGE])
def test_invalid_value_is_named(candidate, row, field, value):
    row[field] = value
    problems = _problems(candidate, row)
    assert any(field in p for p in problems), f"{field}={value!r} was not reported: {problems!r}"


def test_empty_row_gets_problems(candidate):
    assert _problems(candidate, {})


def test_every_field_null_gets_problems_not_a_crash(candidate, row):
    assert _problems(candidate, dict.fromkeys(row))


# ------------------------------------------------------------------ predictions

def _probabilities(candidate, batch) -> list[float]:
    answer = candidate.predict_proba(batch)
    assert len(answer) == len(batch), f"{len(answer)} probabilities for {len(batch)} rows"
    return answer


def test_probabilities_are_in_the_unit_interval(candidate, rows):
    for p in _probabilities(candidate, rows):
        assert math.isfinite(p) and 0.0 <= p <= 1.0, p


def test_empty_batch(candidate):
    assert candidate.predict_proba([]) == []


def test_deterministic(candidate, rows):
    assert _probabilities(candidate, rows) == _probabilities(candidate, rows)


def test_a_row_scores_the_same_alone_and_in_any_batch(candidate, rows):
    together = _probabilities(candidate, rows)
    backwards = _probabilities(candidate, rows[::-1])[::-1]
    alone = [_probabilities(candidate, [r])[0] for r in rows[:8]]
    assert together == pytest.approx(backwards, abs=1e-9)
    assert together[:8] == pytest.approx(alone, abs=1e-9)


def test_first_transaction_and_in_store_rows_are_scored(candidate, row):
    for p in _probabilities(candidate, [_new_customer(row), _in_store(row),
                                        _in_store(_new_customer(row))]):
        assert math.isfinite(p) and 0.0 <= p <= 1.0, p


def test_unknown_extra_field_does_not_change_the_score(candidate, row):
    plain, extra = _probabilities(candidate, [row, {**row, "merchant_name": "ACME Ltd"}])
    assert plain == pytest.approx(extra, abs=1e-9)
