#!/usr/bin/env bash
# Set everything up, check the sandbox's hardening on this host, then run the main job: the web
# app and its grading workers over embedded SQLite and ./data (`grader serve`, settings: README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/grader sandbox doctor
exec .venv/bin/grader serve "$@"
