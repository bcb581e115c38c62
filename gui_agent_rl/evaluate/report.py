"""The terminal view of a metrics dict: aligned plain-text tables, and deltas against another run.

Rates are shown as percentages and their deltas in percentage points (pp); reward means as numbers.
Plain text on purpose: it reads the same in a terminal, a log file and a CI page. When the metrics
carry a ``sampled`` block, a "sampled (K=.., T=..)" column stands beside the values and the per-type
table gains the sampled step success and pass@K.
"""

from __future__ import annotations

from collections.abc import Sequence

RATE_KEYS = ("type_accuracy", "step_success", "grounding_accuracy", "format_rate")
TASK_KEYS = ("episode_success", "goal_progress")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned: the first to the left, the others to the right.

    >>> print(table(["a", "bb"], [["x", "1"], ["yyy", "22"]]))
    a    bb
    x     1
    yyy  22
    """
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return "\n".join(line(r) for r in [header, *rows])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _delta(new: float | None, old: float | None, rate: bool) -> str:
    if new is None or old is None:
        return "-"
    d = new - old
    return f"{100 * d:+.2f} pp" if rate else f"{d:+.4f}"


def _summary_rows(metrics: dict, other: dict | None) -> list[list[str]]:
    sampled = metrics.get("sampled")
    drawn, drawn_rewards = sampled or {}, (sampled or {}).get("rewards", {})
    entries = [(k, metrics.get(k), drawn.get(k), other.get(k) if other else None, True) for k in RATE_KEYS]
    rewards, old_rewards = metrics.get("rewards", {}), (other or {}).get("rewards", {})
    entries += [
        (f"reward {k}", v, drawn_rewards.get(k), old_rewards.get(k), False) for k, v in rewards.items()
    ]
    if sampled:
        old_sampled = (other or {}).get("sampled") or {}
        same_k = old_sampled.get("num_samples") == sampled["num_samples"]
        old_pass = old_sampled.get("pass_at_k") if same_k else None
        entries.append((f"pass@{sampled['num_samples']}", None, sampled.get("pass_at_k"), old_pass, True))
    tasks, old_tasks = metrics.get("by_task"), (other or {}).get("by_task") or {}
    if tasks:
        entries += [(k, tasks.get(k), None, old_tasks.get(k), True) for k in TASK_KEYS]
    rows = []
    for name, value, drawn_value, old, rate in entries:
        show = _pct if rate else _num
        row = [name, show(value)] + ([show(drawn_value)] if sampled else [])
        if other is not None:
            row += [show(old), _delta(drawn_value if name.startswith("pass@") else value, old, rate)]
        rows.append(row)
    return rows


def _sampled_name(sampled: dict) -> str:
    """``sampled (K=4, T=1)``: the column of the means over the sampled completions."""
    t = sampled.get("temperature")
    return f"sampled (K={sampled['num_samples']}" + ("" if t is None else f", T={t:g}") + ")"


def _rules_line(metrics: dict) -> str:
    r = metrics.get("rules", {})
    tap = r.get("tap_distance")
    frame = str(r.get("frame", "?"))
    if frame == "resized" and "max_pixels" in r:
        source = f" from {r['pixels_from']}" if r.get("pixels_from") else ""
        frame += f" (pixels {r.get('min_pixels')}..{r['max_pixels']}{source})"
    old = "loose" if "text_threshold" in r else "?"  # files written before text_match: the loose rule
    text = f"text {r.get('text_match', old)} >= {r.get('text_threshold', '?')}"
    if r.get("reward_text_match"):
        text += f" (rewards: {r['reward_text_match']})"
    distance = r.get("point_distance")  # recorded only when not the default
    point = f"; point distance {distance:g}" if isinstance(distance, int | float) else ""
    return (
        f"{metrics.get('count', 0)} samples; frame {frame}; box x{r.get('box_scale', 1.0):g}; "
        f"tap distance {'off' if tap is None else f'{tap:g}'}{point}; {text}"
    )


def _rules_differ(a: dict, b: dict) -> bool:
    """Whether two metrics files were computed under different rules (not where the limits came from)."""

    def rules(m: dict) -> dict:
        r = m.get("rules")
        return {k: v for k, v in r.items() if k != "pixels_from"} if isinstance(r, dict) else {}

    return rules(a) != rules(b)


def _per_type_rows(metrics: dict, other: dict | None) -> list[list[str]]:
    old_types = (other or {}).get("per_type", {})
    drawn = (metrics.get("sampled") or {}).get("per_type")
    rows = []
    for kind, m in metrics.get("per_type", {}).items():
        row = [kind, str(m["count"]), _pct(m["type_accuracy"]), _pct(m["step_success"])]
        if drawn is not None:
            d = drawn.get(kind, {})
            row += [_pct(d.get("step_success")), _pct(d.get("pass_at_k"))]
        if other is not None:
            row.append(_delta(m["step_success"], old_types.get(kind, {}).get("step_success"), True))
        rows.append(row)
    return rows


def _confusion(metrics: dict) -> str:
    confusion = metrics.get("confusion", {})
    columns = sorted({p for row in confusion.values() for p in row}, key=lambda c: (c == "invalid", c))
    rows = [[truth, *(str(row.get(c, "")) for c in columns)] for truth, row in confusion.items()]
    return table(["truth \\ model", *columns], rows)


def format_report(metrics: dict, other: dict | None = None, other_name: str = "other") -> str:
    """The whole terminal report; with ``other``, a column of its values and the deltas."""
    sampled = metrics.get("sampled")
    compared = [other_name, "delta"] if other is not None else []
    header = ["metric", "value"] + ([_sampled_name(sampled)] if sampled else []) + compared
    type_header = ["type", "count", "type acc", "step success"]
    if sampled:
        type_header += ["sampled step", f"pass@{sampled['num_samples']}"]
    type_header += ["delta"] if other is not None else []
    parts = [_rules_line(metrics)]
    if sampled:
        k = sampled["num_samples"]
        parts.append(
            f"{_sampled_name(sampled)}: means over the {k} sampled completions of every sample; "
            f"pass@{k}: any of the {k} a step success"
        )
    if other is not None and _rules_differ(other, metrics):
        parts.append(f"note: {other_name} used other rules: {_rules_line(other)}")
    if other is not None and other.get("count") != metrics.get("count"):
        parts.append(f"note: {other_name} has {other.get('count')} samples, this run {metrics.get('count')}")
    parts += ["", table(header, _summary_rows(metrics, other))]
    parts += ["", table(type_header, _per_type_rows(metrics, other))]
    parts += ["", _confusion(metrics)]
    return "\n".join(parts)
