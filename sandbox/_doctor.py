"""Does the hardening actually hold on this host? Probe it in throwaway containers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import docker.errors
import requests.exceptions
from pydantic import BaseModel

from sandbox._cgroup import CgroupReader
from sandbox._container import CANDIDATE_UID, Container, candidate_environment
from sandbox._engine import engine_client
from sandbox._errors import EngineUnavailable
from sandbox._limits import Limits, Runtime
from sandbox._result import Outcome
from sandbox._run import run_command

_PROBE_SOURCE = Path(__file__).with_name("probe.py")
# Small limits, so that reaching them is quick and the probe proves they bite.
_PROBE_LIMITS = Limits(memory="256m", cpus=0.5, pids=64, tmp_size="8m", timeout=60)
# Importing an environment's packages may load torch (peft does): room for that, not a test of it.
_IMPORT_LIMITS = Limits(memory="2g", cpus=1.0, pids=128, timeout=120)


class Probe(BaseModel):
    name: str
    ok: bool
    detail: str


class DoctorReport(BaseModel):
    engine: str | None
    image: str
    image_digest: str | None
    probes: list[Probe]

    @property
    def ok(self) -> bool:
        return self.engine is not None and self.image_digest is not None and all(
            p.ok for p in self.probes)


def run_doctor(*, image: str, runtime: Runtime = "runc") -> DoctorReport:
    """Probe the engine, the image and every hardening option under ``runtime``."""
    try:
        client = engine_client()
    except EngineUnavailable as exc:
        return DoctorReport(engine=None, image=image, image_digest=None,
                            probes=[Probe(name="engine", ok=False, detail=str(exc))])
    version = client.version()
    engine = f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')})"
    runtimes = sorted(client.info().get("Runtimes") or {})
    if runtime not in runtimes:
        return DoctorReport(engine=engine, image=image, image_digest=None, probes=[Probe(
            name="runtime", ok=False,
            detail=f"the engine has no {runtime} runtime (it has {', '.join(runtimes)}); "
                   "run `scripts/setup.sh --with-gvisor` as root to install and register runsc")])
    try:
        inspected = client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return DoctorReport(engine=engine, image=image, image_digest=None, probes=[Probe(
            name="runner_image", ok=False,
            detail=f"{image} is not built; run `grader sandbox build`")])
    image_env = [entry.split("=", 1)[0] for entry in inspected["Config"].get("Env") or []]
    limits = _PROBE_LIMITS.tightened(runtime=runtime)
    probes = [Probe(name="runtime", ok=True,
                    detail=f"{runtime} (engine has {', '.join(runtimes)})"),
              *_inside_probes(image, image_env, limits), *_host_probes(image, limits),
              *_limit_probes(image, limits)]
    return DoctorReport(engine=engine, image=image, image_digest=inspected["Id"], probes=probes)


def _inside_probes(image: str, image_env: list[str], limits: Limits) -> list[Probe]:
    expected = {
        "runtime": limits.runtime,
        "host_kernel": os.uname().release,
        "uid": CANDIDATE_UID,
        "memory": _PROBE_LIMITS.memory,
        "pids": _PROBE_LIMITS.pids,
        "cpus": _PROBE_LIMITS.cpus,
        "tmp_size": _PROBE_LIMITS.tmp_size,
        "env_allowed": [*image_env, *candidate_environment(_PROBE_LIMITS), "HOSTNAME"],
    }
    result = run_command(["python3", "-c", _PROBE_SOURCE.read_text(), json.dumps(expected)],
                         image=image, limits=limits)
    try:
        found = json.loads(result.stdout.text)
    except ValueError:
        return [Probe(name="probe_container", ok=False,
                      detail=f"{result.message}: {result.stderr.text[-500:]}")]
    return [Probe(name=name, ok=ok, detail=detail) for name, (ok, detail) in found.items()]


def _host_probes(image: str, limits: Limits) -> list[Probe]:
    """What the host's kernel enforces on the container, read from the host while it runs."""
    client = engine_client()
    with Container(client=client, image=image, command=["sleep", "60"],
                   limits=limits) as container:
        assert container.id is not None
        pid = client.api.inspect_container(container.id)["State"]["Pid"]
        status = _status_fields(Path(f"/proc/{pid}/status"))
        cgroup = CgroupReader(container.id)
        memory, pids, quota = cgroup.memory_limit(), cgroup.pids_limit(), cgroup.cpu_quota()
        container.kill()
        container.wait()
    return [
        Probe(name="host_memory_limit", ok=memory == limits.memory,
              detail=f"cgroup memory limit {memory} (swap is set equal; this host has none)"),
        Probe(name="host_pids_limit", ok=pids == limits.host_pids,
              detail=f"cgroup pids.max {pids}" + (
                  f" (gVisor's kernel's budget for {limits.pids} guest processes)"
                  if limits.runtime == "runsc" else "")),
        Probe(name="host_cpu_quota", ok=quota is not None and abs(quota - limits.cpus) < 0.01,
              detail=f"cgroup CPU quota {quota} cores"),
        Probe(name="host_no_new_privileges", ok=status.get("NoNewPrivs") == "1",
              detail=f"NoNewPrivs {status.get('NoNewPrivs')} on the container's host process"),
        Probe(name="host_seccomp", ok=status.get("Seccomp") == "2",
              detail=f"Seccomp mode {status.get('Seccomp')} on the container's host process "
                     "(2 is filtering)"),
    ]


