"""Reward curves of a training run as inline SVG: no plotting library, no external file, no script.

One chart per run: each reward's logged mean (``rewards/<name>/mean``) and the weighted total
(``reward``), step on x. A long run is thinned to at most :data:`MAX_POINTS` evenly spaced points per
line (its first and last kept), so the page stays light; a gap in the logs breaks the line.
Text is escaped (run names are folder names).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from gui_agent_rl.evaluate.curve import REWARD_MEAN, RunCurve, table_rows

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 64  # plot margins; the legend sits under the x axis
MAX_POINTS = 600
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
TICKS = 5
LEGEND_COLUMNS = 4


def reward_keys(run: RunCurve) -> list[str]:
    """The run's reward series: each reward's mean, then the total, when logged."""
    keys = [k for k in run.metrics if REWARD_MEAN.fullmatch(k)]
    return keys + (["reward"] if "reward" in run.metrics else [])


def _label(key: str) -> str:
    found = REWARD_MEAN.fullmatch(key)
    return found.group(1) if found else "total"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 0.5
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive logged points (None: not logged, a gap)."""
    out: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            out.append([])
        else:
            out[-1].append(p)
    return [s for s in out if s]


def _axes(x0: float, x1: float, y0: float, y1: float) -> list[str]:
    """Frame, ticks and tick labels."""
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for k in range(TICKS + 1):
        y = TOP + ph - k * ph / TICKS
        value = y0 + k * (y1 - y0) / TICKS
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
        x = LEFT + k * pw / TICKS
        step = x0 + k * (x1 - x0) / TICKS
        parts.append(f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{step:.0f}</text>')
    parts.append(f'<text x="{LEFT + pw / 2:.1f}" y="{TOP + ph + 32}" text-anchor="middle">step</text>')
    return parts


def curve_svg(run: RunCurve) -> str | None:
    """The run's reward chart as an ``<svg>`` element; None when it logged no reward."""
    keys = [k for k in reward_keys(run) if any(v is not None for v in run.metrics[k])]
    if not keys or not run.steps:
        return None
    picked = table_rows(len(run.steps), MAX_POINTS)
    steps = [run.steps[i] for i in picked]
    values = [v for k in keys for i in picked if (v := run.metrics[k][i]) is not None]
    y0, y1 = _bounds(values)
    x0, x1 = steps[0], max(steps[-1], steps[0] + 1)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(step: int, value: float) -> tuple[float, float]:
        return LEFT + (step - x0) / (x1 - x0) * pw, TOP + ph - (value - y0) / (y1 - y0) * ph

    title = escape(f"{run.name}: rewards ({len(run.steps)} logged steps)")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-size="11" font-family="sans-serif" role="img">',
        f"<title>{title}</title>",
        f'<text x="{LEFT}" y="16" font-weight="bold">{title}</text>',
        *_axes(x0, x1, y0, y1),
    ]
    for n, key in enumerate(keys):
        colour = COLOURS[n % len(COLOURS)]
        points = [None if (v := run.metrics[key][i]) is None else at(run.steps[i], v) for i in picked]
        for seg in _segments(points):
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in seg)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
            parts.append(dots if len(picked) <= 40 else "")
        lx, ly = LEFT + (n % LEGEND_COLUMNS) * 145, TOP + ph + 44 + (n // LEGEND_COLUMNS) * 13
        parts.append(f'<rect x="{lx}" y="{ly - 5}" width="12" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="{ly}">{escape(_label(key))}</text>')
    parts.append("</svg>")
    return "".join(parts)
