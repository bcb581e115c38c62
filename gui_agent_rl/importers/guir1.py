"""GUI-R1's parquet files (ritzz-ai/GUI-R1): one row per step with its screenshot bytes.

The layout is inferred from GUI-R1's code (``inference_vllm_android.py``, ``r1gui.py``), not from a
format document: a row has ``image`` (bytes, or ``{"bytes": ...}``), ``instruction``, and the truth as
``gt_action`` / ``gt_bbox`` / ``gt_input_text`` columns, or as ``actions``: ``[{"action", "point",
"input_text"}]`` (the first one is used). ``point``/``gt_bbox`` is a point ``[x, y]`` or a box ``[x1, y1,
x2, y2]`` in the screenshot's pixels: a box becomes the click truth (its centre ``meta.tap_point``).
Scroll directions come in ``input_text`` and are taken as the finger's (GUI-R1 does not say which).
Each row is its own one-step task (the file has no episode ids). Needs ``pyarrow`` (installed with the
``[train]`` extra, through ``datasets``); rows are read in batches, never the whole file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui_agent_rl.importers.actions import FLIP, SkipStep, box_text, describe, point, step_reason, tap, wire
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, files_of, refuse_options
from gui_agent_rl.importers.images import encoded_kind, encoded_size

ACTION_TYPES = (
    "click",
    "long_click",
    "swipe",
    "type",
    "open_app",
    "home",
    "back",
    "key",
    "wait",
    "task_completed",
    "task_impossible",
)
BATCH_ROWS = 32
_SIMPLE = {
    "press_back": ("back", ""),
    "back": ("back", ""),
    "press_home": ("home", ""),
    "home": ("home", ""),
    "press_enter": ("key", "enter"),
    "enter": ("key", "enter"),
    "wait": ("wait", ""),
    "complete": ("task_completed", "task complete"),
    "impossible": ("task_impossible", "task impossible"),
}


def check(source: Path, options: ImportOptions) -> None:
    if not source.exists():
        raise ImportUsageError(f"{source}: no such file or folder")
    refuse_options(options, "gui-r1")
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ImportUsageError("gui-r1 reads parquet with pyarrow: pip install pyarrow") from None


def count(source: Path) -> int | None:
    return None


def units(source: Path, options: ImportOptions) -> Any:
    import pyarrow.parquet as pq

    for path in files_of(source, (".parquet",)):
        try:
            number = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                for row in batch.to_pylist():
                    yield f"{path}#{number}", row
                    number += 1
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            yield EpisodeDraft(
                str(path), "", None, problem=f"cannot read on: {exc}; the rest of this file was skipped"
            )


def convert(unit: tuple[str, dict], options: ImportOptions) -> list[EpisodeDraft]:
    where, row = unit
    episode = EpisodeDraft(where, str(row.get("id") or where), 1, action_types=ACTION_TYPES)
    instruction = str(row.get("instruction") or "")
    step = StepDraft(0, None, None, "", instruction, {"goal": instruction})
    episode.steps.append(step)
    with step_reason(step, (ValueError, TypeError, KeyError, IndexError, OSError)):
        image = row.get("image")
        data = image.get("bytes") if isinstance(image, dict) else image
        if not isinstance(data, bytes) or encoded_kind(data) is None:
            raise SkipStep("no PNG/JPEG bytes in the image column")
        step.screenshot = Screenshot(size=encoded_size(data), data=data, ext=encoded_kind(data) or ".png")
        kind, where_, text = _truth(row)
        step.meta["original_action"] = {"action": kind, "point": where_, "input_text": text}
        step.action, extra = _action(kind, where_, text, step.screenshot.size)
        step.meta.update(extra)
        step.description = describe(step.action, step.meta)
    return [episode]


def _truth(row: dict) -> tuple[str, list, str]:
    actions = row.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        first = actions[0]
        return (
            str(first.get("action", "")).lower(),
            list(first.get("point") or []),
            str(first.get("input_text") or ""),
        )
    return (
        str(row.get("gt_action", "")).lower(),
        list(row.get("gt_bbox") or []),
        str(row.get("gt_input_text") or ""),
    )


def _action(kind: str, where: list, text: str, size: tuple[int, int]) -> tuple[dict, dict]:
    if kind in ("click", "tap", "long_press"):
        name = "long_click" if kind == "long_press" else "click"
        if len(where) == 4:
            x1, y1 = point(where[0], where[1], size)
            x2, y2 = point(where[2], where[3], size)
            if x1 < x2 and y1 < y2:
                return wire(name, box_text((x1, y1, x2, y2))), {"tap_point": [(x1 + x2) // 2, (y1 + y2) // 2]}
        if len(where) >= 2:
            return tap(name, where[0], where[1], size, [])
        raise SkipStep(f"{kind} without a point")
    if kind in ("scroll", "swipe"):
        direction = text.strip().lower()
        if direction not in FLIP:
            raise SkipStep(f"scroll direction {text!r} is not up/down/left/right")
        return wire("swipe", direction), {}
    if kind in ("type", "open_app"):
        if not text.strip():
            raise SkipStep(f"{kind} without input_text")
        return wire(kind, text), {}
    if kind in _SIMPLE:
        return wire(*_SIMPLE[kind]), {}
    raise SkipStep(f"unknown action {kind!r}")
