"""Recording metric calls (grader.metrics._recording): what a harness's calls leave behind for the
grader's intervals, and that nothing is recorded or changed outside a recording.

(Named test_metrics_* so the mutation test of grader/metrics runs it against the recorder too.)"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from grader.metrics import answers, classification, retrieval
from grader.metrics._recording import Call, recorded, recording

PUBLIC_METRICS = [
    answers.citation_support, answers.exact_match, answers.token_f1,
    classification.accuracy, classification.average_precision,
    classification.binary_calibration_error, classification.brier_score,
    classification.expected_calibration_error, classification.macro_f1,
    classification.recall_at_fpr,
    retrieval.mrr_at_k, retrieval.ndcg_at_k, retrieval.recall_at_k,
]


def test_every_public_metric_is_recorded_and_keeps_its_name_and_doc() -> None:
    for function in PUBLIC_METRICS:
        assert function.__wrapped__.__name__ == function.__name__  # type: ignore[attr-defined]
        assert function.__doc__ and function.__doc__ == function.__wrapped__.__doc__


def test_outside_a_recording_nothing_is_kept() -> None:
    with recording() as calls:
        pass
    assert classification.accuracy(["a", "b"], ["a", "a"]) == 0.5
    assert calls == []


def test_a_call_is_kept_with_its_arguments_bound_by_name_and_defaults_applied() -> None:
    y_true, y_pred = ["a", "b", "b"], ["a", "b", "a"]
    with recording() as calls:
        value = classification.macro_f1(y_true, y_pred)
        at_5 = retrieval.recall_at_k({"q": {"d": 2}}, {"q": ["d"]}, 5)
    assert [c.function for c in calls] == [classification.macro_f1, retrieval.recall_at_k]
    assert calls[0] == Call(classification.macro_f1,
                            {"y_true": y_true, "y_pred": y_pred, "labels": None}, value)
    assert calls[1].arguments == {"qrels": {"q": {"d": 2}}, "run": {"q": ["d"]}, "k": 5,
                                  "min_relevance": 1}
    assert calls[1].result == at_5 == 1.0
    assert calls[0].function(y_true, y_pred) == value  # the public function, callable as is


def test_only_the_outermost_call_is_kept() -> None:
    @recorded
    def outer(values: list[float]) -> float:
        return classification.accuracy(values, values) + 1.0

    with recording() as calls:
        assert outer([1.0, 2.0]) == 2.0
    assert [c.function for c in calls] == [outer]
    assert calls[0].result == 2.0
    with recording() as calls:  # and a later call at the top is kept again
        classification.accuracy([1], [1])
    assert [c.function for c in calls] == [classification.accuracy]


def test_sequences_are_copied_when_called_mappings_kept() -> None:
    labels, scores = [1, 0, 1], np.array([0.9, 0.2, 0.4])
    qrels = {"q": {"d": 1}}
    with recording() as calls:
        classification.average_precision(labels, scores)
        retrieval.mrr_at_k(qrels, {"q": ["d"]}, 10)
    labels[0], scores[0] = 0, 0.0  # a harness reusing its buffers
    assert calls[0].arguments["labels"] == [1, 0, 1]
    assert calls[0].arguments["scores"].tolist() == [0.9, 0.2, 0.4]
    assert calls[1].arguments["qrels"] is qrels
    with recording() as calls:
        answers.token_f1("a b", ("a b", "c"))
    assert calls[0].arguments["gold"] == ["a b", "c"]


def test_a_call_that_raises_is_not_kept_and_recording_goes_on() -> None:
    with recording() as calls:
        with pytest.raises(ValueError):
            classification.accuracy([], [])
        classification.accuracy(["a"], ["a"])
    assert [c.result for c in calls] == [1.0]


def test_recordings_nest_and_end() -> None:
    with recording() as outer:
        classification.accuracy(["a"], ["a"])
        with recording() as inner:
            classification.accuracy(["a"], ["b"])
        classification.accuracy(["a", "b"], ["a", "a"])
    assert [c.result for c in outer] == [1.0, 0.5]
    assert [c.result for c in inner] == [0.0]
    classification.accuracy(["a"], ["a"])
    assert len(outer) == 2


def test_other_threads_are_not_recorded() -> None:
    with recording() as calls:
        thread = threading.Thread(target=classification.accuracy, args=(["a"], ["a"]))
        thread.start()
        thread.join()
    assert calls == []
