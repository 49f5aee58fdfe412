"""``sandbox._doctor``: every hardening probe holds on this host, against the real engine."""

from __future__ import annotations

import pytest

from sandbox._doctor import run_doctor

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed")]


@pytest.mark.timeout(180)
def test_every_probe_passes(runner_image: str) -> None:
    report = run_doctor(image=runner_image)
    assert report.engine is not None and report.engine.startswith("Docker Engine")
    assert report.image == runner_image
    assert report.image_digest is not None and report.image_digest.startswith("sha256:")
    failed = {probe.name: probe.detail for probe in report.probes if not probe.ok}
    assert failed == {}
    names = {probe.name for probe in report.probes}
    assert {"no_network", "read_only_root", "non_root_user", "memory_limit", "pids_limit",
            "cpu_quota", "tmpfs_size", "capabilities_dropped", "no_new_privileges", "seccomp",
            "environment_allow_list", "memory_limit_kills", "wall_clock_kill"} <= names
    assert report.ok


@pytest.mark.timeout(180)
def test_every_probe_passes_under_gvisor(runner_image: str) -> None:
    report = run_doctor(image=runner_image, runtime="runsc")
    failed = {probe.name: probe.detail for probe in report.probes if not probe.ok}
    assert failed == {}
    names = {probe.name for probe in report.probes}
    # gVisor's kernel shows the sandbox its own cgroups and seccomp state: those are read on the
    # host; the process limit is checked inside (RLIMIT_NPROC) and its host budget outside.
    assert {"kernel", "no_network", "read_only_root", "non_root_user", "pids_limit", "tmpfs_size",
            "capabilities_dropped", "environment_allow_list", "host_memory_limit",
            "host_pids_limit", "host_cpu_quota", "host_no_new_privileges", "host_seccomp",
            "memory_limit_kills", "wall_clock_kill"} <= names
    assert report.ok


def test_a_missing_image_is_reported_not_raised(runner_image: str) -> None:
    report = run_doctor(image="ml-grader-runner:no-such-tag-for-tests")
    assert not report.ok
    assert report.image_digest is None
    assert [probe.name for probe in report.probes] == ["runner_image"]
