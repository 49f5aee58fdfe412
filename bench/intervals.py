"""What the 95% intervals cost a grading: each built-in harness run in process on its demo hidden
split against a fake candidate (plausible answers, no container), timing

(a) ``evaluate()`` alone,
(b) ``evaluate()`` while its metric calls are recorded (``grader.metrics._recording``), and
(c) finding each returned value's call and bootstrapping it (``grader.intervals.intervals``),

so (b) - (a) + (c) is what intervals add to a grading. Prints the medians over ``--runs`` (wall
and CPU seconds) and each metric's value and interval from the last run. The goal is about 2 s at
most per grading (rag_pipeline's 300 questions, fraud_detection's ~12k rows); timings on a busy
host are higher, so read the CPU column too.

    .venv/bin/python bench/intervals.py [--runs 3] [--assignment rag_pipeline ...]
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.hidden import HiddenContext, load_hidden_module
from grader.intervals import intervals
from grader.metrics._recording import recording
from grader.settings import BUILT_IN_ASSIGNMENTS
from grader.spec import load_assignment
from sandbox import Limits


class FakeCandidate:
    """Answers every entry point instantly with something plausible, seeded."""

    def __init__(self, answer: dict[str, Callable[..., Any]]) -> None:
        self._answer = answer
        self.timings: dict[str, list[float]] = defaultdict(list)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._answer:
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.timings[name].append(0.001)
            return self._answer[name](*args, **kwargs)
        return call


def _rag(context: HiddenContext) -> FakeCandidate:
    generate = context.load_module("generate")
    kb = generate.build_knowledge_base(context.seed("corpus"))
    questions = generate.hidden_questions(kb, dict(context.seeds))
    ids = [page.id for page in kb.pages]
    by_question = {q["question"]: q for q in questions}
    rng = random.Random(0)

    def search(query: str, k: int) -> list[str]:
        relevant = [d for d, label in by_question[query]["relevance"].items() if label == 2]
        found = rng.sample(ids, k)
        if relevant and rng.random() < 0.6:
            found[rng.randrange(k)] = relevant[0]
        return list(dict.fromkeys(found))

    def answer(query: str) -> dict[str, Any]:
        q = by_question[query]
        text = q["answer"] if rng.random() < 0.4 else "I do not know"
        return {"answer": text, "citations": rng.sample(ids, 2)}
    return FakeCandidate({"search": search, "answer": answer})


def _classification(context: HiddenContext) -> FakeCandidate:
    rows = context.load_module("generate").hidden_items(dict(context.seeds))
    labels = sorted({row["label"] for row in rows})
    truth = {row["text"]: row["label"] for row in rows}
    rng = random.Random(0)

    def guess(text: str) -> str:
        return truth[text] if rng.random() < 0.7 else rng.choice(labels)

    def predict_proba(texts: list[str]) -> list[dict[str, float]]:
        return [{guess(t): 0.5 + rng.random() / 2} for t in texts]
    return FakeCandidate({"predict": lambda texts: [guess(t) for t in texts],
                          "predict_proba": predict_proba})


def _fraud(context: HiddenContext) -> FakeCandidate:
    rng = random.Random(0)
    return FakeCandidate({"predict_proba": lambda rows: [
        min(1.0, 0.02 + rng.random() * 0.1 + (0.5 if row["amount"] > 500 else 0.0))
        for row in rows]})


FAKES = {"rag_pipeline": _rag, "finetune_small": _classification, "fraud_detection": _fraud}


def _timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _runs(module: Any, fake: Callable[[], FakeCandidate], context: HiddenContext, harness: str,
          runs: int) -> tuple[dict[str, list[tuple[float, float]]], dict[str, float], dict]:
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    values: dict[str, float] = {}
    found: dict[str, Any] = {}
    for _ in range(runs):
        _, wall, cpu = _timed(lambda: module.evaluate(fake(), context))
        times["evaluate"].append((wall, cpu))

        def recorded() -> Any:
            with recording() as calls:
                returned = module.evaluate(fake(), context)
            return returned, calls
        (returned, calls), wall, cpu = _timed(recorded)
        times["evaluate, recorded"].append((wall, cpu))
        values = {k: float(v) for k, v in returned.items()}
        found, wall, cpu = _timed(functools.partial(intervals, values, calls, harness=harness))
        times["intervals"].append((wall, cpu))
    return times, values, found


def bench(assignment_id: str, runs: int) -> None:
    folder = BUILT_IN_ASSIGNMENTS / assignment_id
    assignment = load_assignment(folder, ceiling=Limits())
    seeds = dict(assignment.reproducibility.seeds)
    seeds.setdefault("public", 1)  # a harness that reads a seed the spec has not published yet
    context = HiddenContext(hidden_dir=folder / "hidden", seeds=seeds, work_bytes=1 << 20)
    for harness in assignment.harnesses:
        module = load_hidden_module(Path(folder / harness.path))
        times, values, found = _runs(module, lambda: FAKES[assignment_id](context), context,
                                     harness.name, runs)
        print(f"\n{assignment_id} / {harness.name}  (median of {runs}; wall s, CPU s)")
        for step, measured in times.items():
            print(f"  {step:<20} {statistics.median(w for w, _ in measured):7.3f} "
                  f"{statistics.median(c for _, c in measured):7.3f}")
        wall = [statistics.median(w for w, _ in times[step]) for step in times]
        cpu = [statistics.median(c for _, c in times[step]) for step in times]
        print(f"  {'added by intervals':<20} {wall[1] - wall[0] + wall[2]:7.3f} "
              f"{cpu[1] - cpu[0] + cpu[2]:7.3f}")
        for name, value in values.items():
            interval = found.get(name)
            shown = "none" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]"
            print(f"    {name:<26} {value:10.4f}  {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assignment", action="append", choices=sorted(FAKES))
    args = parser.parse_args()
    for assignment_id in args.assignment or sorted(FAKES):
        bench(assignment_id, args.runs)


if __name__ == "__main__":
    main()
