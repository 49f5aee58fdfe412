"""Rendering pages through the one Jinja2 environment, with the layout's context."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from grader.__about__ import __version__


def render(request: Request, template: str, *, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    service = request.app.state.service
    context.setdefault("login", None)
    context.setdefault("title", "ML take-home grader")
    html = service.templates.get_template(template).render(
        request=request, version=__version__, demo=service.settings.demo, **context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
