#!/usr/bin/env bash
# Make this machine able to grade: a Docker Engine, the project's virtualenv, the runner image.
# Idempotent: each step does nothing when its result is already in place.
#   --with-gvisor   also install gVisor (Debian's runsc) and register it with the engine as "runsc"
set -euo pipefail
cd "$(dirname "$0")/.."

with_gvisor=0
for arg in "$@"; do
    case "$arg" in
        --with-gvisor) with_gvisor=1 ;;
        *) echo "usage: $0 [--with-gvisor]" >&2; exit 2 ;;
    esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

ensure_engine() {
    if engine_answers; then
        return
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        log "no Docker Engine answers; install and start one (https://docs.docker.com/engine/install/)"
        exit 1
    fi
    if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
        log "installing Debian's docker.io and debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
    fi
    if ! engine_answers; then
        log "starting dockerd in the background (log: /var/log/dockerd.log)"
        nohup dockerd >/var/log/dockerd.log 2>&1 &
        for _ in $(seq 60); do
            engine_answers && break
            sleep 1
        done
    fi
    engine_answers || { log "dockerd did not answer within 60 s; see /var/log/dockerd.log"; exit 1; }
}

runsc_registered() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }

# gVisor's platform is how its kernel catches the sandbox's system calls and page faults, and so
# most of what it costs on ML work (imports map hundreds of MiB; numpy and Python churn memory).
# systrap, the default of runsc releases from mid-2023 on, makes each system call cheaper inside a
# VM, though on a 2-core VM, quiet or loaded, its OpenMP-heavy fits were slower than ptrace's and
# its imports no faster (README.md, gVisor), so setup installs the distribution's runsc rather
# than a newer one for systrap. Debian
# bookworm's runsc (20221219) has only ptrace (its default: every system call and page fault is a
# round trip through the host's ptrace, several times runc's time on an ML phase) and kvm (the
# fastest on bare metal; nested in a VM it is unstable, and on some hosts it hangs at start, so it
# is used only on bare metal and only when a sandbox starts with it within 30 seconds).
runsc_platform() {
    local runsc=$1
    if "$runsc" flags 2>&1 | grep systrap >/dev/null; then
        echo systrap
    elif [ -w /dev/kvm ] && ! grep -qw hypervisor /proc/cpuinfo \
            && timeout -s KILL 30 "$runsc" --network=none --platform=kvm do true >/dev/null 2>&1; then
        echo kvm
    else
        echo ptrace
    fi
}

ensure_gvisor() {
    if runsc_registered; then
        return
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        log "gVisor asked for, but installing it needs root and apt (Debian's runsc package)"
        exit 1
    fi
    if ! command -v runsc >/dev/null; then
        log "installing Debian's runsc (gVisor)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null
    fi
    local runsc platform
    runsc=$(command -v runsc)
    platform=$(runsc_platform "$runsc")
    log "registering runsc (platform $platform) with the engine (/etc/docker/daemon.json) and reloading it"
    if [ "$platform" = ptrace ]; then
        log "gVisor on ptrace grades several times slower than runc (see README.md, gVisor);" \
            "a runsc with systrap (2023 or later), or KVM on bare metal, is much closer"
    fi
    mkdir -p /etc/docker
    # Merge, so an existing daemon configuration is kept. Candidate containers have no network;
    # --network=none also keeps gVisor's own network stack out of the sandbox.
    python3 - "$runsc" "$platform" <<'PY'
import json, pathlib, sys
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
config.setdefault("runtimes", {})["runsc"] = {
    "path": sys.argv[1], "runtimeArgs": ["--network=none", f"--platform={sys.argv[2]}"]}
path.write_text(json.dumps(config, indent=2) + "\n")
PY
    pkill -HUP -x dockerd || true
    for _ in $(seq 30); do
        runsc_registered && return
        sleep 1
    done
    log "the engine did not list runsc after reloading; see /var/log/dockerd.log"
    exit 1
}

# The service's tests start a private PostgreSQL and drive a headless Chromium: Debian's packages.
ensure_service_packages() {
    local missing=()
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ "${#missing[@]}" -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        log "missing ${missing[*]} (the service's tests need them); install Debian's packages"
        return
    fi
    log "installing Debian's ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
    local stamp=.venv/.installed-from
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    log "installing the grader into .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    echo "$want" >"$stamp"
}

ensure_engine
if [ "$with_gvisor" = 1 ]; then
    ensure_gvisor
fi
ensure_service_packages
ensure_venv
log "building the runner image (cached after the first time)"
.venv/bin/grader sandbox build
