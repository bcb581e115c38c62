"""Run a :mod:`.protocols` preset over judged samples: the ``protocol`` block of the metrics, and its view.

The block holds the preset's ``name``, ``source`` and constants (``rules``), ``count``,
``type_accuracy`` (the reference's notion of type: AITW's action type integers, or the evaluator's
type names), ``step_success`` (its step rule), ``per_type`` (by the truth's action type), the
``setting`` (``high``, ``low``, ``mixed`` or ``unknown``) with figures per setting in ``settings``,
``fallbacks`` (how many samples lacked which ``meta`` input) and, with ``--by-task``, ``by_task``
(episode success and goal progress under the protocol's step rule, with the same task lengths).
Only the ``completion`` of each prediction is judged (not sampled draws).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from gui_agent_rl.evaluate.episodes import sample_meta
from gui_agent_rl.evaluate.metrics import MatchRules, StepResult, match_parameters
from gui_agent_rl.evaluate.protocols import (
    Protocol,
    Verdict,
    gesture,
    judge_aitw,
    judge_qwen,
    screen_of,
    truth_gesture,
)
from gui_agent_rl.evaluate.report import table
from gui_agent_rl.rewards.parsing import current_screen
from gui_agent_rl.rewards.registry import RewardSettings
from gui_agent_rl.schemas import Sample


def _mentions(prompt: str, text: str) -> bool:
    return text in prompt or json.dumps(text, ensure_ascii=False)[1:-1] in prompt


def setting_of(sample: Sample) -> str:
    """``low``: the prompt holds ``meta.step_instruction``; ``high``: ``meta.goal``; else ``unknown``."""
    meta = sample_meta(sample)
    for key, name in (("step_instruction", "low"), ("goal", "high")):
        text = meta.get(key)
        if isinstance(text, str) and text.strip() and _mentions(sample.prompt, text):
            return name
    return "unknown"


def judge_sample(
    protocol: Protocol, sample: Sample, result: StepResult, settings: RewardSettings, rules: MatchRules
) -> tuple[Verdict, list[str]]:
    """The protocol's ``(type_ok, step_ok, reason)`` for one judged sample, and the fallbacks it used."""
    screen = screen_of(sample, settings)
    truth, missing = truth_gesture(result.truth, screen)
    fallbacks = [f for f in (*screen.fallbacks, missing) if f and _relevant(f, truth.kind)]
    if result.pred is None:
        return (False, False, result.reason), fallbacks
    pred = gesture(result.pred, screen.pred_yx)

    def fallback() -> tuple[bool, str]:
        frame = current_screen(sample.image_sizes, "image_sizes", settings.min_pixels, settings.max_pixels)
        return match_parameters(result.pred, result.truth, frame, settings.coordinate_frame, rules)

    judge = judge_aitw if protocol.family == "aitw" else judge_qwen
    return judge(protocol, pred, truth, screen, fallback), fallbacks


def _relevant(fallback: str, kind: str) -> bool:
    """Whether a missing input mattered: elements for taps, the screen size for taps and swipes."""
    if "elements" in fallback or "tap_point" in fallback:
        return kind in ("click", "long_click")
    return kind in ("click", "long_click", "swipe")


def _rates(rows: Sequence[tuple[bool, bool]]) -> dict:
    n = len(rows)
    return {
        "count": n,
        "type_accuracy": sum(t for t, _ in rows) / n if n else None,
        "step_success": sum(s for _, s in rows) / n if n else None,
    }


def judge_protocol(
    protocol: Protocol,
    samples: Sequence[Sample],
    results: Sequence[StepResult],
    settings: RewardSettings,
    rules: MatchRules,
) -> tuple[list[StepResult], dict]:
    """Every result with its ``protocol`` verdict, and the metrics' ``protocol`` block (without by_task)."""
    judged, fallbacks = [], Counter()
    by_type: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    by_setting: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for sample, result in zip(samples, results, strict=True):
        (type_ok, step_ok, reason), used = judge_sample(protocol, sample, result, settings, rules)
        fallbacks.update(used)
        by_type[result.truth.action_type].append((type_ok, step_ok))
        by_setting[setting_of(sample)].append((type_ok, step_ok))
        judged.append(replace(result, protocol={"type_ok": type_ok, "step_ok": step_ok, "reason": reason}))
    known = sorted(s for s in by_setting if s != "unknown")
    block = {
        "name": protocol.name,
        "source": protocol.source,
        "rules": {
            "family": protocol.family,
            "tap_distance": protocol.tap_distance,
            "box_factor": protocol.box_factor,
            "nearest_elements": protocol.nearest,
            "tap_if_move_within": 0.04,
        },
        **_rates([(r.protocol["type_ok"], r.protocol["step_ok"]) for r in judged]),
        "per_type": {kind: _rates(rows) for kind, rows in sorted(by_type.items())},
        "setting": known[0]
        if len(known) == 1 and len(by_setting) == 1
        else ("mixed" if known else "unknown"),
        "settings": {name: _rates(rows) for name, rows in sorted(by_setting.items())},
        "fallbacks": dict(sorted(fallbacks.items())),
    }
    return judged, block


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def format_protocol(block: dict) -> str:
    """The terminal view of a ``protocol`` block: its name and source, then its figures."""
    r = block["rules"]
    nearest = f", the {r['nearest_elements']} nearest" if r.get("nearest_elements") else ""
    f = r["box_factor"]
    boxes = f"x{1 + f:g} (augment {f:g})" if r.get("family") == "aitw" else f"x{f:g}"
    lines = [
        f"protocol {block['name']} ({block['source']})",
        f"  taps: within {r['tap_distance']:g} or in element boxes {boxes}{nearest}",
        f"  setting {block['setting']}",
    ]
    rows = [["type_accuracy", _pct(block["type_accuracy"])], ["step_success", _pct(block["step_success"])]]
    rows += [[f"step_success ({name})", _pct(m["step_success"])] for name, m in block["settings"].items()]
    for key in ("episode_success", "goal_progress"):
        if block.get("by_task"):
            rows.append([key, _pct(block["by_task"].get(key))])
    lines += ["", table([f"{block['name']} metric", "value"], rows)]
    per_type = [
        [k, str(m["count"]), _pct(m["type_accuracy"]), _pct(m["step_success"])]
        for k, m in block["per_type"].items()
    ]
    lines += ["", table(["type", "count", "type acc", "step success"], per_type)]
    if block["fallbacks"]:
        lines += ["", "fallbacks: " + "; ".join(f"{why}: {n}" for why, n in block["fallbacks"].items())]
    return "\n".join(lines)
