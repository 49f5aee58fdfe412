"""Reference: Okapi BM25 over lowercase word tokens, in pure Python."""

import json
import math
import os
import re
from collections import Counter

K1, B = 1.2, 0.75
_index = None


def _tokens(text):
    return re.findall(r"\w+", text.lower())


def index(corpus_path, work_dir):
    with open(corpus_path) as lines:
        passages = [json.loads(line) for line in lines]
    lengths = [len(_tokens(p["text"])) for p in passages]
    postings = {}
    for passage in passages:
        for term, count in Counter(_tokens(passage["text"])).items():
            postings.setdefault(term, []).append([passage["id"], count])
    with open(os.path.join(work_dir, "index.json"), "w") as f:
        json.dump({"ids": [p["id"] for p in passages], "lengths": lengths,
                   "postings": postings}, f)


def load(work_dir):
    global _index
    with open(os.path.join(work_dir, "index.json")) as f:
        _index = json.load(f)
    _index["length"] = dict(zip(_index["ids"], _index["lengths"], strict=True))
    _index["average"] = sum(_index["lengths"]) / len(_index["lengths"])


def search(query, k):
    count = len(_index["ids"])
    scores = Counter()
    for term in set(_tokens(query)):
        postings = _index["postings"].get(term, [])
        idf = math.log(1 + (count - len(postings) + 0.5) / (len(postings) + 0.5))
        for doc, tf in postings:
            norm = K1 * (1 - B + B * _index["length"][doc] / _index["average"])
            scores[doc] += idf * tf * (K1 + 1) / (tf + norm)
    # Best first; ties by id so equal scores always come back in the same order. Passages that
    # match no query word fill the rest, so every answer holds k ids.
    ranked = sorted(scores, key=lambda doc: (-scores[doc], doc))
    ranked += [doc for doc in _index["ids"] if doc not in scores]
    return ranked[:k]
