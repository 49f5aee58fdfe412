"""The resource limits of one candidate container: one frozen value, documented defaults.

Sizes accept bytes or docker-style strings ("512m", "2g", "1GiB"). An assignment may only tighten
the deployment's limits (``Limits.tightened``); it can never loosen them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(value: Any) -> Any:
    """'512m' -> 536870912; ints pass through; anything else is left to pydantic to reject."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a size; use bytes or a number with k, m, g or t")
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return value


def format_size(count: float) -> str:
    """536870912 -> '512 MiB': in the largest binary unit the count reaches, else in bytes."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if count >= scale:
            return f"{count / scale:.4g} {unit}"
    return f"{count:g} bytes"


Bytes = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]

Runtime = Literal["runc", "runsc"]
# An assignment may ask for stronger isolation than the deployment's default, never weaker.
RUNTIME_STRENGTH: dict[str, int] = {"runc": 0, "runsc": 1}

KiB = 1024
MiB = 1024**2
GiB = 1024**3

# Under gVisor the pids cgroup on the host counts the sandbox's kernel (its Go threads, the gofer
# and, on the ptrace platform, the stub processes and threads that run the guest's address
# spaces), not the candidate's processes. Measured with Debian's runsc 20221219: about 50 host
# tasks idle, about 5 per sleeping guest process, and more over time as busy processes run on
# more of the kernel's threads (63 busy processes: 250 host tasks at 3 s, 2000 at 30 s). If the
# cgroup refuses the kernel a thread, Go's runtime aborts the whole sandbox (exit code 2; gVisor
# issue 2490). So under runsc the guest's limit is RLIMIT_NPROC, which gVisor's kernel enforces
# per sandbox (not per host uid, as runc's kernel would), and the cgroup is a larger budget that
# keeps the host's PID space safe; the container is stopped, as a process limit, well before the
# sandbox's kernel reaches that budget.
RUNSC_HOST_TASKS_BASE = 256
RUNSC_HOST_TASKS_PER_PID = 16


class Limits(BaseModel):
    """What one container may use. Network is always off and is not a setting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory: Bytes = Field(4 * GiB, description="RAM; swap is set equal, so no swap is usable")
    cpus: float = Field(2.0, gt=0, description="CPU quota, in cores")
    pids: int = Field(256, gt=0, description="processes and threads in the container")
    open_files: int = Field(1024, gt=0, description="ulimit nofile")
    file_size: Bytes = Field(1 * GiB, description="largest file one process may write")
    tmp_size: Bytes = Field(1 * GiB, description="the /tmp tmpfs")
    tmp_inodes: int = Field(16384, gt=0, description="files in /tmp")
    work_size: Bytes = Field(2 * GiB, description="the phase's writable work dir (a tmpfs)")
    work_inodes: int = Field(16384, gt=0, description="files in the work dir")
    shm_size: Bytes = Field(256 * MiB, description="/dev/shm, counted in the memory limit")
    timeout: float = Field(600.0, gt=0, description="wall-clock seconds before the kill")
    log_bytes: Bytes = Field(1 * MiB, description="stdout/stderr bytes kept, per stream")
    output_bytes: Bytes = Field(64 * MiB, description="total output before output_limit kills")
    runtime: Runtime = Field(
        "runc", description="the OCI runtime: runc, or runsc (gVisor: a user-space kernel "
                            "between the candidate and the host's kernel)")

    def tightened(self, **overrides: Any) -> Limits:
        """A copy with some limits lowered (or the isolation raised); loosening is refused."""
        candidate = self.model_validate({**self.model_dump(), **overrides})
        for name in overrides:
            mine, theirs = getattr(self, name), getattr(candidate, name)
            if name == "runtime":
                if RUNTIME_STRENGTH[theirs] < RUNTIME_STRENGTH[mine]:
                    raise ValueError(f"runtime={theirs} is weaker isolation than the "
                                     f"deployment's {mine}")
            elif theirs > mine:
                raise ValueError(f"{name}={theirs} exceeds the deployment's limit of {mine}")
        return candidate

    @property
    def host_pids(self) -> int:
        """The pids cgroup limit on the host: ``pids`` under runc, the sandbox's budget under
        runsc (where ``pids`` is the guest's RLIMIT_NPROC instead)."""
        if self.runtime == "runsc":
            return RUNSC_HOST_TASKS_BASE + RUNSC_HOST_TASKS_PER_PID * self.pids
        return self.pids

    @property
    def threads(self) -> int:
        """Thread count for BLAS and torch, so results do not depend on the host's core count."""
        return max(1, int(self.cpus))
