"""Floor: every transaction gets the training fraud rate. Perfectly calibrated on average, useless
for ranking."""

import json
import os

_rate = None


def train(train_path, dev_path, work_dir):
    with open(train_path) as lines:
        labels = [json.loads(line)["is_fraud"] for line in lines]
    with open(os.path.join(work_dir, "rate.json"), "w") as f:
        json.dump({"rate": sum(labels) / len(labels)}, f)


def load(work_dir):
    global _rate
    with open(os.path.join(work_dir, "rate.json")) as f:
        _rate = json.load(f)["rate"]


def predict_proba(rows):
    return [_rate for _ in rows]


def validate_input(row):
    return []