def _status_fields(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def _limit_probes(image: str, limits: Limits) -> list[Probe]:
    oom = run_command(["python3", "-c", "b = bytearray(1024 ** 3)"], image=image, limits=limits)
    hang = run_command(["sleep", "600"], image=image, limits=limits.tightened(timeout=1))
    return [
        Probe(name="memory_limit_kills", ok=oom.outcome is Outcome.OOM,
              detail=f"allocating 1 GiB under 256 MiB: {oom.outcome.value}"),
        Probe(name="wall_clock_kill", ok=hang.outcome is Outcome.TIMEOUT and hang.wall_seconds < 10,
              detail=f"sleep 600 under a 1 s limit: {hang.outcome.value} after "
                     f"{hang.wall_seconds:.1f} s"),
    ]


# What the environment probe runs in the derived image: the lock it was built from, each pinned
# version installed, and each requested distribution's top-level modules importable.
_ENVIRONMENT_PROBE = r"""
import importlib, importlib.metadata as md, json, sys
lock_path, lock_text, pins, requested = json.loads(sys.argv[1])
try:
    same = open(lock_path, encoding="utf-8").read() == lock_text
except OSError:
    same = False
wrong = []
for name, version in pins.items():
    try:
        found = md.version(name)
    except md.PackageNotFoundError:
        found = "missing"
    if found != version:
        wrong.append(f"{name} {found} (locked {version})")
def modules(name):
    dist = md.distribution(name)
    listed = (dist.read_text("top_level.txt") or "").split()
    if not listed:
        tops = {str(f).split("/")[0] for f in dist.files or ()}
        listed = [t.split(".")[0] for t in tops if not t.endswith((".dist-info", ".data"))
                  and (t.endswith((".py", ".so")) or "." not in t)]
    return sorted(m for m in listed if m.isidentifier() and not m.startswith("_"))
imported, failed = [], []
for name in requested:
    try:
        names = modules(name)
    except md.PackageNotFoundError:
        failed.append(f"{name}: not installed")
        continue
    for module in names:
        try:
            importlib.import_module(module)
            imported.append(module)
        except Exception as exc:
            failed.append(f"{module} ({name}): {type(exc).__name__}: {exc}")
print(json.dumps({"lock": same, "versions": wrong, "imported": imported, "failed": failed}))
"""


def environment_probes(*, image: str, lock_text: str, pins: dict[str, str],
                       requested: list[str], runtime: Runtime = "runc") -> list[Probe]:
    """Check a derived image: built, from ``lock_text``, with the ``pins`` (name to version)
    installed and every ``requested`` distribution's modules importable in a hardened
    container."""
    from sandbox._derived import IMAGE_LOCK_PATH, LOCK_SHA256_LABEL, lock_sha256

    try:
        labels = engine_client().api.inspect_image(image)["Config"].get("Labels") or {}
    except docker.errors.ImageNotFound:
        return [Probe(name="built", ok=False, detail=f"{image} is not built")]
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        return [Probe(name="built", ok=False, detail=f"the engine does not answer: {exc}")]
    probes = [Probe(name="built", ok=True, detail=image),
              Probe(name="lock_label", ok=labels.get(LOCK_SHA256_LABEL) == lock_sha256(lock_text),
                    detail=f"built from a lock with sha256 {labels.get(LOCK_SHA256_LABEL)}")]
    argument = json.dumps([IMAGE_LOCK_PATH, lock_text, pins, requested])
    result = run_command(["python3", "-c", _ENVIRONMENT_PROBE, argument], image=image,
                         limits=_IMPORT_LIMITS.tightened(runtime=runtime))
    try:
        found = json.loads(result.stdout.text)
    except ValueError:
        return [*probes, Probe(name="imports", ok=False,
                               detail=f"{result.message}: {result.stderr.text[-500:]}")]
    return [*probes,
            Probe(name="lock_inside", ok=found["lock"],
                  detail=f"{IMAGE_LOCK_PATH} {'equals' if found['lock'] else 'differs from'} "
                         "the lock"),
            Probe(name="versions", ok=not found["versions"],
                  detail="; ".join(found["versions"]) or f"{len(pins)} pinned versions installed"),
            Probe(name="imports", ok=not found["failed"],
                  detail="; ".join(found["failed"]) or "imported " + (
                      ", ".join(found["imported"]) or "nothing"))]
