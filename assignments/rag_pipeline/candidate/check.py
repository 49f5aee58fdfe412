"""Run your solution the way the grader does, on the public dev questions, and print the metrics.

    python check.py                  # build into a temporary folder, then serve the dev questions
    python check.py --work my_index  # keep the index in my_index (reused if it already exists)
    python check.py --show 5         # also print the 5 worst-ranked questions

The grader does the same on hidden questions about other facts of the same knowledge base, with the
build and serve phases in separate containers (see README.md). The metric code below is a copy of
the grader's definitions.
"""

import argparse
import json
import math
import re
import string
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
K = 10
PUNCTUATION = frozenset(string.punctuation)


# --- metrics (the grader's definitions) ---------------------------------------------------------

def _top(ranking, k):
    return list(dict.fromkeys(ranking))[:k]


def recall(labels, ranking, k):
    relevant = {d for d, label in labels.items() if label >= 2}
    return sum(d in relevant for d in _top(ranking, k)) / len(relevant) if relevant else 0.0


def reciprocal_rank(labels, ranking, k):
    for rank, doc in enumerate(_top(ranking, k), start=1):
        if labels.get(doc, 0) >= 2:
            return 1.0 / rank
    return 0.0


def ndcg(labels, ranking, k):
    def dcg(gains):
        return sum(g / math.log2(i + 1) for i, g in enumerate(gains, start=1))
    ideal = dcg(sorted(labels.values(), reverse=True)[:k])
    return dcg(labels.get(d, 0) for d in _top(ranking, k)) / ideal if ideal else 0.0


def normalize(text):
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def token_f1(prediction, gold):
    p, g = normalize(prediction).split(), normalize(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, rec = common / len(p), common / len(g)
    return 2 * precision * rec / (precision + rec)


def states(text, gold):
    needle, hay = normalize(gold).split(), normalize(text).split()
    return bool(needle) and any(hay[i:i + len(needle)] == needle
                                for i in range(len(hay) - len(needle) + 1))


def citation_support(citations, gold, pages):
    cited = list(dict.fromkeys(citations))
    if not cited:
        return 0.0
    return sum(c in pages and states(pages[c], gold) for c in cited) / len(cited)


def percentile(values, q):
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the run -------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep the index here (reused if present)")
    parser.add_argument("--show", type=int, default=0, help="print the N worst questions")
    args = parser.parse_args()

    import solution

    corpus = DATA / "corpus.jsonl"
    pages = {}
    with corpus.open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            pages[row["id"]] = f"{row['title']}\n{row['text']}"
    with (DATA / "dev_questions.jsonl").open(encoding="utf-8") as f:
        questions = [json.loads(line) for line in f]

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        if args.work is None or not any(work.iterdir() if work.exists() else ()):
            work.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            solution.index(str(corpus), str(work))
            print(f"build: index() took {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        solution.load(str(work))
        print(f"serve: load() took {time.perf_counter() - started:.1f} s")

        rows, search_times, answer_times = [], [], []
        for q in questions:
            started = time.perf_counter()
            ranking = solution.search(q["question"], K)
            search_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = solution.answer(q["question"])
            answer_times.append(time.perf_counter() - started)
            assert len(ranking) == min(K, len(pages)), "search() must return exactly k ids"
            assert len(set(ranking)) == len(ranking), "search() returned an id twice"
            assert set(result) >= {"answer", "citations"}, "answer() must return both keys"
            labels = q["relevance"]
            rows.append({
                "question": q, "ranking": ranking, "result": result,
                "recall_at_5": recall(labels, ranking, 5),
                "recall_at_10": recall(labels, ranking, K),
                "mrr_at_10": reciprocal_rank(labels, ranking, K),
                "ndcg_at_10": ndcg(labels, ranking, K),
                "token_f1": token_f1(result["answer"], q["answer"]),
                "exact_match": float(normalize(result["answer"]) == normalize(q["answer"])),
                "citation_support": citation_support(result["citations"], q["answer"], pages),
            })

    print(f"\n{len(rows)} dev questions")
    for metric in ("recall_at_5", "recall_at_10", "mrr_at_10", "ndcg_at_10", "token_f1",
                   "exact_match", "citation_support"):
        print(f"  {metric:<17} {sum(r[metric] for r in rows) / len(rows):.3f}")
    for name, times in (("search", search_times), ("answer", answer_times)):
        print(f"  {name}_p50_ms     {percentile(times, 50) * 1000:8.1f}")
        print(f"  {name}_p95_ms     {percentile(times, 95) * 1000:8.1f}")

    for row in sorted(rows, key=lambda r: (r["ndcg_at_10"], r["token_f1"]))[:args.show]:
        q = row["question"]
        best = [d for d, label in q["relevance"].items() if label == 2]
        print(f"\n{q['id']}: {q['question']}\n  gold answer {q['answer']!r}, states it: {best}"
              f"\n  your top 5: {row['ranking'][:5]}\n  your answer: {row['result']!r}")


if __name__ == "__main__":
    main()
