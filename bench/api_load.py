"""Latency of the candidate status route and the reviewer report route under load.

Starts its own `grader serve` (SQLite, the real pipeline, two grading slots at 1 CPU each) on a
loopback port, grades one real submission to read, then measures p50 and p99 of

    status   GET /api/candidate/{token}/submissions/{id}   (what the status page polls)
    report   GET /api/review/submissions/{id}              (the full report, cohort, files)

at 50 concurrent clients, first with the queue idle, then while two gradings run (their build
phase sleeps, so both stay in flight while the load runs). Loopback only; bounded: --requests per
route and phase, and a --deadline in seconds per phase.

    .venv/bin/python bench/api_load.py [--requests 1000] [--clients 50] [--deadline 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
# The test kit (tests/support) starts and drives the server, as in the service tests.
sys.path.insert(0, str(REPO / "tests"))

from support.kit import (  # noqa: E402
    PASSWORD,
    REVIEWER,
    Server,
    folder_zip,
    free_port,
    login,
    run_cli,
    service_env,
    upload,
    wait_final,
    wait_for,
)

from grader.authoring import new_assignment  # noqa: E402

SLEEP_SECONDS = 90
ERRORS: dict[str, int] = {}


async def _measure(base: str, path: str, cookies: dict[str, str], *, requests: int,
                   clients: int, deadline: float) -> list[float]:
    """Latencies of successful requests; failures are counted in ERRORS, never retried."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    stop_at = time.monotonic() + deadline
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits,
                                 timeout=30) as client:
        async def one_client() -> None:
            while time.monotonic() < stop_at:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.HTTPError:
                    ERRORS[path] = ERRORS.get(path, 0) + 1
                    continue
                if response.status_code != 200:
                    ERRORS[path] = ERRORS.get(path, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)
        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


def _row(label: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (f"{label:<26} {len(ordered):>6} {statistics.median(ordered) * 1000:>9.1f} "
            f"{p99 * 1000:>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="api-load-") as tmp:
        root = Path(tmp)
        folder = new_assignment(root / "assignments", "starter")
        reference = folder / "reference" / "solution"
        slow = root / "slow"
        slow.mkdir()
        (slow / "solution.py").write_text((reference / "solution.py").read_text().replace(
            "def train(train_path, work_dir):\n",
            f"def train(train_path, work_dir):\n    import time\n    time.sleep({SLEEP_SECONDS})\n",
            1))
        env = service_env(data_dir=root / "data", assignments_dir=root / "assignments",
                          database_url=f"sqlite:///{root / 'grader.db'}", port=free_port(),
                          fake=False, GRADER_WORKERS="2")
        run_cli(env, "reviewer", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n")
        server = Server(env, root / "serve.log").start()
        try:
            with server.client() as client:
                client.headers["X-CSRF-Token"] = login(client)
                token = client.post("/api/review/assignments/starter/invites",
                                    json={"cohort": "bench", "allowance": 10}).json()["token"]
                graded = upload(client, token, folder_zip(reference)).json()["id"]
                wait_final(client, token, graded, timeout=180)
                cookies = {"grader_session": client.cookies["grader_session"]}
            routes = {"status": f"/api/candidate/{token}/submissions/{graded}",
                      "report": f"/api/review/submissions/{graded}"}

            def phase(name: str) -> dict[str, list[float]]:
                return {route: asyncio.run(_measure(
                    server.base, path, cookies if route == "report" else {},
                    requests=args.requests, clients=args.clients, deadline=args.deadline))
                        for route, path in routes.items()}

            idle = phase("idle")
            with server.client() as client:
                for _ in range(2):
                    upload(client, token, folder_zip(slow))
                wait_for(lambda: client.get("/api/health").json()["queue"]["running"] == 2,
                         timeout=60, what="two gradings to start")
                busy = phase("busy")
                still = client.get("/api/health").json()["queue"]["running"]
        except BaseException:
            print(server.output(), file=sys.stderr)
            raise
        finally:
            server.stop()
    print(f"{args.clients} concurrent clients, loopback, SQLite, `grader serve` with 2 slots")
    print(f"{'route / queue':<26} {'n':>6} {'p50 ms':>9} {'p99 ms':>9}")
    for route in ("status", "report"):
        print(_row(f"{route} / idle", idle[route]))
        print(_row(f"{route} / 2 gradings running", busy[route]))
    print(f"gradings still running at the end of the busy phase: {still}; failed requests: "
          f"{sum(ERRORS.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
