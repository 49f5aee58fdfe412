"""Rendering pages: one Jinja2 environment, the layout's context, and error pages."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from grader.__about__ import __version__


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        # The report's own templates too: both pages include the same signals section.
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("grader.web", "templates"),
                                    jinja2.PackageLoader("grader", "templates")]),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["score"] = lambda v: "—" if v is None else f"{v:.1f}"
    env.filters["pts"] = lambda v: "—" if v is None else f"{v:g}"
    env.filters["num"] = lambda v, digits=4: "—" if v is None else f"{v:.{digits}g}"
    env.filters["when"] = lambda v: "—" if v is None else v.strftime("%Y-%m-%d %H:%M UTC")
    env.filters["mib"] = lambda v: "—" if v is None else f"{v / 1048576:.0f}"
    env.filters["kib"] = lambda v: f"{v / 1024:.1f} KiB"
    return env


def render(request: Request, template: str, *, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    service = request.app.state.service
    context.setdefault("login", None)
    context.setdefault("title", "ML take-home grader")
    html = service.templates.get_template(template).render(
        request=request, version=__version__, demo=service.settings.demo, **context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
