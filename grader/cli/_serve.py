"""`grader serve` (web app + worker pool, one process) and `grader worker` (workers only)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import typer

from grader.cli._output import abort, info

if TYPE_CHECKING:
    from grader.jobs.grading import GradeFunction

# Tests and benches grade with a fast stand-in through a real `grader serve` or `grader worker`;
# read here, at the door, and handed to the worker pool (never a setting).
GRADER_OPTION = typer.Option(
    None, "--grader", envvar="GRADER_WORKER_GRADER", hidden=True, metavar="MODULE:FUNCTION",
    help="tests and benches only: grade with this function instead of the pipeline")


def _grade_function(reference: str | None) -> GradeFunction:
    from grader.jobs.grading import grade_function, grade_request

    if reference is None:
        return grade_request
    try:
        return grade_function(reference)
    except ValueError as exc:
        abort(str(exc))


def _logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(
    host: str = typer.Option(None, help="address to listen on [default: settings.host]"),
    port: int = typer.Option(None, help="port to listen on [default: settings.port]"),
    workers: int = typer.Option(None, min=0, help="grading slots in this process; 0 for none "
                                "[default: as many as the host's CPUs allow]"),
    grader: str = GRADER_OPTION,
) -> None:
    """Run the web app and a pool of grading workers over the configured store."""
    import uvicorn

    from grader.settings import get_settings
    from grader.web import create_app
    from grader.worker import max_concurrency

    settings = get_settings()
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    host = host or settings.host
    port = settings.port if port is None else port
    _logging()
    info(f"store: {_redacted(settings.resolved_database_url())}; data: "
         f"{settings.data_dir.resolve()}; assignments: {settings.assignments_dir}")
    app = create_app(settings, run_workers=max_concurrency(settings) > 0
                     and settings.workers != 0, grade=_grade_function(grader))
    config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=False,
                            timeout_graceful_shutdown=10)
    logging.getLogger("uvicorn.access").addFilter(_RedactTokens())
    uvicorn.Server(config).run()


class _RedactTokens(logging.Filter):
    """Invite tokens are credentials: keep them out of the access log."""

    _TOKEN = re.compile(r"^(/i/|/api/candidate/)[^/?]+")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], self._TOKEN.sub(r"\1<token>", args[2]), *args[3:])
        return True


def worker(
    database_url: str = typer.Option(None, "--database-url", envvar="GRADER_DATABASE_URL",
                                     help="the shared store, e.g. postgresql+psycopg://..."),
    concurrency: int = typer.Option(None, min=1, help="grading slots [default: as many as "
                                    "the host's CPUs allow]"),
    grader: str = GRADER_OPTION,
) -> None:
    """Grade jobs from a shared store (PostgreSQL for several hosts) until stopped."""
    from grader.settings import get_settings
    from grader.worker import max_concurrency, run_standalone

    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    ceiling = max_concurrency(settings.model_copy(update={"workers": None}))
    if concurrency is not None and concurrency > ceiling:
        abort(f"{concurrency} slots are more than this host's CPUs hold of the smallest "
              f"assignment's grading; pass --concurrency {ceiling} or fewer")
    if concurrency is None and max_concurrency(settings) == 0:
        abort("no grading slots: settings.workers is 0; unset GRADER_WORKERS or pass "
              "--concurrency")
    _logging()
    info(f"worker on {_redacted(settings.resolved_database_url())}")
    run_standalone(settings, concurrency=concurrency, grade=_grade_function(grader))


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
