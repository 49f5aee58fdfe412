"""Baseline: word uni- and bigram TF-IDF with a logistic regression (scikit-learn, CPU, seconds)."""

import json
import os

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

_model = None


def _read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def train(train_path, dev_path, work_dir):
    rows = _read(train_path)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegression(C=10.0, max_iter=3000))
    model.fit([r["text"] for r in rows], [r["label"] for r in rows])
    joblib.dump(model, os.path.join(work_dir, "model.joblib"))


def load(work_dir):
    global _model
    _model = joblib.load(os.path.join(work_dir, "model.joblib"))


def predict(texts):
    if not texts:
        return []
    return [str(label) for label in _model.predict(texts)]


def predict_proba(texts):
    if not texts:
        return []
    labels = [str(label) for label in _model.classes_]
    return [dict(zip(labels, map(float, row), strict=True)) for row in _model.predict_proba(texts)]
