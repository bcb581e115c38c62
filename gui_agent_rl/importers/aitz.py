"""Android in the Zoo (AITZ, IMNearth/CoAT ``data-example/``): one JSON file per episode.

A folder per episode holds ``<SUBSET>-<id>.json`` (a list of steps) and its screenshots
``<SUBSET>-<id>_<k>.png``. Values may be strings holding JSON (the README's form: ``"[[y, x, h, w]]"``,
``"4"``) or plain JSON values (the published example): both are read. AITW's action space:
``result_action_type`` (AITW ints), ``result_touch_yx``/``result_lift_yx`` normalised (y, x)
(``[-1, -1]`` when unused), ``result_action_text``; taps and swipes as in :mod:`.aitw`.
``ui_positions`` are (y, x, height, width) in *screenshot pixels*; the smallest one containing the
tap is the truth (the tapped element is not always among them: then the point is).

The CoAT annotations become the gold ``think`` block when all four are present:
``task_interpretation`` = the instruction itself (CoAT has no restatement of the task),
``current_page_audit`` = ``coat_screen_desc``, ``path_alignment_check`` = ``coat_action_think``
(where the episode stands and the actions possible), ``action_validation`` = ``coat_action_desc``
and ``coat_action_result`` joined (the action and what it achieves). ``coat_action_desc`` is also the
``action_description`` (and so the next steps' history).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gui_agent_rl.importers.actions import SkipStep, describe, step_reason, yx_to_box
from gui_agent_rl.importers.aitw import ACTION_TYPES, DUAL_POINT, dual_point, status_or_key
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, files_of, refuse_options
from gui_agent_rl.importers.images import file_size

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
COAT_FIELDS = ("coat_screen_desc", "coat_action_think", "coat_action_desc", "coat_action_result")


def check(source: Path, options: ImportOptions) -> None:
    if not source.exists():
        raise ImportUsageError(f"{source}: no such file or folder")
    refuse_options(options, "aitz")
    if not files_of(source, (".json",)):
        raise ImportUsageError(f"{source}: no episode JSON files (<SUBSET>-<episode_id>.json)")


def count(source: Path) -> int | None:
    return len(files_of(source, (".json",)))


def units(source: Path, options: ImportOptions) -> Any:
    yield from (str(p) for p in files_of(source, (".json",)))


def value(raw: Any) -> Any:
    """A field as JSON: a string holding a JSON list, object or number is decoded; anything else kept."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in ("[", "{") or _NUMBER.fullmatch(text):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def convert(path: str, options: ImportOptions) -> list[EpisodeDraft]:
    try:
        steps = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            raise ValueError("not a non-empty list of step objects")
        return [_episode(steps, Path(path))]
    except Exception as exc:  # noqa: BLE001 - any malformed file becomes a report line, never a traceback
        return [
            EpisodeDraft(
                path, "", None, problem=f"cannot read the episode file ({type(exc).__name__}: {exc})"
            )
        ]


def _episode(steps: list[dict], path: Path) -> EpisodeDraft:
    first = steps[0]
    length = value(first.get("episode_length"))
    episode_id = str(value(first.get("episode_id", path.stem.rsplit("-", 1)[-1])))
    episode = EpisodeDraft(
        str(path), episode_id, int(length) if length else len(steps), action_types=ACTION_TYPES
    )
    for position, raw in enumerate(steps):
        index = int(value(raw.get("step_id", position)))
        instruction = str(raw.get("instruction", ""))
        step = StepDraft(index, None, None, "", instruction, {"goal": instruction})
        episode.steps.append(step)
        with step_reason(step, (ValueError, TypeError, KeyError, IndexError, OSError)):
            _fill(step, raw, path, instruction)
    return episode


def _screenshot(raw: dict, path: Path, index: int) -> Screenshot:
    name = Path(str(raw.get("image_path") or f"{path.stem}_{index}.png")).name
    image = path.parent / name
    if not image.is_file():
        raise SkipStep(f"screenshot {name} not found next to {path.name}")
    return Screenshot(size=file_size(image), source=str(image), ext=image.suffix.lower() or ".png")


def _fill(step: StepDraft, raw: dict, path: Path, instruction: str) -> None:
    step.screenshot = _screenshot(raw, path, step.index)
    size = step.screenshot.size
    elements = [b for p in value(raw.get("ui_positions", "[]")) or [] if (b := yx_to_box(p, 1, 1, size))]
    step.meta["elements"] = [list(b) for b in elements]
    kind = int(value(raw.get("result_action_type")))
    touch, lift = value(raw.get("result_touch_yx", "[-1, -1]")), value(raw.get("result_lift_yx", "[-1, -1]"))
    text = str(raw.get("result_action_text") or "")
    step.meta["original_action"] = {
        "result_action_type": kind,
        "result_action_text": text,
        "result_touch_yx": touch,
        "result_lift_yx": lift,
    }
    if kind == DUAL_POINT:
        if min(touch + lift) < 0:
            raise SkipStep("DUAL_POINT with an unused touch/lift point [-1, -1]")
        step.action, extra = dual_point(touch, lift, size, elements)
        step.meta.update(extra)
    else:
        step.action = status_or_key(kind, text)
    coat = {f: str(raw.get(f) or "").strip() for f in COAT_FIELDS}
    step.description = coat["coat_action_desc"] or describe(step.action, step.meta)
    if all(coat.values()) and instruction.strip():
        step.think = {
            "task_interpretation": instruction,
            "current_page_audit": coat["coat_screen_desc"],
            "path_alignment_check": coat["coat_action_think"],
            "action_validation": f"{coat['coat_action_desc']}. {coat['coat_action_result']}",
        }
