"""Floor: the same first pages of the corpus for every question, and no answer.

Anchors 0 points on the rubric's scales: what any submission earns without retrieving anything.
"""

import json
import os

_ids = []


def index(corpus_path: str, work_dir: str) -> None:
    with open(corpus_path, encoding="utf-8") as f:
        ids = [json.loads(line)["id"] for line in f]
    with open(os.path.join(work_dir, "ids.json"), "w", encoding="utf-8") as f:
        json.dump(ids, f)


def load(work_dir: str) -> None:
    global _ids
    with open(os.path.join(work_dir, "ids.json"), encoding="utf-8") as f:
        _ids = json.load(f)


def search(query: str, k: int) -> list:
    return _ids[:k]


def answer(query: str) -> dict:
    return {"answer": "", "citations": []}
