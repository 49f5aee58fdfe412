"""The connection to the Docker Engine, made on first use and never at import time."""

from __future__ import annotations

import functools

import docker
import docker.errors
import requests.exceptions

from sandbox._errors import EngineUnavailable


def engine_unavailable(exc: Exception) -> EngineUnavailable:
    """What a call that found no engine raises (``raise engine_unavailable(exc) from exc``):
    the engine's error, and what to do."""
    return EngineUnavailable(
        "the Docker Engine does not answer; start it (scripts/setup.sh does, as root) "
        f"or set DOCKER_HOST ({exc})")


@functools.cache
def engine_client() -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (the local socket by default)."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc
    return client
