"""Fixtures every test folder may use. The sandbox is always tested against the real Docker
Engine, never a fake."""

from __future__ import annotations

import os

import pytest

from grader.settings import get_settings

SETUP_HINT = "run `bash scripts/setup.sh` (it starts the engine and builds the runner image)"


@pytest.fixture(scope="session")
def runner_image() -> str:
    """The runner image's tag; fails (never skips) when the engine or the image is missing."""
    import docker
    import docker.errors
    import requests.exceptions

    tag = os.environ.get("GRADER_RUNNER_IMAGE") or get_settings().runner_image
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        pytest.fail(f"the Docker Engine does not answer ({exc}); {SETUP_HINT}", pytrace=False)
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the runner image {tag} is not built; {SETUP_HINT}", pytrace=False)
    finally:
        client.close()
    return tag
