"""Inline SVG charts for the report page: the cohort's totals, and each metric beside baselines.

Plain SVG with presentation attributes (no script, no inline style), so the page's Content
Security Policy stays strict. Every label goes through markupsafe's escape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH = 640
INK, MUTED, ACCENT, BASE, GRID = "#1d232a", "#8a94a3", "#d9480f", "#1c6fb8", "#e4e7ec"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _anchor(x: float, width: float = WIDTH, margin: float = 90) -> str:
    """Labels near an edge grow inwards, so none is cut off."""
    return "start" if x < margin else "end" if x > width - margin else "middle"


def total_histogram(totals: Sequence[float], mine: float | None, *, bins: int = 10) -> Markup:
    """Bars of how many submissions fell in each tenth of 0-100; this one's bar highlighted."""
    height, top, bottom, left = 170, 14, 26, 30
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
    for index, count in enumerate(counts):
        bar_h = plot_h * count / peak
        x, y = left + index * bar_w, top + plot_h - bar_h
        fill = ACCENT if index == mine_bin else MUTED
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" '
                     f'height="{bar_h:.1f}" fill="{fill}"><title>{index * 10}-{index * 10 + 10}: '
                     f"{count}</title></rect>")
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="11" '
                         f'text-anchor="middle" fill="{INK}">{count}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="11" fill="{MUTED}">'
                     f"{index * 10}</text>")
    parts.append(f'<text x="{left + plot_w - 14:.1f}" y="{height - 8}" font-size="11" '
                 f'fill="{MUTED}">100</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
                 f'y2="{top + plot_h}" stroke="{GRID}"/>')
    if mine is not None:
        x = left + plot_w * min(100.0, max(0.0, mine)) / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}" '
                     f'stroke="{INK}" stroke-dasharray="3 3"/>')
        parts.append(f'<text x="{x + (-4 if x > WIDTH - 90 else 4):.1f}" y="{top + 6}" '
                     f'font-size="11" text-anchor="{"end" if x > WIDTH - 90 else "start"}" '
                     f'fill="{INK}">this: {_fmt(mine)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated label is escaped


def metric_strip(name: str, mine: float | None, cohort: Sequence[float],
                 baselines: Mapping[str, float], *, higher_is_better: bool) -> Markup:
    """One axis: the cohort's values as dots, baselines as labelled ticks, this value on top."""
    height, left, right, axis_y = 74, 20, 20, 40
    values = [*cohort, *baselines.values(), *([mine] if mine is not None else [])]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    span = WIDTH - left - right

    def x_of(value: float) -> float:
        return left + span * (value - low) / (high - low)

    parts = [f'<svg class="chart strip" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(name)}: this submission, {len(cohort)} in the cohort, "
             f"{len(baselines)} baselines ({'higher' if higher_is_better else 'lower'} is "
             "better)</title>",
             f'<line x1="{left}" y1="{axis_y}" x2="{WIDTH - right}" y2="{axis_y}" '
             f'stroke="{GRID}" stroke-width="2"/>',
             f'<text x="{left}" y="{height - 4}" font-size="11" fill="{MUTED}">'
             f"{escape(_fmt(low))}</text>",
             f'<text x="{WIDTH - right}" y="{height - 4}" font-size="11" text-anchor="end" '
             f'fill="{MUTED}">{escape(_fmt(high))}</text>']
    for value in cohort:
        parts.append(f'<circle cx="{x_of(value):.1f}" cy="{axis_y}" r="4" fill="{MUTED}" '
                     f'fill-opacity="0.55"><title>{escape(_fmt(value))}</title></circle>')
    for index, (label, value) in enumerate(sorted(baselines.items(), key=lambda kv: kv[1])):
        x = x_of(value)
        y = 14 if index % 2 == 0 else 26
        parts.append(f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{axis_y + 8}" '
                     f'stroke="{BASE}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="{_anchor(x)}" '
                     f'fill="{BASE}">{escape(label)} {escape(_fmt(value))}</text>')
    if mine is not None:
        parts.append(f'<circle cx="{x_of(mine):.1f}" cy="{axis_y}" r="7" fill="{ACCENT}" '
                     f'stroke="white" stroke-width="2"><title>this submission: '
                     f"{escape(_fmt(mine))}</title></circle>")
        parts.append(f'<text x="{x_of(mine):.1f}" y="{axis_y + 22}" font-size="11" '
                     f'text-anchor="{_anchor(x_of(mine))}" fill="{ACCENT}">this '
                     f"{escape(_fmt(mine))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated label is escaped
