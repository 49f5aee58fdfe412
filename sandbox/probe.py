"""Checks, run inside a throwaway sandbox container, that each hardening option took effect.

Standard library only: its source is passed to ``python3 -c`` in the runner image. It prints one
JSON object mapping each probe to [ok, detail]. The expected values arrive as argv[1] (JSON).
"""

import contextlib
import errno
import json
import os
import resource
import socket
import sys
import threading
import time


def status_field(name):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def cgroup_value(*candidates):
    for path in candidates:
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            continue
    return None


def probe_network():
    with open("/proc/net/dev") as f:
        interfaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    try:
        sock = socket.create_connection(("1.1.1.1", 53), timeout=2)
        sock.close()
        return False, "an outside connection succeeded"
    except OSError as exc:
        reached = "connect failed: " + exc.__class__.__name__
    return interfaces == ["lo"], f"interfaces {interfaces}; {reached}"


def probe_read_only_root():
    try:
        with open("/probe-write", "w"):
            pass
        return False, "wrote to /"
    except OSError as exc:
        refused = os.strerror(exc.errno)
        if exc.errno == errno.EROFS:
            return True, refused
    # gVisor refuses with EACCES before reaching the mount; its mount table says whether / is ro.
    with open("/proc/mounts") as mounts:
        root = [line.split() for line in mounts if line.split()[1:2] == ["/"]]
    read_only = bool(root) and "ro" in root[-1][3].split(",")
    return read_only, f"{refused}; / mounted {'read-only' if read_only else 'read-write'}"


def probe_kernel(expected):
    release = os.uname().release
    if expected["runtime"] == "runsc":
        return release != expected["host_kernel"], f"gVisor's kernel {release!r}, not the host's"
    return release == expected["host_kernel"], f"the host's kernel {release!r}"


def probe_non_root(expected):
    uid, gid = os.getuid(), os.getgid()
    return uid == expected["uid"] and uid != 0, f"uid {uid}, gid {gid}"


def probe_memory_limit(expected):
    value = cgroup_value("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max")
    swap = cgroup_value("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
                        "/sys/fs/cgroup/memory.swap.max")
    ok = value is not None and value.isdigit() and int(value) == expected["memory"]
    return ok, f"memory limit {value}, memory+swap limit {swap or 'not accounted (no swap)'}"


def probe_pids_limit(expected):
    if expected["runtime"] == "runsc":
        # gVisor's kernel enforces the process limit as RLIMIT_NPROC, counted per sandbox; the
        # host's pids cgroup is a larger budget for that kernel's own threads (checked outside).
        value = str(resource.getrlimit(resource.RLIMIT_NPROC)[0])
    else:
        value = cgroup_value("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max")
    stop = threading.Event()
    started = 0
    threads = []
    try:
        for _ in range(expected["pids"] * 4):
            thread = threading.Thread(target=stop.wait)
            thread.start()
            threads.append(thread)
            started += 1
    except RuntimeError:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    ok = value == str(expected["pids"]) and started < expected["pids"]
    name = "RLIMIT_NPROC" if expected["runtime"] == "runsc" else "pids.max"
    return ok, f"{name} {value}; started {started} threads before refusal"


def probe_cpu_quota(expected):
    quota = cgroup_value("/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                         "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us")
    period = cgroup_value("/sys/fs/cgroup/cpu/cpu.cfs_period_us",
                          "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us")
    if quota is None:
        both = cgroup_value("/sys/fs/cgroup/cpu.max")
        quota, period = both.split() if both else (None, None)
    try:
        cores = int(quota) / int(period)
    except (TypeError, ValueError):
        return False, f"no CPU quota (quota {quota}, period {period})"
    return abs(cores - expected["cpus"]) < 0.01, f"{cores:g} cores"


def probe_tmpfs_size(expected):
    written = 0
    block = b"x" * (1024 * 1024)
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(expected["tmp_size"] // len(block) * 4):
                f.write(block)
                f.flush()
                written += len(block)
    except OSError as exc:
        full = exc.errno == errno.ENOSPC
    else:
        full = False
    finally:
        with contextlib.suppress(OSError):
            os.remove("/tmp/fill")
    return full and written <= expected["tmp_size"], f"/tmp full after {written} bytes"


def probe_capabilities():
    effective, bounding = status_field("CapEff"), status_field("CapBnd")
    ok = int(effective or "1", 16) == 0 and int(bounding or "1", 16) == 0
    return ok, f"CapEff {effective}, CapBnd {bounding}"


def probe_no_new_privileges():
    value = status_field("NoNewPrivs")
    return value == "1", f"NoNewPrivs {value}"


def probe_seccomp():
    value = status_field("Seccomp")
    return value == "2", f"Seccomp mode {value} (2 is filtering)"


def probe_environment(expected):
    leaked = sorted(set(os.environ) - set(expected["env_allowed"]))
    return not leaked, (f"unexpected variables: {leaked}" if leaked
                        else "only allow-listed variables")


HOST_VIEW_ONLY = ("memory_limit", "cpu_quota", "no_new_privileges", "seccomp")


def main():
    expected = json.loads(sys.argv[1])
    probes = {
        "kernel": lambda: probe_kernel(expected),
        "no_network": probe_network,
        "read_only_root": probe_read_only_root,
        "non_root_user": lambda: probe_non_root(expected),
        "memory_limit": lambda: probe_memory_limit(expected),
        "pids_limit": lambda: probe_pids_limit(expected),
        "cpu_quota": lambda: probe_cpu_quota(expected),
        "tmpfs_size": lambda: probe_tmpfs_size(expected),
        "capabilities_dropped": probe_capabilities,
        "no_new_privileges": probe_no_new_privileges,
        "seccomp": probe_seccomp,
        "environment_allow_list": lambda: probe_environment(expected),
    }
    if expected["runtime"] == "runsc":
        # gVisor's kernel shows the sandbox its own view, not the host's cgroups or seccomp state;
        # the doctor checks those on the host instead, for both runtimes.
        for name in HOST_VIEW_ONLY:
            del probes[name]
    results = {}
    for name, probe in probes.items():
        started = time.monotonic()
        try:
            ok, detail = probe()
        except Exception as exc:
            ok, detail = False, f"probe failed: {exc!r}"
        results[name] = [bool(ok), f"{detail} ({time.monotonic() - started:.2f}s)"]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
