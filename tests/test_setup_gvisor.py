"""scripts/setup.sh --with-gvisor registers runsc on the fastest platform the installed runsc and
the host allow; its choice, with stand-in runsc binaries (the real one is not run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.kit import REPO


def _platform(tmp_path: Path, flags_output: str, do_exit: int) -> str:
    runsc = tmp_path / "runsc"
    runsc.write_text(f"#!/bin/sh\n[ \"$1\" = flags ] && {{ echo '{flags_output}'; exit 0; }}\n"
                     f"exit {do_exit}\n")
    runsc.chmod(0o755)
    script = (f'set -euo pipefail; eval "$(sed -n "/^runsc_platform()/,/^}}/p" '
              f'{REPO / "scripts" / "setup.sh"})"; runsc_platform {runsc}')
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def test_a_runsc_with_systrap_gets_systrap(tmp_path: Path) -> None:
    flags = "specifies which platform to use: systrap (default), kvm, ptrace"
    assert _platform(tmp_path, flags, do_exit=1) == "systrap"


def test_without_systrap_or_a_kvm_sandbox_that_starts_it_is_ptrace(tmp_path: Path) -> None:
    flags = "specifies which platform to use: ptrace (default), kvm."
    assert _platform(tmp_path, flags, do_exit=1) == "ptrace"
