"""Gradings as jobs. ``grader.jobs.grading`` grades one submission in its own process (run as
``python -m grader.jobs.grading``; nothing is imported here, so that run imports it only once)."""
