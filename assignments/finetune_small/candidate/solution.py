"""Your solution. Keep these signatures; add any modules you need beside this file.

The grader calls train() once in a build container, then load() and predict() (and predict_proba(),
if you keep it) in fresh serve containers that see only what train() saved in work_dir.
"""

LABELS = [
    "refund_request", "shipping_delay", "password_reset", "billing_dispute", "cancellation",
    "bug_report", "account_locked", "plan_change", "invoice_copy", "feature_request",
    "address_change", "data_export", "privacy_request", "payment_update",
]


def train(train_path: str, dev_path: str, work_dir: str) -> None:
    """Learn from the labelled tickets and save your model under work_dir.

    train_path and dev_path are JSON lines files of {"id", "text", "label"}. work_dir is the only
    writable place that is kept; it is mounted read-only when load() runs.
    """
    raise NotImplementedError


def load(work_dir: str) -> None:
    """Load what train() saved in work_dir. Called once, before any prediction."""
    raise NotImplementedError


def predict(texts: list[str]) -> list[str]:
    """Return one label from LABELS per text, in the same order."""
    raise NotImplementedError


def predict_proba(texts: list[str]) -> list[dict[str, float]]:
    """Optional: for each text, a {label: probability} map whose values sum to 1.

    Delete this function if you do not provide probabilities.
    """
    raise NotImplementedError
