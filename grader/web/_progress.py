"""A pending submission's progress in the candidate's words: the step, the queue, an estimate.

The sentences are made here, once, and sent in the JSON the status page polls, so the page's
script only places them (``static/candidate.js``) and the page without script shows the same.
"""

from __future__ import annotations

import math

from grader.store import GradingProgress, JobState, seconds_since
from grader.web._schemas import CandidateProgress

__all__ = ["duration", "progress_view", "remaining_seconds"]


def remaining_seconds(progress: GradingProgress, elapsed: float) -> float | None:
    """A rough time to the result: what is left of a typical grading once running; while queued,
    the jobs ahead shared among as many workers as are grading now, then its own grading."""
    typical = progress.typical_seconds
    if typical is None:
        return None
    if progress.queue_position is None:
        return max(0.0, typical - elapsed)
    slots = max(1, progress.running)
    rounds = math.ceil((progress.queue_position - 1 + progress.running) / slots)
    return typical * (rounds + 1)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: what a person reads at a glance."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _about(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def _message(progress: GradingProgress) -> str:
    if progress.queue_position is None:
        if progress.step is None:
            return "Grading has started."
        return f"Grading now: {progress.step}."
    if progress.queue_position == 1:
        return "Waiting in the queue: yours is next."
    ahead = progress.queue_position - 1
    return (f"Waiting in the queue: {ahead} submission{'s' if ahead > 1 else ''} ahead of "
            "yours.")


def _timing(progress: GradingProgress, elapsed: float, remaining: float | None) -> str:
    running = progress.queue_position is None
    said = f"{'Grading for' if running else 'Queued for'} {duration(elapsed)}."
    if remaining is None:
        return f"{said} This assignment has no earlier grading to estimate from."
    if running and elapsed > (progress.typical_seconds or 0):
        return f"{said} This one is taking longer than usual."
    return f"{said} The result should be ready in {_about(remaining)}."


def progress_view(progress: GradingProgress) -> CandidateProgress:
    elapsed = seconds_since(progress.since)
    remaining = remaining_seconds(progress, elapsed)
    return CandidateProgress(
        state="grading" if progress.state == JobState.RUNNING else "queued",
        step=progress.step, elapsed_seconds=round(elapsed, 1),
        queue_position=progress.queue_position, typical_seconds=progress.typical_seconds,
        remaining_seconds=None if remaining is None else round(remaining, 1),
        message=_message(progress), timing=_timing(progress, elapsed, remaining))
