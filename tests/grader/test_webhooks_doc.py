"""The verification snippet in docs/webhooks.md, run as written against a real delivery: it accepts
what the grader sent and refuses a changed body, another secret and an old timestamp."""

from __future__ import annotations

import re
import time
from pathlib import Path

from support.kit import REPO
from support.receiver import receiver

from grader import deliveries
from grader.settings import DeliverySettings
from grader.store import Database, migrate

SECRET = "whsec_" + "d" * 64


def _snippet() -> dict:
    text = (REPO / "docs" / "webhooks.md").read_text()
    section = text[text.index("## Verifying a delivery"):]
    [code] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[:1]
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)
    return namespace


def test_the_documented_verification_accepts_a_delivery_and_refuses_forgeries(
        tmp_path: Path) -> None:
    verify = _snippet()["verify"]
    db = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(db)
    try:
        with receiver() as hook:
            with db.write() as session:
                deliveries.enqueue(session, purpose="doc", url=hook.url,
                                   body=b'{"type": "submission.graded"}', secret=SECRET)
            deliveries.deliver_next(db, DeliverySettings(timeout_seconds=2,
                                                         private_networks=True), worker="doc")
    finally:
        db.dispose()
    [request] = hook.requests
    header = request.headers["Grader-Signature"]
    assert verify(request.body, header, SECRET)
    assert not verify(request.body + b" ", header, SECRET)
    assert not verify(request.body, header, SECRET.replace("d", "e"))
    assert not verify(request.body, header, SECRET, now=time.time() + 301)
    assert not verify(request.body, "v1=" + header.split("v1=")[1], SECRET)
