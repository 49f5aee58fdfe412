"""The one Jinja2 environment: the standalone HTML report and the web pages render through it.

Both load the report's sections from the same macros (``grader/templates/_report.html.j2``), so a
table fixed once is fixed on both. Autoescaping is on for every template and string; the filters
below are the only number and date formats the pages use.
"""

from __future__ import annotations

import functools

import jinja2

from grader.intervals import MIN_ITEMS


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        # Not PackageLoader("grader.web", ...): that would import the web app into every
        # `grader grade` that writes a report.
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("grader", "web/templates"),
                                    jinja2.PackageLoader("grader", "templates"),
                                    # The standalone report inlines the pages' stylesheet.
                                    jinja2.PackageLoader("grader", "web/static")]),
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
    # The report's note on intervals names the fewest items a bootstrapped metric is bounded over.
    env.globals["min_items"] = MIN_ITEMS
    return env
