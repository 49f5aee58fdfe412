"""Peak memory and CPU time of a running container, read from its cgroup on the host.

The engine's own stats endpoint takes a second or more per read; the cgroup files are instant.
They exist only while the container runs, so callers sample before the container is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupUsage:
    peak_memory_bytes: int | None
    cpu_seconds: float | None


class CgroupReader:
    """Finds a container's cgroup once (v1 cgroupfs or systemd driver, or v2) and reads it."""

    def __init__(self, container_id: str) -> None:
        v1_dirs = [f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"]
        self._memory = _first_file(
            [_ROOT / "memory" / d / "memory.max_usage_in_bytes" for d in v1_dirs]
            + [_ROOT / d / "memory.peak" for d in v1_dirs])
        self._cpu_v1 = _first_file([_ROOT / "cpuacct" / d / "cpuacct.usage" for d in v1_dirs]
                                   + [_ROOT / "cpu,cpuacct" / d / "cpuacct.usage" for d in v1_dirs])
        self._cpu_v2 = (None if self._cpu_v1
                        else _first_file([_ROOT / d / "cpu.stat" for d in v1_dirs]))
        self.last = CgroupUsage(None, None)

    def sample(self) -> CgroupUsage:
        """Read now; keep the last good reading for after the cgroup is gone."""
        memory = _read_int(self._memory)
        cpu = _read_int(self._cpu_v1)
        cpu_seconds = cpu / 1e9 if cpu is not None else self._cpu_v2_seconds()
        self.last = CgroupUsage(
            peak_memory_bytes=memory if memory is not None else self.last.peak_memory_bytes,
            cpu_seconds=cpu_seconds if cpu_seconds is not None else self.last.cpu_seconds,
        )
        return self.last

    def _cpu_v2_seconds(self) -> float | None:
        if self._cpu_v2 is None:
            return None
        try:
            for line in self._cpu_v2.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except OSError:
            return None
        return None


def _first_file(paths: list[Path]) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def _read_int(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
