"""An assignment's README as safe HTML, with a table of contents for the long ones.

The README is the assignment author's, but it is rendered on a page that holds a candidate's token,
so it is treated as untrusted markup: CommonMark plus tables (markdown-it-py) with raw HTML off, so
``<script>`` or an ``onerror`` attribute comes out as text, and markdown-it's link check refuses
``javascript:``, ``vbscript:`` and ``data:`` (other than images) URLs.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["Heading", "RenderedMarkdown", "render_markdown"]

# Fewer sections than this read fine without a contents list.
TOC_MIN_HEADINGS = 4
_SLUG_DROP = re.compile(r"[^\w\- ]+")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    toc: list[Heading]
    """The README's ``##`` and ``###`` headings (``level`` as written in the Markdown), when there
    are enough of them to need a contents list."""


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}
                      ).enable("table")


def _slug(text: str, taken: set[str]) -> str:
    base = "-".join(_SLUG_DROP.sub("", text.lower()).split()) or "section"
    base = f"readme-{base}"  # never collides with the page's own ids
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def _anchor_headings(tokens: list[Token]) -> list[Heading]:
    """Give each heading an id, one level down: the page's own ``<h1>`` is the assignment's
    title, so the README's ``#`` becomes an ``<h2>`` and the outline stays one tree."""
    headings: list[Heading] = []
    taken: set[str] = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        level = int(opening.tag[1])
        text = "".join(child.content for child in inline.children or []
                       if child.type in ("text", "code_inline"))
        anchor = _slug(text, taken)
        opening.attrSet("id", anchor)
        headings.append(Heading(level=level, text=text, anchor=anchor))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    return headings


def render_markdown(source: str) -> RenderedMarkdown:
    """The README's HTML, every heading with an id, and its contents list when it is long."""
    parser = _parser()
    tokens = parser.parse(source)
    headings = _anchor_headings(tokens)
    html = parser.renderer.render(tokens, parser.options, {})
    sections = [h for h in headings if h.level in (2, 3)]
    return RenderedMarkdown(html=html, toc=sections if len(sections) >= TOC_MIN_HEADINGS else [])
