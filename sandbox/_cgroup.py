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
        self._dirs = [f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"]
        self._memory = self._file(("memory", "memory.max_usage_in_bytes"), (None, "memory.peak"))
        self._cpu_v1 = self._file(("cpuacct", "cpuacct.usage"), ("cpu,cpuacct", "cpuacct.usage"))
        self._cpu_v2 = None if self._cpu_v1 else self._file((None, "cpu.stat"))
        self._tasks = self._file(("pids", "pids.current"), (None, "pids.current"))
        self.last = CgroupUsage(None, None)

    def _file(self, *candidates: tuple[str | None, str]) -> Path | None:
        """The first existing file among (v1 controller or None for v2, file name) pairs."""
        return _first_file([(_ROOT / controller if controller else _ROOT) / d / name
                            for controller, name in candidates for d in self._dirs])

    def memory_limit(self) -> int | None:
        return _read_int(self._file(("memory", "memory.limit_in_bytes"), (None, "memory.max")))

    def pids_limit(self) -> int | None:
        return _read_int(self._file(("pids", "pids.max"), (None, "pids.max")))

    def tasks(self) -> int | None:
        """Host tasks (processes and threads) in the container's pids cgroup now."""
        return _read_int(self._tasks)

    def cpu_quota(self) -> float | None:
        """The CPU quota in cores, or None when there is none."""
        quota = _read_int(self._file(("cpu", "cpu.cfs_quota_us"),
                                     ("cpu,cpuacct", "cpu.cfs_quota_us")))
        period = _read_int(self._file(("cpu", "cpu.cfs_period_us"),
                                      ("cpu,cpuacct", "cpu.cfs_period_us")))
        if quota is None:
            v2 = self._file((None, "cpu.max"))
            try:
                text_quota, text_period = v2.read_text().split() if v2 else ("max", "")
                quota, period = int(text_quota), int(text_period)
            except (OSError, ValueError):
                return None
        if quota is None or period is None or quota <= 0 or period <= 0:
            return None
        return quota / period

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
