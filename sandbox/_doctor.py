"""Does the hardening actually hold on this host? Probe it in throwaway containers."""

from __future__ import annotations

import json
from pathlib import Path

import docker.errors
from pydantic import BaseModel

from sandbox._container import candidate_environment
from sandbox._engine import engine_client
from sandbox._errors import EngineUnavailable
from sandbox._limits import Limits
from sandbox._result import Outcome
from sandbox._run import run_command

_PROBE_SOURCE = Path(__file__).with_name("probe.py")
# Small limits, so that reaching them is quick and the probe proves they bite.
_PROBE_LIMITS = Limits(memory="256m", cpus=0.5, pids=64, tmp_size="8m", timeout=60)


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


def run_doctor(*, image: str) -> DoctorReport:
    try:
        client = engine_client()
    except EngineUnavailable as exc:
        return DoctorReport(engine=None, image=image, image_digest=None,
                            probes=[Probe(name="engine", ok=False, detail=str(exc))])
    version = client.version()
    engine = f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')})"
    try:
        inspected = client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return DoctorReport(engine=engine, image=image, image_digest=None, probes=[Probe(
            name="runner_image", ok=False,
            detail=f"{image} is not built; run `grader sandbox build`")])
    image_env = [entry.split("=", 1)[0] for entry in inspected["Config"].get("Env") or []]
    return DoctorReport(engine=engine, image=image, image_digest=inspected["Id"],
                        probes=_inside_probes(image, image_env) + _limit_probes(image))


def _inside_probes(image: str, image_env: list[str]) -> list[Probe]:
    expected = {
        "uid": 10001,
        "memory": _PROBE_LIMITS.memory,
        "pids": _PROBE_LIMITS.pids,
        "cpus": _PROBE_LIMITS.cpus,
        "tmp_size": _PROBE_LIMITS.tmp_size,
        "env_allowed": [*image_env, *candidate_environment(_PROBE_LIMITS), "HOSTNAME"],
    }
    result = run_command(["python3", "-c", _PROBE_SOURCE.read_text(), json.dumps(expected)],
                         image=image, limits=_PROBE_LIMITS)
    try:
        found = json.loads(result.stdout.text)
    except ValueError:
        return [Probe(name="probe_container", ok=False,
                      detail=f"{result.message}: {result.stderr.text[-500:]}")]
    return [Probe(name=name, ok=ok, detail=detail) for name, (ok, detail) in found.items()]


def _limit_probes(image: str) -> list[Probe]:
    oom = run_command(["python3", "-c", "b = bytearray(1024 ** 3)"], image=image,
                      limits=_PROBE_LIMITS)
    hang = run_command(["sleep", "600"], image=image, limits=_PROBE_LIMITS.tightened(timeout=1))
    return [
        Probe(name="memory_limit_kills", ok=oom.outcome is Outcome.OOM,
              detail=f"allocating 1 GiB under 256 MiB: {oom.outcome.value}"),
        Probe(name="wall_clock_kill", ok=hang.outcome is Outcome.TIMEOUT and hang.wall_seconds < 10,
              detail=f"sleep 600 under a 1 s limit: {hang.outcome.value} after "
                     f"{hang.wall_seconds:.1f} s"),
    ]
