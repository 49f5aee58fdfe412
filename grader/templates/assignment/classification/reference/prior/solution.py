"""Baseline: the macro-F1 floor. Guesses each text's label from a hash of it, in the shares the
labels have in training.

It learns nothing of the task but the label prior. Guessing in proportion to the labels' shares
is the guess that earns the most macro-F1 (about the mean share, 1/5 here, where always answering
the most common label earns about 0.12), so macro-F1 anchors 0 here: guessing earns nothing. The
same text always gets the same label, alone or in any batch.
"""

import hashlib
import json
import os
from bisect import bisect_right
from collections import Counter
from itertools import accumulate

_labels = []
_bounds = []


def train(train_path, dev_path, work_dir):
    with open(train_path) as lines:
        counts = Counter(json.loads(line)["label"] for line in lines)
    labels = sorted(counts)
    shares = [counts[label] / sum(counts.values()) for label in labels]
    with open(os.path.join(work_dir, "prior.json"), "w") as f:
        json.dump({"labels": labels, "shares": shares}, f)


def load(work_dir):
    global _labels, _bounds
    with open(os.path.join(work_dir, "prior.json")) as f:
        prior = json.load(f)
    _labels, _bounds = prior["labels"], list(accumulate(prior["shares"]))


def _label(text):
    # surrogatepass: a lone surrogate that came through JSON still hashes instead of raising.
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return _labels[min(bisect_right(_bounds, unit), len(_labels) - 1)]


def predict(texts):
    return [_label(text) for text in texts]
