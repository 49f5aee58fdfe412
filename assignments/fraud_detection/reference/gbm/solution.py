"""Baseline: the default recipe with a stronger model. The row's flat columns as they come (the
hour parsed from the timestamp, categories as native categoricals), scikit-learn's histogram
gradient boosting with its default settings. No behavioural features."""

import json
import os
import pickle

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

NUMERIC = ["amount", "lat", "lon", "home_lat", "home_lon", "account_age_days", "avg_amount_90d",
           "prev_lat", "prev_lon", "txn_count_1h", "txn_count_24h", "amount_sum_24h", "hour"]
CATEGORICAL = ["merchant_category", "channel", "country", "home_country"]
REQUIRED = NUMERIC[:-1] + CATEGORICAL + ["timestamp"]

# One thread: small batches gain nothing from more, and OpenMP threads that spin while the
# container's CPU quota is contended make training and scoring many times slower.
threadpool_limits(1)

_model = None


def _frame(rows, levels):
    frame = pd.DataFrame(rows, columns=REQUIRED)
    frame["hour"] = pd.to_datetime(frame["timestamp"]).dt.hour
    out = frame[NUMERIC].astype(float)
    for column in CATEGORICAL:  # codes learnt in training; unseen values become missing
        out[column] = pd.Categorical(frame[column], categories=levels[column]).codes
        out[column] = out[column].where(out[column] >= 0, np.nan)
    return out


def train(train_path, dev_path, work_dir):
    with open(train_path) as lines:
        rows = [json.loads(line) for line in lines]
    levels = {c: sorted({r[c] for r in rows}) for c in CATEGORICAL}
    x = _frame(rows, levels)
    model = HistGradientBoostingClassifier(
        categorical_features=[x.columns.get_loc(c) for c in CATEGORICAL], random_state=0)
    model.fit(x, np.array([r["is_fraud"] for r in rows]))
    with open(os.path.join(work_dir, "model.pkl"), "wb") as f:
        pickle.dump({"model": model, "levels": levels}, f)


def load(work_dir):
    global _model
    with open(os.path.join(work_dir, "model.pkl"), "rb") as f:
        _model = pickle.load(f)


def predict_proba(rows):
    if not rows:
        return []
    x = _frame(rows, _model["levels"])
    return [float(p) for p in _model["model"].predict_proba(x)[:, 1]]


def validate_input(row):
    """Only checks that the columns the model reads are there."""
    return [f"{key}: missing" for key in REQUIRED if key not in row]
