"""Reference: TF-IDF features and logistic regression, its C chosen on the dev split."""

import json
import os
import pickle

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

_model = None


def _read(path):
    with open(path) as lines:
        rows = [json.loads(line) for line in lines]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def _pipeline(c):
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                         LogisticRegression(C=c, max_iter=1000))


def train(train_path, dev_path, work_dir):
    texts, labels = _read(train_path)
    dev_texts, dev_labels = _read(dev_path)

    def dev_f1(c):
        predicted = _pipeline(c).fit(texts, labels).predict(dev_texts)
        return f1_score(dev_labels, predicted, average="macro")

    # One BLAS thread: the same result on every run, and faster than several on a busy host.
    with threadpool_limits(1):
        best = max([0.3, 1.0, 3.0, 10.0, 30.0], key=dev_f1)
        model = _pipeline(best).fit(texts + dev_texts, labels + dev_labels)
    with open(os.path.join(work_dir, "model.pkl"), "wb") as f:
        pickle.dump(model, f)


def load(work_dir):
    global _model
    with open(os.path.join(work_dir, "model.pkl"), "rb") as f:
        _model = pickle.load(f)


def predict(texts):
    if not texts:
        return []
    with threadpool_limits(1):
        return [str(label) for label in _model.predict(texts)]
