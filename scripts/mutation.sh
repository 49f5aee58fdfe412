#!/usr/bin/env bash
# Mutation test of grader/metrics: mutmut makes every small wrong variant of the metric code it can
# (a flipped comparison, an off-by-one, a dropped argument, a changed constant or message) and runs
# tests/grader/test_metrics_*.py against each one. Prints the share of mutants the tests kill and
# fails under the threshold (95% by default, or the first argument). Works in a scratch copy, so the
# working tree is never touched. About 5 minutes on 2 cores: run by hand, not in CI.
#   usage: bash scripts/mutation.sh [MIN_PERCENT]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
threshold=${1:-95}
python=$root/.venv/bin/python
mutmut=$root/.venv/bin/mutmut
[ -x "$mutmut" ] || { echo "no $mutmut: run bash scripts/setup.sh (mutmut is a dev dependency)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/grader" "$work/tests/grader"
cp grader/__init__.py "$work/grader/"
cp -r grader/metrics "$work/grader/"
# test_metrics_mutants.py re-runs the others with planted variants: slow under mutmut, no new kills.
for test in tests/grader/test_metrics_*.py; do
    [ "$test" = tests/grader/test_metrics_mutants.py ] || cp "$test" "$work/tests/grader/"
done
find "$work" -name __pycache__ -prune -exec rm -rf {} +
# mutmut puts its mutated copy first on sys.path; grader/__init__.py goes along so that copy, not
# the editable install, is the package the tests import.
cat >"$work/pyproject.toml" <<'TOML'
[tool.mutmut]
source_paths = ["grader/metrics"]
also_copy = ["grader/__init__.py"]
pytest_add_cli_args_test_selection = ["tests/grader"]
pytest_add_cli_args = ["-q", "-p", "no:cacheprovider"]

[tool.pytest.ini_options]
testpaths = ["tests"]
TOML

cd "$work"
started=$(date +%s)
if ! "$mutmut" run --max-children "$(nproc)" >run.log 2>&1; then
    tail -c 3000 run.log >&2
    exit 2
fi
"$mutmut" export-cicd-stats >/dev/null
"$mutmut" results >survivors.txt 2>&1 || true
"$python" - "$threshold" "$(($(date +%s) - started))" <<'PY'
import json
import pathlib
import sys

threshold, seconds = float(sys.argv[1]), int(sys.argv[2])
stats = json.loads(pathlib.Path("mutants/mutmut-cicd-stats.json").read_text())
killed = stats["killed"] + stats["timeout"]
total = stats["total"]
survivors = [line.strip() for line in pathlib.Path("survivors.txt").read_text().splitlines()
             if line.strip().endswith(": survived") or line.strip().endswith(": no tests")]
for line in survivors:
    print("  not killed:", line)
score = 100.0 * killed / total if total else 0.0
print(f"mutation score of grader/metrics: {score:.1f}% ({killed} of {total} mutants killed, "
      f"{seconds} s)")
sys.exit(0 if score >= threshold else 1)
PY
