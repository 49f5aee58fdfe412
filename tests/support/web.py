"""What the web tests share: the starter's manual rubric, a second reviewer, and submissions
made to show signals (SIGNALLED) and similarity (COPIED, a RENAMED copy, a DIFFERENT one)."""

from __future__ import annotations

import io
import textwrap
import zipfile

SECOND_REVIEWER = "second@example.com"
# Appended to the starter scaffold's assignment.yaml: 4 + 3 manual points beside the automatic 100.
MANUAL_RUBRIC = """
manual_rubric:
  - id: readme
    title: README explains trade-offs
    levels:
      - {points: 0, description: No discussion of alternatives}
      - {points: 2, description: Names what was tried}
      - {points: 4, description: Weighs accuracy against cost with evidence}
  - id: structure
    title: Code is structured for production
    levels:
      - {points: 0, description: One long script}
      - {points: 1.5, description: Functions with clear names}
      - {points: 3, description: Modules with tests}
"""
MANUAL_MAX = 7.0
WEB_FAKE_GRADER = "support.web_fakes:grade_with_signals"


def grading_with_signals(env: dict[str, str]) -> dict[str, str]:
    """A service environment (kit.service_env) whose workers grade with
    web_fakes.grade_with_signals."""
    return {**env, "GRADER_WORKER_GRADER": WEB_FAKE_GRADER}


def zip_of(files: dict[str, str]) -> bytes:
    """A submission zip of these files (each dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


SIGNALLED = {
    "solution.py": '''
        # score: 75
        # own-passed: 5
        # own-failed: 1
        import os
        import lightgbm


        def train(train_path: str, work_dir: str) -> None:
            """Fit and save."""
            return None


        def predict(texts):
            return ["short" for _ in texts]
        ''',
    "README.md": "# My solution\n\nWe tried a length threshold against a bag of words.\n"
                 "Run `python solution.py --fast` to train.\n"
                 "Accuracy 0.91 on the dev split.\n",
    "tests/test_solution.py": "def test_it():\n    assert True\n",
}


COPIED = '''
    # score: 55
    import json


    def train(train_path, work_dir):
        rows = [json.loads(line) for line in open(train_path)]
        lengths = sorted(len(row["text"]) for row in rows)
        middle = lengths[len(lengths) // 2]
        with open(work_dir + "/model.json", "w") as out:
            json.dump({"threshold": middle, "count": len(rows)}, out)


    def load(work_dir):
        global THRESHOLD
        with open(work_dir + "/model.json") as source:
            THRESHOLD = json.load(source)["threshold"]


    def predict(texts):
        return ["long" if len(text) > THRESHOLD else "short" for text in texts]
    '''
RENAMED = (COPIED.replace("rows", "examples").replace("middle", "cut").replace("lengths", "sizes")
           .replace("# score: 55", "# score: 56"))
DIFFERENT = '''
    # score: 20
    def train(train_path, work_dir):
        pass


    def load(work_dir):
        pass


    def predict(texts):
        out = []
        for t in texts:
            out.append("short")
        return out
    '''
