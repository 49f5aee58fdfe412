"""`grader --help` stays quick: the CLI's modules load typer and rich, never the core (settings,
the store, the sandbox, the web app, numpy), which each command imports when it runs.
bench/cli_startup.py measures the time; this checks the cause, which does not vary with load."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("grader.settings", "grader.store", "grader.pipeline", "grader.web", "sandbox", "docker",
         "sqlalchemy", "numpy", "fastapi", "uvicorn", "pydantic_settings")


def test_help_imports_none_of_the_core() -> None:
    probe = ("import json, sys\nsys.argv = ['grader', '--help']\nfrom grader.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "assignment" in done.stdout and "serve" in done.stdout  # the help was printed
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY
                   or any(name == h or name.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"`grader --help` imported {heavy}: import them inside the command"
