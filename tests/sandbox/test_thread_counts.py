"""The thread counts a candidate's libraries use are the limits', whatever the runtime shows them
of the host's CPUs: the same submission gets the same threads (and so the same results) under
runc and under gVisor."""

from __future__ import annotations

import pytest
from conftest import RunPy

import sandbox

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed")]

THREADS = """
import torch
print(torch.get_num_threads())
"""


@pytest.mark.timeout(120)
def test_torch_uses_the_limits_threads_under_every_runtime(run_py: RunPy,
                                                           tight: sandbox.Limits) -> None:
    # Two CPUs (above the tight limits' one), so that a runtime showing fewer cores would tell.
    limits = sandbox.Limits.model_validate(
        {**tight.model_dump(), "cpus": 2.0, "memory": "1g", "timeout": 60})
    result, _elapsed = run_py(THREADS, limits=limits)
    assert result.outcome is sandbox.Outcome.OK, result
    assert int(result.stdout.text.split()[-1]) == limits.threads == 2
