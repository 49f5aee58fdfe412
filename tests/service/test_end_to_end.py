"""The real thing: `grader serve` grading through the real pipeline and the real Docker Engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.kit import (
    PASSWORD,
    REVIEWER,
    Server,
    database_url,
    folder_zip,
    free_port,
    login,
    run_cli,
    service_env,
    token_of,
    upload,
    wait_final,
    wait_for,
)

from grader.instance import open_instance

pytestmark = pytest.mark.docker


def test_reference_and_baseline_are_graded_through_the_pipeline(
        tmp_path: Path, assignments_dir: Path, runner_image: str) -> None:
    env = service_env(data_dir=tmp_path / "data", assignments_dir=assignments_dir,
                      database_url=database_url("sqlite", tmp_path), port=free_port(),
                      fake=False, GRADER_RUNNER_IMAGE=runner_image)
    run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
    invite = run_cli(env, "invite", "create", "starter", "--cohort", "e2e", "--label", "ref")
    token = token_of(invite.strip().splitlines()[-1])
    reference = assignments_dir / "starter" / "reference"
    server = Server(env, tmp_path / "serve.log").start()
    try:
        with server.client() as client:
            ids = [upload(client, token, folder_zip(reference / name)).json()["id"]
                   for name in ("solution", "constant")]
            for i in ids:
                wait_final(client, token, i, timeout=180)
            login(client)
            # A fresh data dir is a private instance whose anchors are measured in the
            # background: until they land, a report is placed on the recorded scores and marked
            # provisional (the constant's accuracy differs per instance), then re-scored in place.
            details = [wait_for(lambda i=i: anchored(client, i), timeout=300,
                                what=f"submission {i} to be placed on its instance's anchors")
                       for i in ids]
    finally:
        server.stop()
    assert [d["report"]["total"] for d in details] == [100.0, 0.0]
    detail = details[0]
    report = detail["report"]
    assert {t["outcome"] for t in report["hidden_tests"]} == {"passed"}
    assert [p["outcome"] for p in report["phases"]] == ["ok", "ok", "ok"]
    assert report["reproduction"]["runner_image_digest"].startswith("sha256:")
    # A fresh data dir grades on its own private instance, never on the published seeds.
    assert report["reproduction"]["demo"] is False and report["reproduction"]["seeds"] == {}
    assert report["reproduction"]["instance_id"] == open_instance(tmp_path / "data").id
    assert sorted(details[-1]["cohort"]["totals"]) == [0.0, 100.0]


def anchored(client, submission_id: int) -> dict | None:
    detail = client.get(f"/api/review/submissions/{submission_id}").json()
    anchors = detail["report"]["anchors"]
    return detail if anchors["source"] == "instance" and not anchors["provisional"] else None
