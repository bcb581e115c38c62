"""Android in the Wild: GZIP TFRecord files, one ``tf.train.Example`` per *step* (google-research
``android_in_the_wild/README.md``, ``action_type.py``, ``visualization_utils.py``).

Steps are joined into episodes by ``episode_id`` while streaming (the files hold an episode's steps
together). Coordinates are normalised **(y, x)**: pixels = (x * image/width, y * image/height).

* 4 DUAL_POINT: a tap when touch and lift lie within 0.04 of each other (normalised Euclidean
  distance, ``is_tap_action``) -> ``click`` on the smallest ``ui_annotations_positions`` element
  containing the touch point, else the point; otherwise a ``swipe`` from touch to lift (pixels).
* 3 TYPE -> ``type``; 5 PRESS_BACK -> ``back``; 6 PRESS_HOME -> ``home``; 7 PRESS_ENTER -> ``key``
  ``enter``; 10 STATUS_TASK_COMPLETE -> ``task_completed``; 11 STATUS_TASK_IMPOSSIBLE -> ``task_impossible``.

``image/encoded`` holds raw uint8 pixels (``tf.io.decode_raw`` in the reference code), written as PNG;
encoded PNG/JPEG bytes are written as they are. Elements (``ui_annotations_positions``, flattened
normalised (y, x, height, width)) go to ``meta.elements`` as pixel boxes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gui_agent_rl.importers import androidcontrol
from gui_agent_rl.importers.actions import SkipStep, describe, step_reason, swipe_points, tap, wire, yx_to_box
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.example import parse_example
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, refuse_options
from gui_agent_rl.importers.images import encoded_kind, encoded_size, raw_to_png

ACTION_TYPES = ("click", "swipe", "type", "back", "home", "key", "task_completed", "task_impossible")
TAP_DISTANCE = 0.04  # AITW is_tap_action: touch-lift distance (normalised) at most this is a tap
TYPE, DUAL_POINT, PRESS_BACK, PRESS_HOME, PRESS_ENTER, COMPLETE, IMPOSSIBLE = 3, 4, 5, 6, 7, 10, 11
STATUS_TEXT = {COMPLETE: "task complete", IMPOSSIBLE: "task impossible"}


def check(source: Path, options: ImportOptions) -> None:
    if not source.exists():
        raise ImportUsageError(f"{source}: no such file or folder")
    refuse_options(options, "aitw")


def count(source: Path) -> int | None:
    return None


units = androidcontrol.units


def convert(unit: tuple[str, int, bytes], options: ImportOptions) -> list[EpisodeDraft]:
    path, offset, data = unit
    where = f"{path}@{offset}"
    try:
        return [_step_episode(parse_example(data), where)]
    except Exception as exc:  # noqa: BLE001 - any malformed record becomes a report line, never a traceback
        return [
            EpisodeDraft(
                where, "", None, problem=f"cannot read the step record ({type(exc).__name__}: {exc})"
            )
        ]


def _first(ex: dict[str, list], key: str, default: Any = None) -> Any:
    values = ex.get(key) or [default]
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _step_episode(ex: dict[str, list], where: str) -> EpisodeDraft:
    episode_id = _first(ex, "episode_id")
    if episode_id is None or _first(ex, "step_id") is None:
        return EpisodeDraft(where, "", None, problem="record has no episode_id or step_id")
    length = _first(ex, "episode_length")
    episode = EpisodeDraft(where, str(episode_id), int(length) if length else None, action_types=ACTION_TYPES)
    goal = _first(ex, "goal_info", b"")
    step = StepDraft(int(_first(ex, "step_id")), None, None, "", goal, {"goal": goal})
    episode.steps.append(step)
    with step_reason(step, (ValueError, TypeError, KeyError, IndexError)):
        step.screenshot = _screenshot(ex)
        size = step.screenshot.size
        elements = _elements(ex.get("image/ui_annotations_positions", []), size)
        step.meta["elements"] = [list(b) for b in elements]
        step.action, extra = step_action(ex, size, elements, step.meta)
        step.meta.update(extra)
        step.description = describe(step.action, step.meta)
    return episode


def _screenshot(ex: dict[str, list]) -> Screenshot:
    data = (ex.get("image/encoded") or [b""])[0]
    if not data:
        raise SkipStep("no image/encoded")
    width, height = int(_first(ex, "image/width", 0)), int(_first(ex, "image/height", 0))
    kind = encoded_kind(data)
    if kind is not None:
        return Screenshot(size=encoded_size(data), data=data, ext=kind)
    channels = int(_first(ex, "image/channels", 3))
    return Screenshot(size=(width, height), data=raw_to_png(data, width, height, channels))


def _elements(flat: list[float], size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    boxes = []
    for i in range(0, len(flat) - 3, 4):
        y, x, h, w = flat[i : i + 4]
        box = yx_to_box((y, x, h, w), size[0], size[1], size)
        if box and box not in boxes:
            boxes.append(box)
    return boxes


def dual_point(
    touch_yx: list[float], lift_yx: list[float], size: tuple[int, int], elements: list
) -> tuple[dict, dict]:
    """A DUAL_POINT as a tap (within 0.04) or a swipe; shared with AITZ."""
    (ty, tx), (ly, lx) = touch_yx[:2], lift_yx[:2]
    w, h = size
    if math.dist((ty, tx), (ly, lx)) <= TAP_DISTANCE:
        return tap("click", tx * w, ty * h, size, elements)
    return swipe_points((tx * w, ty * h), (lx * w, ly * h), size)


def status_or_key(kind: int, text: str) -> dict:
    """The non-point actions of AITW's action space (shared with AITZ)."""
    if kind == TYPE:
        if not text.strip():
            raise SkipStep("TYPE with empty text")
        return wire("type", text)
    simple = {PRESS_BACK: ("back", ""), PRESS_HOME: ("home", ""), PRESS_ENTER: ("key", "enter")}
    if kind in simple:
        return wire(*simple[kind])
    if kind in STATUS_TEXT:
        return wire("task_completed" if kind == COMPLETE else "task_impossible", STATUS_TEXT[kind])
    raise SkipStep(f"unknown action type {kind}")


def step_action(ex: dict[str, list], size: tuple[int, int], elements: list, meta: dict) -> tuple[dict, dict]:
    kind = int(_first(ex, "results/action_type", -1))
    touch, lift = ex.get("results/yx_touch", []), ex.get("results/yx_lift", [])
    meta["original_action"] = {
        "action_type": kind,
        "yx_touch": touch,
        "yx_lift": lift,
        "type_action": _first(ex, "results/type_action", b""),
    }
    if kind == DUAL_POINT:
        if len(touch) < 2 or len(lift) < 2:
            raise SkipStep("DUAL_POINT without yx_touch/yx_lift")
        return dual_point(touch, lift, size, elements)
    return status_or_key(kind, meta["original_action"]["type_action"]), {}
