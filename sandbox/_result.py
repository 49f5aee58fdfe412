"""What a container run reports back: typed, size-capped, never inferred from an exit code alone."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Outcome(StrEnum):
    OK = "ok"
    NONZERO_EXIT = "nonzero_exit"
    TIMEOUT = "timeout"
    OOM = "oom"
    OUTPUT_LIMIT = "output_limit"
    PROCESS_LIMIT = "process_limit"
    KILLED = "killed"
    INFRASTRUCTURE_ERROR = "infrastructure_error"


OUTCOME_MESSAGES = {
    Outcome.OK: "finished",
    Outcome.NONZERO_EXIT: "exited with a non-zero code",
    Outcome.TIMEOUT: "ran past its time limit and was stopped",
    Outcome.OOM: "ran out of memory and was stopped",
    Outcome.OUTPUT_LIMIT: "printed more output than allowed and was stopped",
    # Only under runsc: a fork bomb there grows the sandbox kernel's host threads, not just its
    # own processes (whose limit makes fork fail, as under runc, where it runs on to a timeout).
    Outcome.PROCESS_LIMIT: "started more processes than the sandbox allows and was stopped",
    Outcome.KILLED: "was killed by a signal",
    Outcome.INFRASTRUCTURE_ERROR: "could not be run because of a grader-side problem",
}


class CapturedOutput(BaseModel):
    """One stream's text: the head and tail kept when it ran past the cap."""

    model_config = ConfigDict(frozen=True)

    text: str
    total_bytes: int
    truncated: bool


class RunResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    exit_code: int | None
    stdout: CapturedOutput
    stderr: CapturedOutput
    wall_seconds: float
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
