"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`.

The hidden split is the instance's (``generate.hidden_items(context.seeds)``: drawn from the seeds
the deployment's secret derives, and from its private content when it has some), generated in
memory and sent in batches of ``BATCH`` texts, the unit the latency figures are per.

Metrics (the quality ones rounded to 4 decimals, so re-grading on the same machine reproduces them
exactly):

- ``macro_f1``, ``accuracy``: the whole hidden split (in-distribution rows and the shifted slice);
- ``in_distribution_macro_f1``, ``shifted_macro_f1``: each slice on its own;
- ``ece``: top-label expected calibration error (15 bins) of ``predict_proba``. When the candidate
  has no usable ``predict_proba`` (missing, raising, or answering a wrong shape), ECE is that of
  its hard labels read as one-hot probabilities, i.e. ``1 - accuracy``, and ``proba_provided`` is
  0; the hidden ``probabilities`` suite says why. Neither is scored;
- ``latency_p50_ms``, ``latency_p95_ms``: the grader-measured duration of one ``predict`` call of
  ``BATCH`` texts, JSON transfer included. Reported, not scored;
- ``model_mib``: the size on disk of what ``train`` saved (``context.work_bytes``). Reported, not
  scored: a pipeline that saves a fine-tuned encoder is rightly larger than a linear model.
"""

from __future__ import annotations

from grader.metrics import classification, latency

BATCH = 50


def _batched(call, texts: list[str]) -> list:
    answers = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        answer = call(batch)
        if len(answer) != len(batch):
            raise AssertionError(f"{len(answer)} answers for a batch of {len(batch)} texts")
        answers.extend(answer)
    return answers


def _probabilities(candidate, texts: list[str]) -> list[dict[str, float]] | None:
    try:
        maps = _batched(candidate.predict_proba, texts)
        classification.confidences(maps)  # every map non-empty, its top value in [0, 1]
    except (AssertionError, ValueError):
        return None
    return maps


def evaluate(candidate, context) -> dict[str, float]:
    rows = context.load_module("generate").hidden_items(context.seeds)
    texts = [row["text"] for row in rows]
    truth = [row["label"] for row in rows]
    predicted = _batched(candidate.predict, texts)
    timings = list(candidate.timings["predict"])

    def slice_f1(name: str) -> float:
        pairs = [(t, p) for t, p, row in zip(truth, predicted, rows, strict=True)
                 if row["slice"] == name]
        return classification.macro_f1([t for t, _ in pairs], [p for _, p in pairs])

    probabilities = _probabilities(candidate, texts)
    ece = classification.expected_calibration_error(
        truth, probabilities if probabilities is not None else classification.one_hot(predicted))
    return {
        "macro_f1": round(classification.macro_f1(truth, predicted), 4),
        "accuracy": round(classification.accuracy(truth, predicted), 4),
        "in_distribution_macro_f1": round(slice_f1("in_distribution"), 4),
        "shifted_macro_f1": round(slice_f1("shifted"), 4),
        "ece": round(ece, 4),
        "proba_provided": float(probabilities is not None),
        "latency_p50_ms": round(latency.percentile_ms(timings, 50), 1),
        "latency_p95_ms": round(latency.percentile_ms(timings, 95), 1),
        "model_mib": round(context.work_bytes / 2**20, 3),
    }
