"""Webhook events from the real code paths (an upload through ``submissions.submit``, gradings in
the worker pool's child processes with a stand-in grader, a reviewer's note and decision through
``grader.judgement``) reach a real receiver on 127.0.0.1: signed (checked with the standard
library's hmac here), each event once per endpoint, and never carrying the candidate's token, the
submission's files, the report's logs or reviewers' notes (unless the endpoint asked for notes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from support.kit import TESTS, solution_zip, wait_for
from support.receiver import receiver
from support.webhook_fakes import grade_or_fail

from grader import judgement, webhooks
from grader.authoring import find_assignment, new_assignment
from grader.settings import DeliverySettings, Settings
from grader.store import (
    Database,
    Decision,
    Invite,
    JobState,
    accept_submission,
    claim_job,
    create_invite,
    create_reviewer,
    create_webhook_endpoint,
    get_submission,
    list_deliveries,
    migrate,
)
from grader.submissions import submit
from grader.worker import WorkerPool, submissions_root

FILE_MARKER = "CANDIDATE-FILE-CONTENT-7d1f"
NOTE = "NOTE-MARKER: strong retrieval, weak README"


def _verified(request, secret: str) -> dict:
    fields = dict(part.split("=", 1) for part in request.headers["Grader-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + request.body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"])
    assert abs(int(fields["t"]) - time.time()) < 120
    event = json.loads(request.body)
    assert request.headers["Grader-Event-Id"] == event["id"]
    assert request.headers["Grader-Event"] == event["type"]
    return event


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    root = tmp_path / "assignments"
    new_assignment(root, "starter")
    settings = Settings(data_dir=tmp_path / "data", assignments_dir=root, poll_seconds=0.05,
                        max_attempts=1, lease_seconds=5, limits={"cpus": 1},
                        public_url="https://grader.example.com",
                        deliveries=DeliverySettings(timeout_seconds=2, backoff_seconds=0.1,
                                                     private_networks=True))
    db = Database(settings.resolved_database_url())
    migrate(db)
    yield settings, db
    db.dispose()


def test_events_from_submit_grade_and_decide_reach_each_endpoint_signed_and_clean(
        site, tmp_path: Path) -> None:
    settings, db = site
    assignment, _ = find_assignment(settings.assignments_dir, "starter",
                                    ceiling=settings.limits)
    with db.write() as session:
        reviewer_id = create_reviewer(session, "rev@example.com", "a long enough password").id
        invite, token = create_invite(session, assignment_id="starter", cohort="spring",
                                      label="Ada", allowance=5, valid_for=timedelta(days=1),
                                      created_by="rev@example.com")
    with db.read() as session:
        invite = session.get(Invite, invite.id)

    with receiver() as plain, receiver() as with_notes:
        _, plain_secret = webhooks.create_endpoint(db, url=plain.url, events=list(
            webhooks.EventType), include_notes=False, created_by="rev@example.com")
        _, notes_secret = webhooks.create_endpoint(
            db, url=with_notes.url, events=["decision.made"], include_notes=True,
            created_by="rev@example.com")

        def upload(**directives: float) -> int:
            path = tmp_path / f"upload-{len(directives)}-{time.monotonic_ns()}.zip"
            path.write_bytes(solution_zip(f"# {FILE_MARKER}\n", **directives))
            return submit(db, invite, assignment, path, size_bytes=path.stat().st_size,
                          rules=settings.intake, submissions_root=submissions_root(settings)).id

        graded = upload(score=73)
        failed = upload(code_fails=1)
        broken = upload(infra_fail=5)
        pool = WorkerPool(settings, db, concurrency=1, grade=grade_or_fail).start()
        try:
            wait_for(lambda: len(plain.requests) >= 6, timeout=60, what="six events")
            judgement.add_note(db, lambda _id: assignment, viewer_id=reviewer_id,
                               submission_id=graded, body=NOTE)
            judgement.decide(db, lambda _id: assignment, viewer_id=reviewer_id,
                             submission_id=graded, decision=Decision.ADVANCE)
            wait_for(lambda: len(plain.requests) >= 7 and with_notes.requests, timeout=30,
                     what="the decision's events")
        finally:
            pool.stop()

    events = [_verified(request, plain_secret) for request in plain.requests]
    by_type: dict[str, list[dict]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    assert sorted(e["data"]["submission"]["id"] for e in by_type["submission.received"]) == \
        [graded, failed, broken]
    [done] = by_type["submission.graded"]
    assert done["data"]["submission"] == {
        "id": graded, "assignment_id": "starter", "cohort": "spring", "invite_id": invite.id,
        "received_at": done["data"]["submission"]["received_at"]}
    assert done["data"]["total"] == 73 and done["data"]["status"] == "graded"
    assert done["data"]["report_url"] == f"https://grader.example.com/review/submissions/{graded}"
    assert done["version"] == 1
    errored = {e["data"]["submission"]["id"]: e["data"] for e in by_type["submission.errored"]}
    assert errored[failed]["side"] == "candidate"
    assert errored[failed]["failure_kind"] == "exception"
    assert errored[broken]["side"] == "grader" and errored[broken]["failure_kind"] is None
    [decided] = by_type["decision.made"]
    assert decided["data"]["decision"] == "advance"
    assert decided["data"]["decided_by"] == "rev@example.com"
    assert decided["data"]["notes"] is None
    assert len({e["id"] for e in events}) == len(events) == 7

    [noted] = [_verified(request, notes_secret) for request in with_notes.requests]
    assert noted["id"] == decided["id"]  # one event, one id, whichever endpoint receives it
    assert [n["body"] for n in noted["data"]["notes"]] == [NOTE]

    received = b"".join(request.body + json.dumps(request.headers).encode()
                        for request in plain.requests + with_notes.requests)
    assert token.encode() not in received
    assert FILE_MARKER.encode() not in received
    assert b"SECRET-LOG-LINE" not in received  # the report's phase logs
    assert b"fake engine outage" not in received  # the grader's own error, for operators only
    plain_bytes = b"".join(request.body for request in plain.requests)
    assert b"NOTE-MARKER" not in plain_bytes

    with db.read() as session:
        assert {d.state for d in list_deliveries(session)} == {JobState.DONE}


def test_an_endpoint_needs_known_events_and_a_deliverable_url(site) -> None:
    _, db = site
    with pytest.raises(webhooks.WebhookRefused, match="unknown event"):
        webhooks.create_endpoint(db, url="https://example.com/h", events=["submission.made"],
                                 include_notes=False, created_by="r")
    with pytest.raises(webhooks.WebhookRefused, match="at least one event"):
        webhooks.create_endpoint(db, url="https://example.com/h", events=[],
                                 include_notes=False, created_by="r")
    with pytest.raises(webhooks.WebhookRefused, match="credentials"):
        webhooks.create_endpoint(db, url="https://u:p@example.com/h",
                                 events=["decision.made"], include_notes=False, created_by="r")
    endpoint, secret = webhooks.create_endpoint(db, url="https://example.com/h",
                                                events=["decision.made"], include_notes=False,
                                                created_by="r")
    assert secret.startswith("whsec_") and len(secret) >= 40
    assert webhooks.remove_endpoint(db, endpoint.id)
    assert not webhooks.remove_endpoint(db, endpoint.id)


def test_the_settings_endpoint_receives_every_event_and_follows_the_settings(site) -> None:
    from grader.store import list_webhook_endpoints

    settings, db = site
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        DeliverySettings(webhook_url="https://example.com/h", webhook_secret="short")
    configured = settings.model_copy(update={"deliveries": DeliverySettings(
        webhook_url="https://example.com/h", webhook_secret="s" * 32)})
    webhooks.sync_configured_endpoint(db, configured)
    webhooks.sync_configured_endpoint(db, configured)
    with db.read() as session:
        [row] = list_webhook_endpoints(session)
    assert row.source == "settings" and row.events.split() == list(webhooks.EventType)
    assert not webhooks.remove_endpoint(db, row.id)  # not a reviewer's to remove
    webhooks.sync_configured_endpoint(db, settings)
    with db.read() as session:
        assert list_webhook_endpoints(session) == []


def test_a_receiver_that_hangs_never_holds_up_a_grading(site, tmp_path: Path) -> None:
    settings, db = site
    settings = settings.model_copy(update={"deliveries": DeliverySettings(
        timeout_seconds=30, private_networks=True)})
    assignment, _ = find_assignment(settings.assignments_dir, "starter",
                                    ceiling=settings.limits)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=5, valid_for=timedelta(days=1), created_by="t")
    with db.read() as session:
        invite = session.get(Invite, invite.id)
    hold = threading.Event()
    with receiver(hold=hold) as hung:
        webhooks.create_endpoint(db, url=hung.url, events=["submission.received"],
                                 include_notes=False, created_by="t")
        path = tmp_path / "upload.zip"
        path.write_bytes(solution_zip(score=40))
        submission_id = submit(db, invite, assignment, path, size_bytes=path.stat().st_size,
                               rules=settings.intake,
                               submissions_root=submissions_root(settings)).id
        pool = WorkerPool(settings, db, concurrency=1, grade=grade_or_fail).start()
        try:
            wait_for(lambda: hung.requests, timeout=30, what="the delivery to reach the receiver")
            wait_for(lambda: _status(db, submission_id) == "graded", timeout=60,
                     what="the grading")
            assert not hold.is_set()  # graded while the receiver still held the delivery
            with db.read() as session:
                [delivery] = list_deliveries(session)
            assert delivery.state == JobState.RUNNING and delivery.attempts == 1
            hold.set()
            wait_for(lambda: _delivery_state(db) == JobState.DONE, timeout=30,
                     what="the delivery, once answered")
        finally:
            hold.set()
            pool.stop()


def _status(db: Database, submission_id: int) -> str:
    with db.read() as session:
        return get_submission(session, submission_id).status


def _delivery_state(db: Database) -> str:
    with db.read() as session:
        return list_deliveries(session)[0].state


def test_a_job_whose_worker_died_on_every_attempt_sends_submission_errored(
        site, tmp_path: Path) -> None:
    settings, db = site
    assignment, _ = find_assignment(settings.assignments_dir, "starter",
                                    ceiling=settings.limits)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=5, valid_for=timedelta(days=1), created_by="t")
    with db.read() as session:
        invite = session.get(Invite, invite.id)
    with receiver() as got:
        secret = webhooks.create_endpoint(db, url=got.url, events=["submission.errored"],
                                          include_notes=False, created_by="t")[1]
        path = tmp_path / "upload.zip"
        path.write_bytes(solution_zip(score=40))
        submission_id = submit(db, invite, assignment, path, size_bytes=path.stat().st_size,
                               rules=settings.intake,
                               submissions_root=submissions_root(settings)).id
        # A worker claims it and dies (its lease lapses) on its one attempt.
        assert claim_job(db, worker="died", lease_seconds=0.1,
                         max_attempts=settings.max_attempts) is not None
        time.sleep(0.2)
        pool = WorkerPool(settings, db, concurrency=1, grade=grade_or_fail).start()
        try:
            wait_for(lambda: got.requests, timeout=30, what="submission.errored")
        finally:
            pool.stop()
    assert _status(db, submission_id) == "errored"
    [request] = got.requests
    event = _verified(request, secret)
    assert event["type"] == "submission.errored"
    assert event["data"]["submission"]["id"] == submission_id
    assert event["data"]["side"] == "grader" and event["data"]["failure_kind"] is None


def test_a_decision_not_in_the_store_queues_nothing_and_raises_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(db)
    with db.write() as session:
        create_webhook_endpoint(session, url="https://hooks.example/grader",
                                events=[webhooks.EventType.DECISION_MADE.value],
                                secret="whsec_" + "k" * 40, include_notes=False,
                                created_by="lead@example.com")
        invite, _token = create_invite(session, assignment_id="starter", cohort="c",
                                       label="Ada", allowance=1, valid_for=timedelta(days=1),
                                       created_by="lead@example.com")
    submission = accept_submission(db, invite_id=invite.id, sha256="0" * 64, size_bytes=1,
                                   files_dir="x")

    webhooks.decision_made(db, submission.id, decision_id=12345)

    with db.read() as session:
        assert list_deliveries(session) == []
    db.dispose()
