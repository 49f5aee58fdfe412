"""Inline SVG charts for the report page: the cohort's totals, and each metric beside baselines.

Plain SVG with presentation attributes (no script, no inline style), so the page's Content
Security Policy stays strict. Every label goes through markupsafe's escape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH = 640
# Text colours reach WCAG AA's 4.5:1 on white (MUTED_TEXT 6.0, ACCENT 5.6, BASE 5.2); MUTED,
# for the cohort's dots and bars only, is not text and needs 3:1.
INK, MUTED, MUTED_TEXT, ACCENT, BASE, GRID = (
    "#1d232a", "#8a94a3", "#5b6472", "#b93d0c", "#1c6fb8", "#e4e7ec")
FONT = 11
# A label's width is estimated, not measured (no fonts on the server): a little over system-ui's
# mean advance at 11 px, so the estimate errs towards more space.
CHAR_WIDTH, ROW, GAP = 6.8, 14, 6


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _anchor(x: float, width: float = WIDTH, margin: float = 90) -> str:
    """Labels near an edge grow inwards, so none is cut off."""
    return "start" if x < margin else "end" if x > width - margin else "middle"


def _span(x: float, text: str, anchor: str) -> tuple[float, float]:
    width = len(text) * CHAR_WIDTH
    left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
    return left, left + width


def _rows(labels: Sequence[tuple[float, str, str]]) -> list[int]:
    """A row for each (x, text, anchor) label, given in order of x: the first row whose last
    label ends clear of this one's start, so labels of values close together stack instead of
    printing over each other."""
    ends: list[float] = []
    rows = []
    for x, text, anchor in labels:
        left, right = _span(x, text, anchor)
        row = next((i for i, end in enumerate(ends) if left >= end + GAP), len(ends))
        if row == len(ends):
            ends.append(right)
        ends[row] = right
        rows.append(row)
    return rows


def _text(x: float, y: float, text: str, anchor: str, fill: str) -> str:
    # A white halo under each label, so a tick or the marker line crossing it leaves it legible.
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="{anchor}" '
            f'fill="{fill}" stroke="white" stroke-width="3" paint-order="stroke">'
            f"{escape(text)}</text>")


def total_histogram(totals: Sequence[float], mine: float | None, *, bins: int = 10) -> Markup:
    """Bars of how many submissions fell in each tenth of 0-100; this one's bar highlighted."""
    # The top row is this submission's label alone, clear of the counts over the bars.
    height, top, bottom, left = 184, 28, 26, 30
    counts = [0] * bins
    for total in totals:
        counts[min(bins - 1, max(0, int(total / (100 / bins))))] += 1
    peak = max(counts) or 1
    mine_bin = None if mine is None else min(bins - 1, max(0, int(mine / (100 / bins))))
    plot_w, plot_h = WIDTH - left - 10, height - top - bottom
    bar_w = plot_w / bins
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(f'Totals of {len(totals)} graded submissions in this cohort')}"
             "</title>"]
    labels = []  # drawn last, each on its halo, over the bars and the marker line
    for index, count in enumerate(counts):
        bar_h = plot_h * count / peak
        x, y = left + index * bar_w, top + plot_h - bar_h
        fill = ACCENT if index == mine_bin else MUTED
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" '
                     f'height="{bar_h:.1f}" fill="{fill}"><title>{index * 10}-{index * 10 + 10}: '
                     f"{count}</title></rect>")
        if count:
            labels.append(_text(x + bar_w / 2, y - 3, str(count), "middle", INK))
        labels.append(_text(x, height - 8, str(index * 10), "start", MUTED_TEXT))
    labels.append(_text(left + plot_w, height - 8, "100", "end", MUTED_TEXT))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
                 f'y2="{top + plot_h}" stroke="{GRID}"/>')
    if mine is not None:
        x = left + plot_w * min(100.0, max(0.0, mine)) / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top - 12}" x2="{x:.1f}" y2="{top + plot_h}" '
                     f'stroke="{INK}" stroke-dasharray="3 3"/>')
        labels.append(_text(x, 12, f"this: {_fmt(mine)}", _anchor(x), INK))
    parts.extend(labels)
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated label is escaped


def metric_strip(name: str, mine: float | None, cohort: Sequence[float],
                 baselines: Mapping[str, float], *, higher_is_better: bool) -> Markup:
    """One axis: the cohort's values as dots, baselines as labelled ticks above it (stacked in
    rows where they would touch), this value and the axis' ends below it."""
    left, right = 20, 20
    values = [*cohort, *baselines.values(), *([mine] if mine is not None else [])]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    span = WIDTH - left - right

    def x_of(value: float) -> float:
        return left + span * (value - low) / (high - low)

    above = [(x_of(value), f"{label} {_fmt(value)}", _anchor(x_of(value)))
             for label, value in sorted(baselines.items(), key=lambda kv: kv[1])]
    below = sorted([(float(left), _fmt(low), "start", MUTED_TEXT),
                    (float(WIDTH - right), _fmt(high), "end", MUTED_TEXT),
                    *([(x_of(mine), f"this {_fmt(mine)}", _anchor(x_of(mine)), ACCENT)]
                      if mine is not None else [])])
    above_rows, below_rows = _rows(above), _rows([label[:3] for label in below])
    axis_y = 4 + ROW * (max(above_rows, default=-1) + 1) + 10
    height = axis_y + 10 + ROW * (max(below_rows) + 1)

    parts = [f'<svg class="chart strip" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(name)}: this submission, {len(cohort)} in the cohort, "
             f"{len(baselines)} baselines ({'higher' if higher_is_better else 'lower'} is "
             "better)</title>",
             f'<line x1="{left}" y1="{axis_y}" x2="{WIDTH - right}" y2="{axis_y}" '
             f'stroke="{GRID}" stroke-width="2"/>']
    for value in cohort:
        parts.append(f'<circle cx="{x_of(value):.1f}" cy="{axis_y}" r="4" fill="{MUTED}" '
                     f'fill-opacity="0.55"><title>{escape(_fmt(value))}</title></circle>')
    for (x, text, anchor), row in zip(above, above_rows, strict=True):
        y = 4 + ROW * (row + 1)
        parts.append(f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{axis_y + 8}" '
                     f'stroke="{BASE}"/>')
        parts.append(_text(x, y, text, anchor, BASE))
    if mine is not None:
        parts.append(f'<circle cx="{x_of(mine):.1f}" cy="{axis_y}" r="7" fill="{ACCENT}" '
                     f'stroke="white" stroke-width="2"><title>this submission: '
                     f"{escape(_fmt(mine))}</title></circle>")
    for (x, text, anchor, fill), row in zip(below, below_rows, strict=True):
        parts.append(_text(x, axis_y + 6 + ROW * (row + 1), text, anchor, fill))
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated label is escaped
