"""Small inline SVG charts for the report: no library, no external asset, nothing executable.

Contract: :func:`line_chart` returns SVG markup as a string in which every piece of text
(title, series names, labels) has been XML-escaped, so platform data can never become
markup. Weeks are the x axis; a missing value is a gap in the line, zero is zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 520, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 38, 28
PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989")


@dataclass(frozen=True)
class Series:
    """One line: a name and one value (or None) per week of the chart's ``weeks``."""

    name: str
    values: Sequence[float | None]


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def line_chart(title: str, weeks: Sequence[datetime], series: Sequence[Series], unit: str = "") -> str:
    """An SVG line chart of ``series`` over ``weeks`` (at least one week), titled and labelled."""
    values = [v for s in series for v in s.values if v is not None]
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(weeks) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h - (v / top) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{LEFT}" y="14" class="chart-title">{escape(title)}{escape(f" ({unit})") if unit else ""}</text>']
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 4}" y="{gy + 4:.1f}" class="axis" text-anchor="end">{top * fraction:g}</text>')
    for i in sorted({0, len(weeks) // 2, len(weeks) - 1}):
        if 0 <= i < len(weeks):
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" class="axis" text-anchor="middle">'
                         f'{weeks[i].strftime("%d %b")}</text>')
    for n, line in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        for segment in _segments(line.values):
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in segment)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            if len(segment) == 1:
                i, v = segment[0]
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>')
    parts.append(_legend(series))
    parts.append("</svg>")
    return "".join(parts)


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known values: a gap (None) breaks the line instead of faking a zero."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, float(value)))
    return [run for run in runs if run]


def _legend(series: Sequence[Series]) -> str:
    items, offset = [], LEFT
    for n, line in enumerate(series[:6]):
        colour = PALETTE[n % len(PALETTE)]
        name = line.name if len(line.name) <= 28 else line.name[:27] + "…"
        items.append(f'<rect x="{offset}" y="{TOP - 17}" width="8" height="8" fill="{colour}"/>'
                     f'<text x="{offset + 11}" y="{TOP - 9}" class="legend">{escape(name)}</text>')
        offset += 16 + 6.5 * len(name)
    return "".join(items)
