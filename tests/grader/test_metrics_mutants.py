"""The wrong formulas the metric tests once let through, planted one at a time: each must make the
metric tests fail, both the cross-check against the independent implementation and a hand case.

(scripts/mutation.sh runs the broader, generated mutation test of grader/metrics.)"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_curve

from grader.metrics import answers, classification, latency, retrieval

# The sibling test modules, imported as pytest imports them (rootdir-relative, no package).
test_answers = importlib.import_module("test_metrics_answers")
test_classification = importlib.import_module("test_metrics_classification")
test_latency = importlib.import_module("test_metrics_latency")
test_retrieval = importlib.import_module("test_metrics_retrieval")


def caught(test: Callable[..., None], cases: Iterable[tuple] = ((),)) -> bool:
    """Whether ``test`` fails on at least one of its cases."""
    for case in cases:
        try:
            test(*case)
        except AssertionError:
            return True
    return False


def seeds(n: int) -> list[tuple[int]]:
    return [(seed,) for seed in range(n)]


def test_ndcg_ideal_not_cut_at_k(monkeypatch) -> None:
    def wrong(labels, ranking, k, min_relevance):
        gains = {doc: float(label) for doc, label in labels.items() if label >= min_relevance}
        ideal = retrieval._dcg(sorted(gains.values(), reverse=True))  # all of them, not [:k]
        if ideal == 0.0:
            return 0.0
        return retrieval._dcg(gains.get(doc, 0.0) for doc in retrieval._top_k(ranking, k)) / ideal

    monkeypatch.setitem(retrieval._METRICS, "ndcg", wrong)
    assert caught(test_retrieval.test_random_runs_match_trec_eval, seeds(60))
    assert caught(test_retrieval.test_ndcg_gains_are_the_labels_and_the_ideal_is_cut_at_k)


def test_ndcg_with_exponential_gains(monkeypatch) -> None:
    def wrong(labels, ranking, k, min_relevance):
        gains = {doc: 2.0 ** label - 1 for doc, label in labels.items() if label >= min_relevance}
        ideal = retrieval._dcg(sorted(gains.values(), reverse=True)[:k])
        if ideal == 0.0:
            return 0.0
        return retrieval._dcg(gains.get(doc, 0.0) for doc in retrieval._top_k(ranking, k)) / ideal

    monkeypatch.setitem(retrieval._METRICS, "ndcg", wrong)
    assert caught(test_retrieval.test_random_runs_match_trec_eval, seeds(60))
    assert caught(test_retrieval.test_ndcg_gains_are_the_labels_and_the_ideal_is_cut_at_k)


@pytest.mark.parametrize("denominator", ["bag", "set"])
def test_token_f1_over_a_set_of_tokens(monkeypatch, denominator: str) -> None:
    def wrong(prediction, gold):
        predicted = answers.normalize_answer(prediction).split()
        expected = answers.normalize_answer(gold).split()
        if not predicted and not expected:
            return 1.0
        common = len(set(predicted) & set(expected))
        if common == 0:
            return 0.0
        if denominator == "set":
            predicted, expected = set(predicted), set(expected)
        precision, recall = common / len(predicted), common / len(expected)
        return 2 * precision * recall / (precision + recall)

    monkeypatch.setattr(answers, "_f1", wrong)
    assert caught(test_answers.test_matches_the_squad_v1_1_script, seeds(300))
    assert caught(test_answers.test_f1_and_exact_match,
                  [("days days", "days days", 1.0, 1.0), ("days days 30", "days 30 30", 2 / 3, 0)])


def test_citations_not_deduplicated(monkeypatch) -> None:
    def wrong(citations, gold, passages):
        golds = answers._golds(gold)
        cited = list(citations)
        if not cited:
            return 0.0
        return sum(doc in passages and any(answers.contains_answer(passages[doc], g)
                                           for g in golds) for doc in cited) / len(cited)

    monkeypatch.setattr(answers, "citation_support", wrong)
    assert caught(test_answers.test_citation_support_matches_a_written_out_definition, seeds(100))
    assert caught(test_answers.test_citation_support_is_a_share_of_distinct_citations)


def test_ece_as_an_unweighted_mean_over_bins(monkeypatch) -> None:
    def wrong(confidence, outcome, n_bins):
        bins = np.searchsorted(np.arange(1, n_bins) / n_bins, confidence)
        gaps = [abs(outcome[bins == b].mean() - confidence[bins == b].mean())
                for b in np.unique(bins)]
        return float(np.mean(gaps))

    monkeypatch.setattr(classification, "_binned_gap", wrong)
    assert caught(test_classification.test_ece_matches_the_written_out_definition, seeds(40))
    assert caught(test_classification.test_ece_weighs_each_bin_by_its_inputs)


def test_ece_with_10_bins(monkeypatch) -> None:
    top_label, binary = (classification.expected_calibration_error,
                         classification.binary_calibration_error)
    monkeypatch.setattr(test_classification, "expected_calibration_error",
                        lambda y, p, n_bins=10: top_label(y, p, n_bins))
    monkeypatch.setattr(test_classification, "binary_calibration_error",
                        lambda y, p, n_bins=10: binary(y, p, n_bins))
    assert caught(test_classification.test_ece_defaults_to_15_bins)


def test_ece_bins_closed_on_the_left(monkeypatch) -> None:
    # The fraud harness's old binning: [lo, hi), by truncating confidence * n_bins.
    def wrong(confidence, outcome, n_bins):
        bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
        return float(sum((bins == b).sum() * abs(outcome[bins == b].mean()
                                                 - confidence[bins == b].mean())
                         for b in np.unique(bins)) / len(outcome))

    monkeypatch.setattr(classification, "_binned_gap", wrong)
    assert caught(test_classification.test_ece_matches_the_written_out_definition, seeds(40))
    assert caught(test_classification.test_ece_bins_are_closed_on_the_right)


def test_recall_at_fpr_through_the_default_roc_curve(monkeypatch) -> None:
    # The fraud harness's old formula: roc_curve drops intermediate points, among them ties.
    def wrong(labels, scores, max_fpr):
        fpr, tpr, _ = roc_curve(labels, scores)
        return float(tpr[fpr <= max_fpr + 1e-12].max())

    monkeypatch.setattr(test_classification, "recall_at_fpr", wrong)
    assert caught(test_classification.test_recall_at_fpr_keeps_the_best_point_among_ties)
    assert caught(test_classification.test_binary_metrics_agree_with_scikit_learn, seeds(40))


def test_scores_clipped_before_ranking(monkeypatch) -> None:
    monkeypatch.setattr(test_classification, "average_precision",
                        lambda y, s: float(average_precision_score(y, np.clip(s, 0.0, 1.0))))
    assert caught(test_classification.test_ranking_metrics_do_not_clip_scores)
    original = classification.recall_at_fpr
    monkeypatch.undo()
    monkeypatch.setattr(test_classification, "recall_at_fpr",
                        lambda y, s, rate: original(y, np.clip(s, 0.0, 1.0), rate))
    assert caught(test_classification.test_ranking_metrics_do_not_clip_scores)


def test_a_higher_percentile(monkeypatch) -> None:
    def wrong(seconds, percentile):
        return float(np.percentile(seconds, percentile, method="higher") * 1000.0)

    monkeypatch.setattr(test_latency, "percentile_ms", wrong)
    assert caught(test_latency.test_by_hand)
    assert caught(test_latency.test_matches_linear_interpolation, seeds(30))
    assert latency.percentile_ms([0.001, 0.002], 50) == pytest.approx(1.5)  # the real one


def test_unplanted_tests_pass() -> None:
    """The same tests, with nothing planted, pass: what the checks above catch is the variant."""
    checks = [
        (test_retrieval.test_random_runs_match_trec_eval, seeds(60)),
        (test_answers.test_matches_the_squad_v1_1_script, seeds(300)),
        (test_answers.test_citation_support_matches_a_written_out_definition, seeds(100)),
        (test_classification.test_ece_matches_the_written_out_definition, seeds(40)),
        (test_classification.test_binary_metrics_agree_with_scikit_learn, seeds(40)),
        (test_latency.test_matches_linear_interpolation, seeds(30)),
    ]
    for test, cases in checks:
        assert not caught(test, cases), test.__name__
