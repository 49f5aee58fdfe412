"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from grader.__about__ import __version__
from grader.jobs.grading import GradeFunction, grade_request
from grader.settings import Settings
from grader.store import Database, migrate, queue_counts
from grader.templating import environment
from grader.web import _candidate, _integrations, _judgement, _reviewer, _tokens, _webhooks
from grader.web._catalog import Catalog
from grader.web._deps import LoginRequired, Service, ServiceDep, token_alternative
from grader.web._files import highlight_css
from grader.web._problems import install as install_problems
from grader.web._protocol import AllowedMethods, JsonBodies
from grader.web._schemas import Health
from grader.web._security import Signing, load_secret
from grader.worker import WorkerPool, submissions_root

log = logging.getLogger("grader.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "script-src 'none'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "Referrer-Policy": "no-referrer",  # candidate links carry their token in the path
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings, *, run_workers: bool = False,
               grade: GradeFunction = grade_request) -> FastAPI:
    """The web app over ``settings``' database and data directory.

    With ``run_workers`` the app also runs a worker pool in this process (``grader serve``),
    grading with ``grade`` (see ``WorkerPool``); the schema is migrated at startup either way.
    """
    db = Database(settings.resolved_database_url())
    data = settings.data_dir.resolve()
    service = Service(settings=settings, db=db,
                      catalog=Catalog(settings.assignments_dir, data / "bundles", settings),
                      signing=Signing(load_secret(settings)), templates=environment(),
                      submissions_root=submissions_root(settings), uploads_dir=data / "uploads")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        revision = migrate(db)
        log.info("store at schema %s (%s)", revision, "SQLite" if db.is_sqlite else "PostgreSQL")
        if run_workers:
            service.pool = WorkerPool(settings, db, grade=grade).start()
            log.info("grading with %d worker slot(s)", service.pool.concurrency)
        try:
            yield
        finally:
            if service.pool is not None:
                service.pool.stop()
            db.dispose()

    app = FastAPI(title="ML take-home grader", version=__version__, lifespan=lifespan,
                  description="Candidates upload submissions through their invite's token; "
                              "reviewers read reports behind a login. Every page has a JSON "
                              "twin under /api.")
    app.state.service = service
    app.include_router(_candidate.router)
    app.include_router(_reviewer.router)
    app.include_router(_judgement.router)
    app.include_router(_tokens.router)
    app.include_router(_integrations.router)
    app.include_router(_webhooks.router)
    app.mount("/static", StaticFiles(packages=[("grader.web", "static")]), name="static")

    @app.get("/api/health", response_model=Health, tags=["service"])
    def health(service: ServiceDep) -> Health:
        """Liveness, and the queue's jobs per state."""
        return Health(status="ok", database="sqlite" if service.db.is_sqlite else "postgresql",
                      queue=queue_counts(service.db),
                      workers=service.pool.concurrency if service.pool else 0)

    @app.get("/highlight.css", include_in_schema=False)
    def pygments_css() -> Response:
        return Response(highlight_css(), media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/review", status_code=303)

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/review/login?next={exc.next_path}", status_code=303)

    install_problems(app)
    problems_openapi = app.openapi
    app.openapi = lambda: token_alternative(problems_openapi())  # type: ignore[method-assign]
    app.add_middleware(AllowedMethods, routes=[
        *app_routes(), *(route for route in app.router.routes if isinstance(route, Route))])
    app.add_middleware(JsonBodies)
    # Added last, so outermost: every answer, the other middlewares' own too, gets the headers.
    app.add_middleware(_SecurityHeaders)
    return app


class _SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (plain ASGI: no per-request task overhead)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.lower().encode(), value.encode())
                         for name, value in SECURITY_HEADERS.items()
                         if name.lower().encode() not in present
                         and not (static and name == "Cache-Control")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_routes() -> list:
    """Every route the app serves, the routers' included (for checks that walk them all)."""
    return [*_candidate.router.routes, *_reviewer.router.routes, *_judgement.router.routes,
            *_tokens.router.routes, *_webhooks.router.routes, *_integrations.router.routes]
