"""The environment block of assignment.yaml and its environment.lock: parsed, checked against each
other, and every mismatch a spec error that says to run `grader assignment lock ID`; and which
wheels a lock takes (those the runner image could install on x86-64 or aarch64, never CUDA)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.environments import _CUDA, _installable
from grader.spec import (
    LOCK_FILE,
    EnvironmentLock,
    EnvironmentSpec,
    LockedPackage,
    LockError,
    SpecError,
    load_assignment,
    logical_lines,
    parse_lock,
)
from tests.grader.test_spec import CEILING, EXAMPLE, write_assignment

HASH_A, HASH_B, HASH_C = "a" * 64, "b" * 64, "c" * 64
LOCK_TEXT = f"""\
# Written by `grader assignment lock rag_pipeline` from assignment.yaml's environment; do not edit.
# packages: rank-bm25 hnswlib==0.8.0
# runner-lock-sha256: {"d" * 64}
hnswlib==0.8.0 \\
    --hash=sha256:{HASH_A} \\
    --hash=sha256:{HASH_B}
Rank_BM25==0.2.2 \\
    --hash=sha256:{HASH_C}
"""


def _with_environment(packages: list[str]) -> dict[str, Any]:
    return {**EXAMPLE, "environment": {"packages": packages}}


def test_a_lock_parses_into_its_request_and_pins() -> None:
    lock = parse_lock(LOCK_TEXT)
    assert lock.requested == ("hnswlib==0.8.0", "rank-bm25")
    assert lock.runner_lock_sha256 == "d" * 64
    assert lock.packages == (LockedPackage("hnswlib", "0.8.0", (HASH_A, HASH_B)),
                             LockedPackage("rank-bm25", "0.2.2", (HASH_C,)))


def test_a_rendered_lock_reads_back_the_same() -> None:
    lock = parse_lock(LOCK_TEXT)
    assert parse_lock(lock.render("rag_pipeline")) == lock
    assert "rank-bm25==0.2.2 \\\n    --hash=sha256:" + HASH_C in lock.render("rag_pipeline")


@pytest.mark.parametrize(("text", "problem", "line"), [
    (LOCK_TEXT.replace(f"    --hash=sha256:{HASH_C}", "    --hash=md5:abc"), "--hash=sha256", 7),
    (LOCK_TEXT.replace("Rank_BM25==0.2.2", "rank-bm25>=0.2"), "is not name==version", 7),
    (LOCK_TEXT + "-e git+https://example.com/x.git\n", "is not name==version", 9),
    (LOCK_TEXT + f"hnswlib==0.8.1 --hash=sha256:{HASH_A}\n", "hnswlib is pinned twice", 9),
    ("\n".join(LOCK_TEXT.splitlines()[3:]), "header lines", 1),
    (LOCK_TEXT.replace("hnswlib==0.8.0 \\\n", "hnswlib==0.8.0\n"), "needs one or more", 4),
])
def test_a_malformed_lock_names_its_line(text: str, problem: str, line: int) -> None:
    with pytest.raises(LockError, match=problem) as caught:
        parse_lock(text)
    assert caught.value.line == line


def test_package_requests_are_normalized_and_checked() -> None:
    spec = EnvironmentSpec(packages=["Rank_BM25", "HNSWlib == 0.8.0"])
    assert spec.packages == ["rank-bm25", "hnswlib==0.8.0"]
    for bad, problem in (("numpy>=2", "pin an exact version"), ("peft[dev]", "without extras"),
                         ("a b", "not a package name")):
        with pytest.raises(ValueError, match=problem):
            EnvironmentSpec(packages=[bad])
    with pytest.raises(ValueError, match="'rank-bm25' is listed twice: keep one entry"):
        EnvironmentSpec(packages=["rank-bm25", "rank_bm25==0.2.2"])


def test_a_spec_with_an_environment_and_its_lock_loads(tmp_path: Path) -> None:
    folder = write_assignment(tmp_path, _with_environment(["hnswlib==0.8.0", "rank-bm25"]))
    (folder / LOCK_FILE).write_text(LOCK_TEXT)
    assignment = load_assignment(folder, ceiling=CEILING)
    assert assignment.environment == EnvironmentSpec(packages=["hnswlib==0.8.0", "rank-bm25"])


def test_no_environment_block_means_none(tmp_path: Path) -> None:
    assert load_assignment(write_assignment(tmp_path, EXAMPLE), ceiling=CEILING).environment is None


def _problems(folder: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_assignment(folder, ceiling=CEILING)
    return str(caught.value)


def test_an_environment_without_a_lock_says_to_lock(tmp_path: Path) -> None:
    folder = write_assignment(tmp_path, _with_environment(["rank-bm25"]))
    problems = _problems(folder)
    assert "environment: no environment.lock beside assignment.yaml" in problems
    assert "run `grader assignment lock rag_pipeline`" in problems


@pytest.mark.parametrize(("packages", "problem"), [
    (["rank-bm25"], "was written for hnswlib==0.8.0 rank-bm25, but environment.packages lists "
                    "rank-bm25"),
    (["hnswlib==0.8.0", "rank-bm25", "peft"], "but environment.packages lists hnswlib==0.8.0 "
                                              "peft rank-bm25"),
])
def test_a_lock_for_other_packages_is_stale(tmp_path: Path, packages: list[str],
                                           problem: str) -> None:
    folder = write_assignment(tmp_path, _with_environment(packages))
    (folder / LOCK_FILE).write_text(LOCK_TEXT)
    problems = _problems(folder)
    assert problem in problems
    assert "environment.packages" in problems.split(": ")[1]
    assert problems.endswith("run `grader assignment lock rag_pipeline`")


def test_a_lock_whose_pin_disagrees_with_the_spec_is_stale() -> None:
    lock = EnvironmentLock(requested=("hnswlib==0.8.0",), runner_lock_sha256="d" * 64,
                           packages=(LockedPackage("hnswlib", "0.7.0", (HASH_A,)),))
    assert lock.stale_for(EnvironmentSpec(packages=["hnswlib==0.8.0"])) == (
        "environment.lock pins hnswlib==0.7.0, but the spec asks for hnswlib==0.8.0")


def test_a_malformed_lock_is_a_spec_error_with_its_line(tmp_path: Path) -> None:
    folder = write_assignment(tmp_path, _with_environment(["hnswlib==0.8.0", "rank-bm25"]))
    (folder / LOCK_FILE).write_text(LOCK_TEXT.replace("Rank_BM25==0.2.2", "rank-bm25"))
    assert f"{folder / LOCK_FILE}:7: 'rank-bm25' is not name==version" in _problems(folder)


def test_a_lock_without_an_environment_block_is_refused(tmp_path: Path) -> None:
    folder = write_assignment(tmp_path, EXAMPLE)
    (folder / LOCK_FILE).write_text(LOCK_TEXT)
    assert "has no environment block" in _problems(folder)


# --- which wheels a lock takes hashes of ---------------------------------------------------------

@pytest.mark.parametrize(("filename", "taken"), [
    ("faiss_cpu-1.15.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
    ("faiss_cpu-1.15.1-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl", True),
    ("faiss_cpu-1.15.1-cp39-abi3-manylinux_2_28_x86_64.whl", True),  # stable ABI, older build
    ("rank_bm25-0.2.2-py3-none-any.whl", True),
    ("faiss_cpu-1.15.1-cp312-cp312-manylinux_2_28_x86_64.whl", False),  # another Python
    ("faiss_cpu-1.15.1-cp311-cp311-musllinux_1_2_x86_64.whl", False),  # the image is glibc
    ("faiss_cpu-1.15.1-cp311-cp311-macosx_14_0_arm64.whl", False),
    ("faiss_cpu-1.15.1-cp311-cp311-win_amd64.whl", False),
    ("faiss_cpu-1.15.0-cp311-cp311-manylinux_2_28_x86_64.whl", False),  # another version
    ("faiss_cpu-1.15.1.tar.gz", False),  # a source distribution is never built
])
def test_a_lock_takes_the_hashes_of_wheels_the_runner_image_can_install(filename: str,
                                                                       taken: bool) -> None:
    name = "rank-bm25" if filename.startswith("rank") else "faiss-cpu"
    version = "0.2.2" if name == "rank-bm25" else "1.15.1"
    assert _installable(filename, name, version) is taken


@pytest.mark.parametrize(("name", "cuda"), [
    ("nvidia-nccl-cu12", True), ("nvidia-cublas-cu12", True), ("cupy-cuda12x", True),
    ("faiss-cpu", False), ("xgboost-cpu", False), ("peft", False),
])
def test_cuda_packages_are_recognized(name: str, cuda: bool) -> None:
    assert bool(_CUDA.search(name)) is cuda


def test_logical_lines_join_as_pip_does() -> None:
    """A continued line joins the next; a line with a comment never continues (pip's rule), and
    a trailing backslash alone adds nothing."""
    text = "# header \\\nnumpy==2.4.6 \\\n    --hash=sha256:ab\n\nPyYAML==5.4  # kept \\\nx==1 \\\n"
    assert logical_lines(text) == [(1, "# header \\"), (2, "numpy==2.4.6 --hash=sha256:ab"),
                                   (5, "PyYAML==5.4  # kept \\"), (6, "x==1")]
