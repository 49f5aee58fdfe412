"""A generator's public templates read back as regular expressions: what a candidate who parses the
public grammar does (the instance tests measure what that buys)."""

from __future__ import annotations

import re

__all__ = ["template_regex"]


def template_regex(template: str, captured: tuple[str, ...] = ()) -> str:
    """A template as a regular expression: ``captured`` placeholders as named groups, every other
    placeholder as any text."""
    parts, end = [], 0
    for found in re.finditer(r"\{(\w+)\}", template):
        parts += [re.escape(template[end:found.start()]),
                  f"(?P<{found[1]}>.+?)" if found[1] in captured else ".+?"]
        end = found.end()
    return "".join(parts) + re.escape(template[end:])
