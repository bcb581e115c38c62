"""The picture of :mod:`gui_agent_rl.evaluate.curve`: one panel per metric group, runs overlaid.

Panels: rewards (each reward's mean and the weighted total), KL, completion length, clipped ratio,
loss (with eval loss), then the other headline keys, then every other numeric key that varies, grouped
by the prefix before ``/``. Spreads and bookkeeping (:data:`~gui_agent_rl.evaluate.curve.DETAIL`:
``*/std``, minima, terminated lengths, epoch, timings) are left to the CSV.

One run: a colour per metric. Several runs: a colour per run (the legend names its folder) and a line
style per metric. With smoothing, the raw values are drawn faint behind the smoothed line.
matplotlib is imported inside :func:`plot_curves` (Agg backend), so reading and tables work without it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gui_agent_rl.evaluate.curve import (
    DETAIL,
    REWARD_MEAN,
    UNSMOOTHED,
    RunCurve,
    atomic_path,
    headline_keys,
    short_labels,
    smooth,
)

LINE_STYLES = ("-", "--", ":", "-.")
MARKER_BELOW = 30  # draw point markers on runs with fewer logged steps than this
COLUMNS = 2


def plot_curves(runs: Sequence[RunCurve], output: str | os.PathLike, window: int = 1) -> int:
    """Draw every panel of ``runs`` into the PNG ``output`` (written atomically); return the panel count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    groups = panels(runs)
    if not groups:
        names = ", ".join(r.name for r in runs)
        raise ValueError(f"{names}: nothing to plot (no metric that varies)")
    rows = math.ceil(len(groups) / COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(6.4 * COLUMNS, 3.2 * rows), squeeze=False)
    try:
        for ax, panel in zip(axes.flat, groups, strict=False):
            _draw_panel(ax, panel, runs, window, colors)
        for ax in list(axes.flat)[len(groups) :]:
            ax.set_visible(False)
        fig.suptitle(_suptitle(runs, window))
        fig.tight_layout()
        with atomic_path(Path(output)) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return len(groups)


def _varies(key: str, runs: Sequence[RunCurve]) -> bool:
    values = {v for r in runs for v in r.metrics.get(key, ()) if v is not None}
    return len(values) > 1


def panels(runs: Sequence[RunCurve]) -> list[tuple[str, list[str]]]:
    """Plot panels as (title, keys): the headline groups, then other varying keys by prefix."""
    head = headline_keys(runs)
    fixed = [
        ("rewards (mean per step)", [k for k in head if REWARD_MEAN.fullmatch(k) or k == "reward"]),
        ("KL", [k for k in head if k == "kl"]),
        ("completion length", [k for k in head if k.startswith("completions/") and "clipped" not in k]),
        ("completions clipped (ratio)", [k for k in head if k == "completions/clipped_ratio"]),
        ("loss", [k for k in ("loss", "eval_loss") if any(k in r.metrics for r in runs)]),
    ]
    rest = [k for k in head if k not in {k for _, keys in fixed for k in keys}]
    fixed += [(k.replace("_", " "), [k]) for k in rest]
    shown = {k for _, keys in fixed for k in keys}
    groups: dict[str, list[str]] = {}
    for key in dict.fromkeys(k for r in runs for k in r.metrics):
        if key not in shown and not DETAIL.fullmatch(key) and _varies(key, runs):
            groups.setdefault(key.split("/")[0], []).append(key)
    return [(t, keys) for t, keys in fixed if keys] + [(g.replace("_", " "), k) for g, k in groups.items()]


def _suptitle(runs: Sequence[RunCurve], window: int) -> str:
    title = ", ".join(r.name for r in runs)
    return title + (f"  (trailing mean over {window} steps)" if window > 1 else "")


def _draw_panel(
    ax: Any, panel: tuple[str, list[str]], runs: Sequence[RunCurve], window: int, colors: list[str]
) -> None:
    title, keys = panel
    labels = short_labels(keys)
    several = len(runs) > 1
    for k, key in enumerate(keys):
        for r, run in enumerate(runs):
            if key not in run.metrics:
                continue
            label = _label(labels[key], run.name, len(keys), len(runs))
            color = colors[(r if several else k) % len(colors)]
            style = LINE_STYLES[k % len(LINE_STYLES)] if several else "-"
            _draw_line(ax, run, key, window, {"color": color, "linestyle": style, "label": label})
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 5))
    ax.grid(True, alpha=0.3)
    if len(keys) > 1 or len(runs) > 1:
        ax.legend(fontsize="small")


def _label(metric: str, run: str, n_keys: int, n_runs: int) -> str:
    if n_runs == 1:
        return metric
    return run if n_keys == 1 else f"{run}: {metric}"


def _draw_line(ax: Any, run: RunCurve, key: str, window: int, style: dict) -> None:
    points = [(s, v) for s, v in zip(run.steps, run.metrics[key], strict=True) if v is not None]
    if not points:
        return
    steps, values = zip(*points, strict=True)
    marker = "o" if len(points) < MARKER_BELOW else None
    if window > 1 and key not in UNSMOOTHED:
        ax.plot(steps, values, color=style["color"], linestyle=style["linestyle"], alpha=0.25)
        values = smooth(steps, values, window)
    ax.plot(steps, values, marker=marker, markersize=3, **style)
