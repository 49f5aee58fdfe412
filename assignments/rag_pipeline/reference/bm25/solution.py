"""Baseline: Okapi BM25 over whole pages (title + text), in plain Python and numpy.

The plain lexical recipe: no chunking, no use of the header fields, no dense model. Its answer is
the sentence of the top page that shares the most (idf-weighted) words with the question.
"""

import json
import math
import os
import re
from collections import Counter

import numpy as np

K1, B = 1.2, 0.75
_TOKEN = re.compile(r"\w+", re.UNICODE)

_index = None


def _tokens(text):
    return _TOKEN.findall(text.lower())


def index(corpus_path: str, work_dir: str) -> None:
    ids, texts, lengths = [], [], []
    postings = {}
    with open(corpus_path, encoding="utf-8") as f:
        for row in map(json.loads, f):
            doc = len(ids)
            ids.append(row["id"])
            texts.append(row["text"])
            tokens = _tokens(row["title"] + "\n" + row["text"])
            lengths.append(len(tokens))
            for term, tf in Counter(tokens).items():
                postings.setdefault(term, []).append((doc, tf))
    with open(os.path.join(work_dir, "bm25.json"), "w", encoding="utf-8") as f:
        json.dump({"ids": ids, "texts": texts, "lengths": lengths, "postings": postings}, f)


def load(work_dir: str) -> None:
    global _index
    with open(os.path.join(work_dir, "bm25.json"), encoding="utf-8") as f:
        data = json.load(f)
    lengths = np.asarray(data["lengths"], dtype=np.float64)
    n = len(data["ids"])
    postings = {}
    for term, entries in data["postings"].items():
        docs = np.fromiter((d for d, _ in entries), dtype=np.int64, count=len(entries))
        tfs = np.fromiter((t for _, t in entries), dtype=np.float64, count=len(entries))
        idf = math.log(1 + (n - len(entries) + 0.5) / (len(entries) + 0.5))
        postings[term] = (docs, tfs, idf)
    _index = {"ids": data["ids"], "texts": data["texts"], "postings": postings,
              "norm": K1 * (1 - B + B * lengths / max(lengths.mean(), 1.0))}


def _scores(query):
    scores = np.zeros(len(_index["ids"]))
    for term in set(_tokens(query)):
        entry = _index["postings"].get(term)
        if entry is None:
            continue
        docs, tfs, idf = entry
        scores[docs] += idf * tfs * (K1 + 1) / (tfs + _index["norm"][docs])
    return scores


def search(query: str, k: int) -> list:
    scores = _scores(query)
    k = min(k, len(scores))
    # Stable sort: equal scores keep corpus order, so every query returns exactly k ids.
    order = np.argsort(-scores, kind="stable")[:k]
    return [_index["ids"][i] for i in order]


def _sentences(text):
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z][\w ]*: ", line):
            continue
        yield from (s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())


def answer(query: str) -> dict:
    scores = _scores(query)
    best = int(np.argmax(scores))
    weights = {t: _index["postings"][t][2] for t in set(_tokens(query))
               if t in _index["postings"]}
    sentence = max(_sentences(_index["texts"][best]),
                   key=lambda s: sum(weights.get(t, 0.0) for t in set(_tokens(s))), default="")
    return {"answer": sentence, "citations": [_index["ids"][best]]}
