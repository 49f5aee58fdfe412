"""``sandbox._limits``: sizes parse strictly, and an assignment can only tighten the limits."""

from __future__ import annotations

import pydantic
import pytest

from sandbox import Limits, parse_size
from sandbox._limits import GiB, MiB


@pytest.mark.parametrize(("text", "expected"), [
    ("512m", 512 * MiB),
    ("512M", 512 * MiB),
    ("2g", 2 * GiB),
    ("1GiB", GiB),
    ("1gb", GiB),
    ("64k", 64 * 1024),
    ("1.5k", 1536),
    ("100", 100),
    ("100b", 100),
    (" 8 m ", 8 * MiB),
    ("1t", 1024**4),
])
def test_parse_size_reads_docker_style_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "m", "-1m", "1e3", "1x", "12 34", "1mm", "0x10", "½g",
                                  "1,5g", "1 g b"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_parse_size_passes_non_strings_through_for_pydantic() -> None:
    assert parse_size(4096) == 4096
    assert parse_size(None) is None


@pytest.mark.parametrize("bad", ["0", 0, -1, "nonsense", 1.5e3j])
def test_limits_refuse_sizes_that_are_not_positive_byte_counts(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Limits(memory=bad)


def test_limits_are_frozen_and_forbid_unknown_fields() -> None:
    limits = Limits()
    with pytest.raises(pydantic.ValidationError):
        limits.memory = 1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        Limits(network="bridge")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        Limits(runtime="kata")  # type: ignore[arg-type]


def test_an_override_may_raise_the_isolation_but_never_lower_it() -> None:
    assert Limits().tightened(runtime="runsc").runtime == "runsc"
    assert Limits(runtime="runsc").tightened(runtime="runsc").runtime == "runsc"
    with pytest.raises(ValueError, match="runtime=runc is weaker isolation"):
        Limits(runtime="runsc").tightened(runtime="runc")


def test_the_host_pids_cgroup_is_the_limit_under_runc_and_a_budget_under_runsc() -> None:
    assert Limits(pids=64).host_pids == 64
    # gVisor: the guest's limit is RLIMIT_NPROC; the cgroup holds the sandbox kernel's threads.
    assert Limits(pids=64, runtime="runsc").host_pids > 64 * 8
    assert Limits(pids=256, runtime="runsc").host_pids > Limits(pids=64, runtime="runsc").host_pids


def test_tightened_lowers_limits_and_parses_sizes() -> None:
    base = Limits(memory="1g", timeout=60, cpus=2)
    tighter = base.tightened(memory="256m", timeout=5, cpus=0.5)
    assert (tighter.memory, tighter.timeout, tighter.cpus) == (256 * MiB, 5, 0.5)
    assert tighter.pids == base.pids  # untouched
    assert base.memory == GiB  # the original is unchanged
    assert base.tightened(memory="1g") == base  # equal is not a loosening


@pytest.mark.parametrize(("name", "value"), [
    ("memory", "2g"),
    ("memory", GiB + 1),
    ("timeout", 61),
    ("cpus", 2.5),
    ("pids", 257),
    ("open_files", 4096),
    ("file_size", "2g"),
    ("tmp_size", "2g"),
    ("tmp_inodes", 10**6),
    ("work_size", "3g"),
    ("work_inodes", 10**6),
    ("shm_size", "1g"),
    ("log_bytes", "2m"),
    ("output_bytes", "1g"),
])
def test_tightened_refuses_to_loosen_any_limit(name: str, value: object) -> None:
    base = Limits(memory="1g", timeout=60)
    with pytest.raises(ValueError, match="exceeds"):
        base.tightened(**{name: value})


def test_tightened_refuses_invalid_and_unknown_overrides() -> None:
    with pytest.raises(pydantic.ValidationError):
        Limits().tightened(memory="lots")
    with pytest.raises(pydantic.ValidationError):
        Limits().tightened(network="bridge")
    with pytest.raises(pydantic.ValidationError):
        Limits().tightened(timeout=0)


def test_threads_follow_the_cpu_quota() -> None:
    assert Limits(cpus=0.5).threads == 1
    assert Limits(cpus=2).threads == 2
