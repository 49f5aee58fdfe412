"""Assignment environments against the real engine and the real package index: lock, build,
import, cache, hardening, a broken lock, prune, validate.

One environment (the blank scaffold plus rank-bm25, a pure-Python wheel of a few KB whose only
dependency, numpy, the runner image already has) is locked and built once for the module.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import docker
import docker.errors
import pytest
from fastapi.testclient import TestClient
from support.kit import solution_zip

import sandbox
from grader import environment_fit
from grader.authoring import new_assignment, zip_folder
from grader.environment_fit import ProvidedModules, provided_by
from grader.environments import lock_environment, unused_environment_images
from grader.jobs import grading
from grader.jobs.grading import GradingRequest, grade_request
from grader.preflight import PreflightResult, PreflightUnavailable
from grader.report import Report
from grader.settings import Settings, get_settings
from grader.spec import LOCK_FILE, EnvironmentSpec, load_assignment, parse_lock, request_name
from grader.store import create_invite
from grader.web import _candidate, create_app
from sandbox._doctor import environment_probes, run_doctor

pytestmark = pytest.mark.docker

PACKAGE = "rank-bm25==0.2.2"
IMPORT = "import rank_bm25, importlib.metadata as m; print(m.version('rank-bm25'))"


def grader(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_ASSIGNMENTS_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, env=env, timeout=900, check=False)


def _add_environment(folder: Path, packages: list[str]) -> None:
    spec = folder / "assignment.yaml"
    spec.write_text(spec.read_text() + f"\nenvironment:\n  packages: {json.dumps(packages)}\n")


def _remove_image(tag: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker.from_env().images.remove(tag, force=True)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, runner_image: str) -> Iterator[Path]:
    """An assignments folder holding `demo` with an environment, locked and built (by the CLI,
    as an author would); the images the module builds are removed afterwards."""
    root = tmp_path_factory.mktemp("assignments")
    folder = new_assignment(root, "demo")
    _add_environment(folder, [PACKAGE])
    # The reference needs the environment: graded in the runner image it would fail to import.
    solution = folder / "reference" / "solution" / "solution.py"
    solution.write_text("import rank_bm25  # noqa: F401\n" + solution.read_text())
    locked = grader("assignment", "lock", "demo", root=root)
    assert locked.returncode == 0, locked.stderr
    tag = sandbox.derived_tag(sandbox.image_digest(runner_image) or "",
                              (folder / LOCK_FILE).read_text())
    _remove_image(tag)  # left by an interrupted earlier run: this module measures a real build
    built = grader("sandbox", "build", "--assignment", "demo", "--json", root=root)
    assert built.returncode == 0, built.stderr
    printed = json.loads(built.stdout)
    assert (printed["tag"], printed["built"]) == (tag, True)
    yield root
    _remove_image(tag)


@pytest.fixture(scope="module")
def lock_text(root: Path) -> str:
    return (root / "demo" / LOCK_FILE).read_text()


@pytest.fixture(scope="module")
def image(root: Path, lock_text: str, runner_image: str) -> str:
    return sandbox.derived_tag(sandbox.image_digest(runner_image) or "", lock_text)


def test_the_lock_pins_only_what_the_runner_lacks_with_hashes(lock_text: str) -> None:
    lock = parse_lock(lock_text)
    assert lock.requested == (PACKAGE,)
    # numpy, rank-bm25's dependency, is the runner image's and stays its own.
    assert [(p.name, p.version) for p in lock.packages] == [("rank-bm25", "0.2.2")]
    assert lock.packages[0].hashes and all(len(h) == 64 for h in lock.packages[0].hashes)


def test_the_package_imports_in_the_environment_and_not_in_the_runner(root: Path) -> None:
    inside = grader("sandbox", "run", "--assignment", "demo", "--", "python3", "-c", IMPORT,
                    root=root)
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == "0.2.2"
    plain = grader("sandbox", "run", "--", "python3", "-c", IMPORT, root=root)
    assert plain.returncode == 1
    assert "No module named 'rank_bm25'" in plain.stdout + plain.stderr


def test_a_grading_runs_in_the_environment_and_cites_its_image(root: Path, image: str,
                                                               tmp_path: Path) -> None:
    archive = zip_folder(root / "demo" / "reference" / "solution", tmp_path / "s.zip")
    done = grader("grade", "-a", "demo", str(archive), "--out", str(tmp_path / "out"), "--json",
                  root=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"] == 100.0
    assert report["reproduction"]["runner_image"] == image
    assert report["reproduction"]["runner_image_digest"] == sandbox.image_digest(image)


def test_an_unchanged_lock_is_a_cache_hit_and_a_changed_lock_one_new_image(
        lock_text: str, image: str, runner_image: str, tmp_path: Path) -> None:
    before = sandbox.image_digest(image)
    log: list[str] = []
    again = sandbox.ensure_derived_image(base_image=runner_image, lock_text=lock_text,
                                         log=log.append)
    assert (again.tag, again.digest, again.built, log) == (image, before, False, [])

    older = lock_environment("demo", tmp_path, EnvironmentSpec(packages=["rank-bm25==0.2.1"]),
                             runner_image=runner_image)
    # Two gradings needing the new image at once: one builds it, the other waits and finds it.
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: sandbox.ensure_derived_image(
            base_image=runner_image, lock_text=(tmp_path / LOCK_FILE).read_text(),
            log=log.append), range(2)))
    changed = next(b for b in both if b.built)
    try:
        assert [(p.name, p.version) for p in older.packages] == [("rank-bm25", "0.2.1")]
        assert sorted(b.built for b in both) == [False, True]
        assert {b.digest for b in both} == {changed.digest}
        assert changed.tag != image and changed.digest != before
        assert sum("pip install" in line for line in log) == 1
        # The runner image's layers are shared, not copied: every one of them is the new
        # image's too.
        client = docker.from_env()
        runner_layers = client.images.get(runner_image).attrs["RootFS"]["Layers"]
        new_layers = client.images.get(changed.tag).attrs["RootFS"]["Layers"]
        assert new_layers[:len(runner_layers)] == runner_layers
        assert len(new_layers) > len(runner_layers)
    finally:
        _remove_image(changed.tag)


def test_the_network_stays_off_and_the_hardening_holds_in_the_environment(image: str) -> None:
    report = run_doctor(image=image)
    assert report.ok, [p for p in report.probes if not p.ok]
    assert {"no_network", "non_root_user", "read_only_root", "host_seccomp",
            "memory_limit_kills"} <= {
        p.name for p in report.probes}


def test_the_doctor_checks_the_environment_against_its_lock(image: str, lock_text: str) -> None:
    lock = parse_lock(lock_text)
    pins = {p.name: p.version for p in lock.packages}
    requested = [request_name(r) for r in lock.requested]
    probes = environment_probes(image=image, lock_text=lock_text, pins=pins, requested=requested)
    assert all(p.ok for p in probes), probes
    assert "imported rank_bm25" in {p.name: p.detail for p in probes}["imports"]
    wrong = environment_probes(image=image, lock_text=lock_text + "# edited\n",
                               pins={**pins, "rank-bm25": "0.2.1"}, requested=["hnswlib"])
    failed = {p.name: p.detail for p in wrong if not p.ok}
    assert set(failed) == {"lock_label", "lock_inside", "versions", "imports"}
    assert failed["versions"] == "rank-bm25 0.2.2 (locked 0.2.1)"
    assert failed["imports"] == "hnswlib: not installed"


@pytest.mark.parametrize(("broken", "pip_says"), [
    (lambda text: text.replace(text.split("--hash=sha256:")[1][:64], "0" * 64),
     "DO NOT MATCH THE HASHES"),
    (lambda text: text + f"rank-bm25-extras==99.0.0 --hash=sha256:{'0' * 64}\n",
     "No matching distribution found for rank-bm25-extras==99.0.0"),
])
def test_a_broken_lock_is_the_graders_error_with_pips_output(
        root: Path, tmp_path: Path, broken: Callable[[str], str], pip_says: str) -> None:
    copy = tmp_path / "assignments"
    shutil.copytree(root / "demo", copy / "demo")
    (copy / "demo" / LOCK_FILE).write_text(broken((root / "demo" / LOCK_FILE).read_text()))
    archive = zip_folder(root / "demo" / "reference" / "solution", tmp_path / "s.zip")
    done = grader("grade", "-a", "demo", str(archive), "--out", str(tmp_path / "out"),
                  root=copy)
    assert done.returncode == 3, done.stderr  # the grader's own error, never a graded report
    assert "grading could not run: building ml-grader-env:" in done.stderr
    assert pip_says in done.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_prune_picks_only_environment_images_no_assignment_uses(
        root: Path, image: str, runner_image: str, tmp_path: Path) -> None:
    stale = sandbox.ensure_derived_image(
        base_image=runner_image, lock_text=(root / "demo" / LOCK_FILE).read_text() + "# old\n")
    try:
        settings = get_settings()
        demo = [(load_assignment(root / "demo", ceiling=settings.limits), root / "demo")]
        unused = {tag for i in unused_environment_images(demo, runner_image=runner_image)
                  for tag in i.tags}
        assert stale.tag in unused
        assert image not in unused and runner_image not in unused
        with pytest.raises(sandbox.ImageError, match="not an environment image"):
            sandbox.remove_derived_image(runner_image)
        sandbox.remove_derived_image(stale.digest)
        assert sandbox.image_digest(stale.tag) is None
    finally:
        _remove_image(stale.tag)


def test_validate_passes_for_an_assignment_with_an_environment(root: Path) -> None:
    done = grader("assignment", "validate", "demo", "--json", root=root)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert {"name": "environment", "ok": True, "detail": "imported rank_bm25",
            "severity": "error"} in report["checks"]


class _Graded(Exception):
    """Stands in for the pipeline: raised with the arguments a grading would have run with."""


def test_a_grading_may_import_ahead_what_its_environment_adds(
        root: Path, image: str, runner_image: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def pipeline(**arguments: object) -> Report:
        raise _Graded(arguments)

    monkeypatch.setattr(grading, "grade_directory", pipeline)
    monkeypatch.setattr(grading, "grade_zip", pipeline)
    settings = Settings(assignments_dir=root, data_dir=tmp_path, runner_image=runner_image,
                        demo=True)
    request = GradingRequest(job_id=1, attempt=1, submission_id=1, assignment_id="demo",
                             submission_dir=tmp_path, sha256="0" * 64,
                             result_path=tmp_path / "result.json", settings={})
    for baseline in (None, "reference"):
        with pytest.raises(_Graded) as graded:
            grade_request(request.model_copy(update={"baseline": baseline}), settings)
        # rank-bm25 installs the module rank_bm25, as the environment's image reports it
        assert graded.value.args[0]["preload"] == (*sandbox.RUNNER_MODULES, "rank_bm25")
    with pytest.raises(_Graded) as graded:
        grade_request(request, settings.model_copy(update={"warm_sessions": False}))
    assert graded.value.args[0]["preload"] == ()


def test_what_an_image_provides_is_kept_on_disk_per_digest_and_a_corrupt_copy_is_asked_again(
        image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    run_command = sandbox.run_command

    def counted(*args: object, **kwargs: object) -> sandbox.RunResult:
        asked.append(str(kwargs["image"]))
        return run_command(*args, **kwargs)  # type: ignore[arg-type]

    def in_a_fresh_process() -> ProvidedModules:
        monkeypatch.setattr(environment_fit, "_provided", {})
        return provided_by(image, data_dir=tmp_path)

    monkeypatch.setattr(sandbox, "run_command", counted)
    first = in_a_fresh_process()
    assert first.modules["rank_bm25"] == ["rank-bm25"]
    assert asked == [sandbox.image_digest(image)]
    assert in_a_fresh_process() == first
    assert len(asked) == 1  # read from the data directory, no container started
    (kept,) = (tmp_path / environment_fit.PROVIDED_CACHE_DIR).iterdir()
    assert kept.name == f"{first.image_digest.removeprefix('sha256:')}.json"
    kept.write_text(kept.read_text()[:100])  # cut short
    assert in_a_fresh_process() == first
    assert len(asked) == 2
    assert ProvidedModules.model_validate_json(kept.read_text()) == first  # rewritten whole


def test_a_preflight_may_import_ahead_what_its_environment_adds(
        root: Path, image: str, runner_image: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def preflight(**arguments: object) -> PreflightResult:
        seen.update(arguments)
        raise PreflightUnavailable("stopped by the test")

    monkeypatch.setattr(_candidate, "run_preflight", preflight)
    settings = Settings(assignments_dir=root, data_dir=tmp_path / "data", demo=True,
                        runner_image=runner_image,
                        database_url=f"sqlite:///{tmp_path / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.service.db.write() as session:
            _, token = create_invite(session, assignment_id="demo", cohort="env", label="",
                                     allowance=1, valid_for=timedelta(days=1), created_by="test")
        answer = client.post(f"/api/candidate/{token}/preflight", content=solution_zip(),
                             headers={"content-type": "application/zip"})
    assert answer.status_code == 503, answer.text
    assert seen["preload"] == (*sandbox.RUNNER_MODULES, "rank_bm25")
