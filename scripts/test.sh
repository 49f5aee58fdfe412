#!/usr/bin/env bash
# Set everything up (gVisor included: the hostile suite runs under both runtimes), then run the
# whole test suite against the real Docker Engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-gvisor
exec .venv/bin/python -m pytest "$@"
