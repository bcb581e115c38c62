"""AndroidControl: GZIP TFRecord files, one ``tf.train.Example`` per episode (google-research
``android_control/README.md``).

Per action *i* (taken on screenshot *i*):

* ``click``/``long_press`` {x, y} -> ``click``/``long_click``: the smallest accessibility-tree leaf
  containing the point (clipped to the screen) when there is one, else the point ``"x,y"``; the point
  itself goes to ``meta.tap_point`` either way, every leaf box to ``meta.elements``.
* ``scroll`` {direction}: the direction the *content* moves -> ``swipe`` with the *finger's* direction
  (flipped: up <-> down, left <-> right).
* ``type`` {x, y, text}: AndroidControl taps the field, types and presses enter; the contract has one
  action per step, so the step becomes ``type`` {text} and the tap point is kept in ``meta.tap_point``.
* ``input_text`` -> ``type``; ``open_app`` -> ``open_app``; ``navigate_home`` -> ``home``;
  ``navigate_back`` -> ``back``; ``wait`` -> ``wait``.

``task_content`` is the goal (``--instruction high``) or the goal plus the step instruction (``low``,
see :class:`~gui_agent_rl.importers.formats.ImportOptions`); ``action_description`` (and so the next
steps' history) is the step instruction. The data's sizes are used (``screenshot_widths``/``heights``,
or the PNG header when they disagree with it).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from gui_agent_rl.importers.a11y import leaf_boxes
from gui_agent_rl.importers.actions import FLIP, SkipStep, describe, point, step_reason, tap, wire
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.example import parse_example
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, files_of, refuse_options
from gui_agent_rl.importers.images import encoded_kind, png_size
from gui_agent_rl.importers.tfrecord import iter_file_records, read_error_draft

ACTION_TYPES = ("click", "long_click", "swipe", "type", "open_app", "home", "back", "wait")
NOT_RECORDS = (".json", ".md", ".txt", ".csv")


def check(source: Path, options: ImportOptions) -> None:
    if not source.exists():
        raise ImportUsageError(f"{source}: no such file or folder")
    refuse_options(options, "androidcontrol", instruction=True)


def count(source: Path) -> int | None:
    return None  # one record per episode: counting means reading the whole file


def record_files(source: Path) -> list[Path]:
    return [p for p in files_of(source) if not p.name.lower().endswith(NOT_RECORDS)]


def units(source: Path, options: ImportOptions) -> Any:
    for path in record_files(source):
        try:
            for offset, data in iter_file_records(path):
                yield str(path), offset, data
        except (
            OSError,
            EOFError,
            ValueError,
            zlib.error,
        ) as exc:  # RecordError, a damaged or cut GZIP stream
            yield read_error_draft(path, exc)


def convert(unit: tuple[str, int, bytes], options: ImportOptions) -> list[EpisodeDraft]:
    path, offset, data = unit
    where = f"{path}@{offset}"
    try:
        return [_episode(parse_example(data), where, options)]
    except Exception as exc:  # noqa: BLE001 - any malformed record becomes a report line, never a traceback
        return [
            EpisodeDraft(
                where, "", None, problem=f"cannot read the episode record ({type(exc).__name__}: {exc})"
            )
        ]


def _text(values: list, i: int = 0) -> str:
    return values[i].decode("utf-8", "replace") if i < len(values) else ""


def _episode(ex: dict[str, list], where: str, options: ImportOptions) -> EpisodeDraft:
    if not ex.get("episode_id"):
        return EpisodeDraft(where, "", None, problem="record has no episode_id")
    episode = EpisodeDraft(where, str(ex["episode_id"][0]), None, action_types=ACTION_TYPES)
    actions = ex.get("actions", [])
    episode.length = len(actions)
    goal = _text(ex.get("goal", []))
    for i in range(len(actions)):
        instruction = _text(ex.get("step_instructions", []), i)
        content = goal if options.instruction == "high" else f"{goal}\nStep instruction: {instruction}"
        step = StepDraft(i, None, None, instruction, content, {"goal": goal, "step_instruction": instruction})
        episode.steps.append(step)
        with step_reason(step, (ValueError, TypeError, KeyError, AttributeError)):
            step.screenshot = _screenshot(ex, i)
            original = json.loads(actions[i])
            step.meta["original_action"] = original
            elements = _elements(ex, i, step.screenshot.size, step.meta)
            step.action, extra = convert_action(original, step.screenshot.size, elements)
            step.meta.update(extra)
            step.description = step.description or describe(step.action, step.meta)
    return episode


def _screenshot(ex: dict[str, list], i: int) -> Screenshot:
    shots = ex.get("screenshots", [])
    if i >= len(shots):
        raise SkipStep(f"no screenshot {i}")
    data = shots[i]
    kind = encoded_kind(data)
    if kind is None:
        raise SkipStep(f"screenshot {i} is not a PNG or JPEG")
    widths, heights = ex.get("screenshot_widths", []), ex.get("screenshot_heights", [])
    size = png_size(data) or ((widths[i], heights[i]) if i < min(len(widths), len(heights)) else None)
    if size is None:
        from gui_agent_rl.importers.images import encoded_size

        size = encoded_size(data)
    return Screenshot(size=(int(size[0]), int(size[1])), data=data, ext=kind)


def _elements(ex: dict[str, list], i: int, size: tuple[int, int], meta: dict) -> list:
    trees = ex.get("accessibility_trees", [])
    if i >= len(trees):
        return []
    try:
        boxes = leaf_boxes(trees[i], *size)
    except ValueError as exc:  # WireError: the tree is damaged; the step keeps its point truth
        meta["elements_error"] = str(exc)
        return []
    meta["elements"] = [list(b) for b in boxes]
    return boxes


def convert_action(a: dict[str, Any], size: tuple[int, int], elements: list) -> tuple[dict, dict]:
    kind = a.get("action_type")
    if kind in ("click", "long_press"):
        return tap("click" if kind == "click" else "long_click", a["x"], a["y"], size, elements)
    if kind == "scroll":
        direction = str(a.get("direction", "")).lower()
        if direction not in FLIP:
            raise SkipStep(f"scroll direction {a.get('direction')!r} is not up/down/left/right")
        return wire("swipe", FLIP[direction]), {}
    if kind in ("type", "input_text"):
        text = str(a.get("text", ""))
        if not text.strip():
            raise SkipStep(f"{kind} with empty text")
        meta = {}
        if kind == "type" and "x" in a and "y" in a:
            try:  # the typed text is the truth; the tap is kept only when it lies on the screen
                meta["tap_point"] = list(point(a["x"], a["y"], size))
            except SkipStep as exc:
                meta["tap_point_error"] = str(exc)
        return wire("type", text), meta
    if kind == "open_app":
        name = str(a.get("app_name", ""))
        if not name.strip():
            raise SkipStep("open_app without app_name")
        return wire("open_app", name), {}
    simple = {"navigate_home": "home", "navigate_back": "back", "wait": "wait"}
    if kind in simple:
        return wire(simple[kind], ""), {}
    raise SkipStep(f"unknown action_type {kind!r}")
