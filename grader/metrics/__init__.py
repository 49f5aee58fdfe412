"""Metrics for evaluation harnesses: part of the grader's public API for assignments.

Harnesses import the module they need (``grader.metrics.retrieval``, ``grader.metrics.answers``,
``grader.metrics.classification``, ``grader.metrics.latency``); each is plain functions over plain
values, computed on the trusted side from the candidate's parsed answers.
"""
