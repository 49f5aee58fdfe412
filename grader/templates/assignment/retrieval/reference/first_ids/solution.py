"""Baseline: the trivial floor. Ignores the query and returns the corpus's first k ids."""

import json
import os

_ids = None


def index(corpus_path, work_dir):
    with open(corpus_path) as lines:
        ids = [json.loads(line)["id"] for line in lines]
    with open(os.path.join(work_dir, "ids.json"), "w") as f:
        json.dump(ids, f)


def load(work_dir):
    global _ids
    with open(os.path.join(work_dir, "ids.json")) as f:
        _ids = json.load(f)


def search(query, k):
    return _ids[:k]
