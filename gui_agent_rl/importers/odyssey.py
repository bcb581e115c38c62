"""GUI-Odyssey (OpenGVLab/GUI-Odyssey ``introduction.md``, ``data/format_converter.py``): one JSON
annotation file per episode, screenshots in a separate folder (``--image-folder``; default the
``screenshots`` folder next to the annotations folder).

Coordinates are **0-1000** of the screen: pixels = value * size / 1000, with each screenshot's own size
read from its image file (the devices differ: phones, a fold, a tablet).

* ``CLICK`` [[x, y]] -> ``click``: the step's ``sam2_bbox`` (0-1000 [x1, y1, x2, y2], the newer
  release) when it contains the point, else the point. ``LONG_PRESS`` -> ``long_click`` likewise.
* ``CLICK``/``LONG_PRESS`` with ``KEY_HOME``/``KEY_BACK``/``KEY_APPSELECT`` in place of a point, and
  ``HOME``/``BACK`` actions -> ``home``, ``back``, ``key`` ``app_switch``.
* ``SCROLL`` [[x1, y1], [x2, y2]] -> ``swipe`` by endpoints (the finger's start and end).
* ``TEXT``/``TYPE`` -> ``type``; ``COMPLETE`` -> ``task_completed``; ``INCOMPLETE``/``IMPOSSIBLE`` ->
  ``task_impossible`` (``ps``, the annotator's note, as the text when present).

``task_content`` is ``task_info.instruction`` (the detailed task); ``action_description`` is the step's
``low_level_instruction`` when the release has one, else the action in words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gui_agent_rl.importers.actions import SkipStep, describe, step_reason, swipe_points, tap, wire
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, files_of, refuse_options
from gui_agent_rl.importers.images import file_size

ACTION_TYPES = (
    "click",
    "long_click",
    "swipe",
    "type",
    "home",
    "back",
    "key",
    "task_completed",
    "task_impossible",
)
KEYS = {"KEY_HOME": ("home", ""), "KEY_BACK": ("back", ""), "KEY_APPSELECT": ("key", "app_switch")}
SCALE = 1000


def image_folder(source: Path, options: ImportOptions) -> Path:
    if options.image_folder is not None:
        return options.image_folder
    annotations = source if source.is_dir() else source.parent
    return annotations.parent / "screenshots"


def check(source: Path, options: ImportOptions) -> None:
    if not source.exists():
        raise ImportUsageError(f"{source}: no such file or folder")
    refuse_options(options, "gui-odyssey", images=True)
    folder = image_folder(source, options)
    if not folder.is_dir():
        raise ImportUsageError(f"{folder}: no screenshot folder; give it with --image-folder")


def count(source: Path) -> int | None:
    return len(files_of(source, (".json",)))


def units(source: Path, options: ImportOptions) -> Any:
    folder = str(image_folder(source, options))
    yield from ((str(p), folder) for p in files_of(source, (".json",)))


def convert(unit: tuple[str, str], options: ImportOptions) -> list[EpisodeDraft]:
    path, folder = unit
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise ValueError("not an episode object with a steps list")
        return [_episode(data, path, Path(folder))]
    except Exception as exc:  # noqa: BLE001 - any malformed file becomes a report line, never a traceback
        return [
            EpisodeDraft(
                path, "", None, problem=f"cannot read the episode file ({type(exc).__name__}: {exc})"
            )
        ]


def _episode(data: dict, path: str, folder: Path) -> EpisodeDraft:
    task = data.get("task_info") or {}
    instruction = str(task.get("instruction") or task.get("task") or "")
    steps = data["steps"]
    episode_id = str(data.get("episode_id") or Path(path).stem)
    length = int(data.get("step_length") or len(steps))
    episode = EpisodeDraft(path, episode_id, length, action_types=ACTION_TYPES)
    for position, raw in enumerate(steps):
        step = StepDraft(int(raw.get("step", position)), None, None, "", instruction, {"goal": instruction})
        episode.steps.append(step)
        with step_reason(step, (ValueError, TypeError, KeyError, IndexError, OSError)):
            _fill(step, raw, folder)
    return episode


def _fill(step: StepDraft, raw: dict, folder: Path) -> None:
    image = folder / str(raw.get("screenshot", ""))
    if not raw.get("screenshot") or not image.is_file():
        raise SkipStep(f"screenshot {raw.get('screenshot')!r} not found in {folder}")
    size = file_size(image)
    step.screenshot = Screenshot(size=size, source=str(image), ext=image.suffix.lower() or ".png")
    step.meta["original_action"] = {k: raw.get(k) for k in ("action", "info", "ps", "sam2_bbox") if k in raw}
    step.action, extra = _action(raw, size, step.meta)
    step.meta.update(extra)
    low = str(raw.get("low_level_instruction") or "").strip()
    step.description = low or describe(step.action, step.meta)
    if low:
        step.meta["step_instruction"] = low


def _px(xy: list, size: tuple[int, int]) -> tuple[float, float]:
    return float(xy[0]) * size[0] / SCALE, float(xy[1]) * size[1] / SCALE


def _action(raw: dict, size: tuple[int, int], meta: dict) -> tuple[dict, dict]:
    kind, info, note = str(raw.get("action", "")).upper(), raw.get("info"), str(raw.get("ps") or "").strip()
    if kind in ("CLICK", "LONG_PRESS"):
        if isinstance(info, str) and info in KEYS:
            return wire(*KEYS[info]), {}
        if not isinstance(info, list) or not info:
            raise SkipStep(f"{kind} info {info!r} is neither a point nor a key")
        xy = info[0] if isinstance(info[0], list) else info
        elements = _sam_box(raw.get("sam2_bbox"), size, meta)
        return tap("click" if kind == "CLICK" else "long_click", *_px(xy, size), size, elements)
    if kind == "SCROLL":
        if not isinstance(info, list) or len(info) < 2:
            raise SkipStep(f"SCROLL info {info!r} is not two points")
        return swipe_points(_px(info[0], size), _px(info[1], size), size)
    if kind in ("TEXT", "TYPE"):
        if not isinstance(info, str) or not info.strip():
            raise SkipStep(f"{kind} without text")
        return wire("type", info), {}
    simple = {
        "HOME": ("home", ""),
        "BACK": ("back", ""),
        "COMPLETE": ("task_completed", note or "task complete"),
        "INCOMPLETE": ("task_impossible", note or "task impossible"),
        "IMPOSSIBLE": ("task_impossible", note or "task impossible"),
    }
    if kind in simple:
        return wire(*simple[kind]), {}
    raise SkipStep(f"unknown action {kind!r}")


def _sam_box(raw: Any, size: tuple[int, int], meta: dict) -> list[tuple[int, int, int, int]]:
    if not (isinstance(raw, list) and len(raw) == 4 and all(isinstance(v, (int, float)) for v in raw)):
        return []
    x1, y1 = _px(raw[:2], size)
    x2, y2 = _px(raw[2:], size)
    box = (max(0, round(x1)), max(0, round(y1)), min(size[0], round(x2)), min(size[1], round(y2)))
    if box[0] >= box[2] or box[1] >= box[3]:
        return []
    meta["elements"] = [list(box)]
    return [box]
