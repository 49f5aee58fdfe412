"""The worker's delivery loop: one thread that sends the store's due deliveries
(``grader.deliveries``), beside the grading slots and never in their way.

One attempt at a time, each bounded by ``settings.deliveries.timeout_seconds``: a slow or dead
receiver delays the other deliveries by at most that, and gradings not at all (they run in their
own slots and child processes). Many workers each run one loop; the store's lease keeps two from
sending the same delivery at once. A store that is away for a moment is logged and tried again at
the next poll rather than ending the loop.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from sqlalchemy.exc import SQLAlchemyError

from grader.deliveries import deliver_next
from grader.settings import Settings
from grader.store import Database
from grader.webhooks import sync_configured_endpoint

log = logging.getLogger("grader.deliveries")


class DeliveryLoop:
    """``start()`` stores the settings' webhook endpoint, then sends in a thread; ``stop()``."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.name = f"{socket.gethostname()}:{os.getpid()}:deliveries"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="grader-deliveries")

    def start(self) -> DeliveryLoop:
        sync_configured_endpoint(self.db, self.settings)
        self.thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the attempt in flight, if any (bounded by the delivery timeout)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                state = deliver_next(self.db, self.settings.deliveries, worker=self.name)
            except SQLAlchemyError as exc:
                log.warning("deliveries paused until the next poll: %s", exc)
                state = None
            if state is not None:
                log.info("delivery attempt: %s", state.value)
                continue
            self.stopping.wait(self.settings.poll_seconds)
