"""Baseline: the textbook recipe for imbalanced tabular data. The row's flat columns as they come
(numbers imputed and scaled, categories one-hot, the hour parsed from the timestamp) and a logistic
regression with class_weight="balanced". No behavioural features, and the re-weighting inflates
the probabilities."""

import json
import os
import pickle

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

NUMERIC = ["amount", "lat", "lon", "home_lat", "home_lon", "account_age_days", "avg_amount_90d",
           "prev_lat", "prev_lon", "txn_count_1h", "txn_count_24h", "amount_sum_24h", "hour"]
CATEGORICAL = ["merchant_category", "channel", "country", "home_country"]
REQUIRED = NUMERIC[:-1] + CATEGORICAL + ["timestamp"]

# One thread: small batches gain nothing from more, and OpenMP threads that spin while the
# container's CPU quota is contended make training and scoring many times slower.
threadpool_limits(1)

_model = None


def _frame(rows):
    frame = pd.DataFrame(rows, columns=REQUIRED)
    frame["hour"] = pd.to_datetime(frame["timestamp"]).dt.hour
    frame[NUMERIC] = frame[NUMERIC].astype(float)
    return frame


def train(train_path, dev_path, work_dir):
    with open(train_path) as lines:
        rows = [json.loads(line) for line in lines]
    model = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]),
        LogisticRegression(class_weight="balanced", max_iter=2000),
    )
    model.fit(_frame(rows), np.array([r["is_fraud"] for r in rows]))
    with open(os.path.join(work_dir, "model.pkl"), "wb") as f:
        pickle.dump(model, f)


def load(work_dir):
    global _model
    with open(os.path.join(work_dir, "model.pkl"), "rb") as f:
        _model = pickle.load(f)


def predict_proba(rows):
    if not rows:
        return []
    return [float(p) for p in _model.predict_proba(_frame(rows))[:, 1]]


def validate_input(row):
    """Only checks that the columns the model reads are there."""
    return [f"{key}: missing" for key in REQUIRED if key not in row]
