"""Hidden tests of the optional ``predict_proba``: trusted code, run with a live `candidate`.

This suite is reported to reviewers but not scored, because ``predict_proba`` is optional. When a
candidate does not implement it, the test is skipped and the harness reports ECE for the hard labels
read as one-hot probabilities (``1 - accuracy``) with ``proba_provided = 0``.
"""

from __future__ import annotations

import math

import pytest

NOT_IMPLEMENTED = ("has no function 'predict_proba'", "NotImplementedError")


def test_probabilities_sum_to_one(candidate, context):
    generator = context.load_module("generate")
    texts = [row["text"] for row in generator.hidden_items(context.seeds)[:30]]
    texts += ["", "refund " * 2000]
    try:
        maps = candidate.predict_proba(texts)
    except AssertionError as exc:
        if any(marker in str(exc) for marker in NOT_IMPLEMENTED):
            pytest.skip("predict_proba is not implemented (optional): ECE is reported for "
                        "one-hot labels, i.e. 1 - accuracy, and proba_provided is 0")
        raise
    assert len(maps) == len(texts)
    labels = set(generator.LABELS)
    for index, probs in enumerate(maps):
        assert probs, f"text {index}: no probabilities"
        assert set(probs) <= labels, f"text {index}: unknown labels {sorted(set(probs) - labels)}"
        values = [float(v) for v in probs.values()]
        assert all(0.0 <= v <= 1.0 for v in values), f"text {index}: a value outside [0, 1]"
        assert math.isclose(sum(values), 1.0, abs_tol=1e-3), \
            f"text {index}: probabilities sum to {sum(values):.6f}"
