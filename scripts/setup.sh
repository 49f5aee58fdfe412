#!/usr/bin/env bash
# Make this machine able to grade: a Docker Engine, the project's virtualenv, the runner image.
# Idempotent: each step does nothing when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

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
ensure_venv
log "building the runner image (cached after the first time)"
.venv/bin/grader sandbox build
