"""Your solution. Keep these signatures; add any modules you need beside this file.

The grader imports this module in two separate containers: once to call train(), then, in a fresh
container where work_dir is read-only, to call load() once and predict_proba() / validate_input()
as often as it likes. Arguments and results are plain JSON values (dicts, lists, str, float, int,
bool, None). See README.md for the row format and the rules.
"""


def train(train_path: str, dev_path: str, work_dir: str) -> None:
    """Fit your model on train_path (and dev_path, if you like) and save it under work_dir.

    Both paths are JSON-lines files of transaction rows with an `is_fraud` label (0 or 1);
    dev_path covers the month after train_path. No network; work_dir is the only place you can
    write that is kept.
    """
    raise NotImplementedError


def load(work_dir: str) -> None:
    """Load what train() saved in work_dir (read-only now). Called once before any scoring."""
    raise NotImplementedError


def predict_proba(rows: list[dict]) -> list[float]:
    """Return the probability of fraud, in [0, 1], for each valid row, in order.

    A batch holds up to 200 rows and never carries the label. A row's probability must not depend
    on the other rows of the batch, and the same rows must always get the same probabilities.
    """
    raise NotImplementedError


def validate_input(row: dict) -> list[str]:
    """Return the problems found in one row: an empty list when it is valid.

    Each problem is a short sentence that names the field it is about, for example
    "amount: expected a number greater than 0, got -3". Never raise on a malformed row.
    """
    raise NotImplementedError
