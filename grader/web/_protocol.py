"""HTTP details the routers leave to the app, as two plain ASGI middlewares.

- ``AllowedMethods``: ``OPTIONS`` is answered for every route with an ``Allow`` header listing
  what every route at that path accepts, and a 405's ``Allow`` says the same (Starlette's names
  only the first route that matches the path, so a path with GET and POST routes said "GET").
- ``JsonBodies``: a JSON body is read (up to ``JSON_BODY_LIMIT``) and checked before the route
  sees it. FastAPI refuses a body that is not JSON, or not UTF-8, before it runs the route's
  dependencies, so an anonymous caller learned about a body before being asked to log in. A body
  that does not parse reaches the route as an opaque one instead; it fails validation after the
  access checks, and the validation Problem says why it could not be read (``malformed_json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.web._schemas import Problem

JSON_BODY_LIMIT = 1024 * 1024  # bodies here are a login, an invite, a note: a few hundred bytes
_MALFORMED = "grader.malformed_json"
_OPAQUE = b"application/octet-stream"


def allowed_methods(routes: Sequence[Route], scope: Scope) -> list[str]:
    """What the routes at this scope's path accept, OPTIONS included; empty if none is there."""
    methods: set[str] = set()
    for route in routes:
        if route.methods and route.matches({**scope, "method": "OPTIONS"})[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods | {"OPTIONS"}) if methods else []


class AllowedMethods:
    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            allow = allowed_methods(self.routes, scope)
            if allow:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", ", ".join(allow).encode())]})
                await send({"type": "http.response.body", "body": b""})
                return

        async def send_allow(message: Message) -> None:
            allow = (allowed_methods(self.routes, scope) if message["type"] ==
                     "http.response.start" and message["status"] == 405 else [])
            if allow:  # empty for what the app mounts (static files answer their own 405)
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name.lower() != b"allow"]
                message = {**message, "headers": [*headers,
                                                  (b"allow", ", ".join(allow).encode())]}
            await send(message)

        await self.app(scope, receive, send_allow)


def malformed_json(scope: Scope) -> str | None:
    """Why the request's JSON body could not be read, if it could not."""
    return scope.get(_MALFORMED)


class JsonBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(Headers(scope=scope).get("content-type", "")):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > JSON_BODY_LIMIT:
                await _too_large(send)
                return
            if not message.get("more_body", False):
                break
        problem = _parse_error(bytes(body))
        if problem is not None:
            scope = {**scope, _MALFORMED: problem, "headers": [
                (name, _OPAQUE if name.lower() == b"content-type" else value)
                for name, value in scope["headers"]]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _parse_error(body: bytes) -> str | None:
    if not body:
        return None
    try:
        json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start})"
    except ValueError as exc:
        return f"the body is not valid JSON ({exc})"
    except RecursionError:
        return "the body's JSON is nested too deeply"
    return None


async def _too_large(send: Send) -> None:
    problem = Problem(title="Request body too large", status=413,
                      detail=f"A JSON body may be at most {JSON_BODY_LIMIT // 1024} KiB.")
    body = problem.model_dump_json(exclude_none=True).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
