"""Removing containers that a crashed worker left behind."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import docker.errors
import requests.exceptions

from sandbox._container import DEADLINE_LABEL, LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL
from sandbox._engine import engine_client, engine_unavailable


def reap_orphans() -> list[str]:
    """Remove our containers whose owner process is gone or whose deadline has passed.

    Containers of live workers on this host (or of any host, within their deadline) are left alone,
    so several workers can share one engine. Raises EngineUnavailable when the engine does not
    answer (it may be restarting: the next round removes what this one could not).
    """
    try:
        return _reap(engine_client())
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise engine_unavailable(exc) from exc


def _reap(client: docker.DockerClient) -> list[str]:
    here = socket.gethostname()
    removed = []
    for info in client.api.containers(all=True, filters={"label": LABEL}):
        labels = info.get("Labels") or {}
        overdue = float(labels.get(DEADLINE_LABEL, "0")) < time.time()
        owner_gone = (labels.get(OWNER_HOST_LABEL) == here
                      and not _alive(int(labels.get(OWNER_PID_LABEL, "0"))))
        if overdue or owner_gone:
            try:
                client.api.remove_container(info["Id"], force=True, v=True)
                removed.append(info["Id"])
            except docker.errors.APIError:  # gone already, or being removed: the next round
                pass
    return removed


def _alive(pid: int) -> bool:
    """Whether the process runs. A killed owner can linger as a zombie when nothing reaps it (a
    container's PID 1 often does not), and signalling a zombie succeeds, so /proc is read first."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        # Gone, or hidden from this user (/proc mounted with hidepid): the signal tells which.
        return _signalable(pid)
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
