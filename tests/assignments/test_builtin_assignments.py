"""Every built-in assignment validates on this machine: schema, bundle hygiene, and each recorded
baseline re-graded to its recorded scores, with the starter bundle failing its hidden tests. The
libraries a built-in's environment offers load in its image under a candidate's limits."""

from __future__ import annotations

import json

import pytest

import sandbox
from grader.authoring import list_assignments, validate_assignment
from grader.environments import environment_image
from grader.intake import IntakeRules
from grader.settings import BUILT_IN_ASSIGNMENTS
from grader.spec import load_assignment, read_lock
from sandbox import Limits

BUILT_IN = [name for name, _ in list_assignments(BUILT_IN_ASSIGNMENTS, ceiling=Limits())]
WITH_ENVIRONMENT = [name for name in BUILT_IN if load_assignment(
    BUILT_IN_ASSIGNMENTS / name, ceiling=Limits()).environment is not None]

# Run in an environment's image with the lock's distribution names: imports every top-level
# module each of them installs (as importlib.metadata finds them), so a wheel that installs but
# cannot load (LightGBM's, without the system libgomp.so.1) fails here, not in a candidate's build.
IMPORT_ALL = """
import importlib, importlib.metadata, json, re, sys
found = {name: [] for name in sys.argv[1:]}
for module, dists in sorted(importlib.metadata.packages_distributions().items()):
    for dist in {re.sub(r"[-_.]+", "-", d).lower() for d in dists} & found.keys():
        if module.isidentifier():
            importlib.import_module(module)
            found[dist].append(module)
print(json.dumps(found))
"""


def test_the_built_in_assignments_are_there() -> None:
    assert {"rag_pipeline", "finetune_small", "fraud_detection"} <= set(BUILT_IN)


def test_each_built_in_offers_the_libraries_its_field_expects() -> None:
    offered = {name: {package.name for package in read_lock(BUILT_IN_ASSIGNMENTS / name).packages}
               for name in WITH_ENVIRONMENT}
    assert {"faiss-cpu", "bm25s"} <= offered["rag_pipeline"]
    assert "peft" in offered["finetune_small"]
    assert "xgboost-cpu" in offered["fraud_detection"]


@pytest.mark.docker
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("assignment_id", BUILT_IN)
def test_built_in_assignment_validates(assignment_id: str, runner_image: str) -> None:
    report = validate_assignment(BUILT_IN_ASSIGNMENTS / assignment_id, runner_image=runner_image,
                                 ceiling=Limits(), intake=IntakeRules())
    failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.docker
@pytest.mark.timeout(600)
@pytest.mark.parametrize("assignment_id", WITH_ENVIRONMENT)
def test_every_package_of_a_built_in_environment_imports_in_the_sandbox(
        assignment_id: str, runner_image: str) -> None:
    folder = BUILT_IN_ASSIGNMENTS / assignment_id
    assignment = load_assignment(folder, ceiling=Limits())
    locked = [package.name for package in read_lock(folder).packages]
    image = environment_image(assignment, folder, runner_image=runner_image)
    result = sandbox.run_command(["python3", "-c", IMPORT_ALL, *locked], image=image,
                                 limits=Limits(timeout=120))
    assert result.ok, f"{result.message}\n{result.stderr.text[-2000:]}"
    found = json.loads(result.stdout.text)
    assert all(found.values()), f"a locked distribution installs no importable module: {found}"
