"""Reference: learn the word-count threshold that best separates the labels."""

import json
import os

_threshold = None


def train(train_path, work_dir):
    with open(train_path) as lines:
        rows = [json.loads(line) for line in lines]
    best = max(range(1, 20), key=lambda t: sum(
        (len(r["text"].split()) > t) == (r["label"] == "long") for r in rows))
    with open(os.path.join(work_dir, "model.json"), "w") as f:
        json.dump({"threshold": best}, f)


def load(work_dir):
    global _threshold
    with open(os.path.join(work_dir, "model.json")) as f:
        _threshold = json.load(f)["threshold"]


def predict(texts):
    return ["long" if len(t.split()) > _threshold else "short" for t in texts]
