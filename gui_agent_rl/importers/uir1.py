"""UI-R1's derived AndroidControl file (lll6gg/UI-R1 ``dataset/ac_test.json``): one JSON list of steps
``{"image": "episode_<id>-screenshot_<k>.png", "gt": {action}, "task": step instruction}``.

``gt`` is an AndroidControl action (``action_type`` plus its fields), converted as in
:mod:`.androidcontrol` (scroll directions flipped to the finger's). The file has no screenshots and no
sizes: ``--image-folder`` says where the images are (sizes are then read from them); without an image,
``--screen-size WxH`` writes a blank placeholder of that size (``meta.placeholder_screen``), enough to
build and score coordinates, not to train on pixels. A tap beyond the screen is reported, not clamped.

Steps are grouped into episodes by the ``<id>`` of their image names (consecutive entries); ``k`` is the
step index, with gaps where UI-R1 dropped steps. ``task_content`` is the step instruction (the file has no
goal). ``meta.episode_length`` is the highest ``k`` + 1: a lower bound, since later steps may be gone.
"""

from __future__ import annotations

import json
import re
from itertools import groupby
from pathlib import Path
from typing import Any

from gui_agent_rl.importers.actions import SkipStep, describe, step_reason
from gui_agent_rl.importers.androidcontrol import convert_action
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft
from gui_agent_rl.importers.formats import ImportOptions, ImportUsageError, refuse_options
from gui_agent_rl.importers.images import file_size

ACTION_TYPES = ("click", "swipe", "type", "open_app", "back")
IMAGE_NAME = re.compile(r"episode_(\d+)-screenshot_(\d+)\.\w+")


def check(source: Path, options: ImportOptions) -> None:
    if not source.is_file():
        raise ImportUsageError(f"{source}: not a file (ui-r1 reads one JSON list)")
    refuse_options(options, "ui-r1", images=True, size=True)
    if options.image_folder is None and options.screen_size is None:
        raise ImportUsageError(
            "ui-r1 has no screenshots nor sizes: give --image-folder, --screen-size WxH, or both"
        )
    if options.image_folder is not None and not options.image_folder.is_dir():
        raise ImportUsageError(f"{options.image_folder}: no such folder (--image-folder)")


def count(source: Path) -> int | None:
    return None


def _episode_of(item: Any) -> str:
    match = IMAGE_NAME.fullmatch(str(item.get("image", ""))) if isinstance(item, dict) else None
    return match.group(1) if match else ""


def units(source: Path, options: ImportOptions) -> Any:
    try:
        items = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield EpisodeDraft(str(source), "", None, problem=f"cannot read the file: {exc}")
        return
    if not isinstance(items, list):
        yield EpisodeDraft(str(source), "", None, problem="not a JSON list of steps")
        return
    position = 0
    for episode_id, group in groupby(items, key=_episode_of):
        chunk = list(group)
        if not episode_id:
            yield EpisodeDraft(
                f"{source}[{position}]",
                "",
                None,
                problem=f"{len(chunk)} entries whose image is not named episode_<id>-screenshot_<k>",
            )
        else:
            yield str(source), episode_id, chunk
        position += len(chunk)


def convert(unit: tuple[str, str, list[dict]], options: ImportOptions) -> list[EpisodeDraft]:
    source, episode_id, items = unit
    episode = EpisodeDraft(source, episode_id, None, action_types=ACTION_TYPES)
    for item in items:
        index = int(IMAGE_NAME.fullmatch(item["image"]).group(2))  # type: ignore[union-attr]
        task = str(item.get("task", ""))
        step = StepDraft(index, None, None, task, task, {"step_instruction": task})
        episode.steps.append(step)
        with step_reason(step, (ValueError, TypeError, KeyError, OSError)):
            step.screenshot = _screenshot(item["image"], options, step.meta)
            gt = item.get("gt")
            if not isinstance(gt, dict):
                raise SkipStep(f"gt {gt!r} is not an action object")
            step.meta["original_action"] = gt
            step.action, extra = convert_action(gt, step.screenshot.size, [])
            step.meta.update(extra)
            step.description = step.description or describe(step.action, step.meta)
    episode.length = max(s.index for s in episode.steps) + 1
    return [episode]


def _screenshot(name: str, options: ImportOptions, meta: dict) -> Screenshot:
    if options.image_folder is not None and (options.image_folder / name).is_file():
        image = options.image_folder / name
        return Screenshot(size=file_size(image), source=str(image), ext=image.suffix.lower())
    if options.screen_size is None:
        raise SkipStep(f"screenshot {name} not found in {options.image_folder} (and no --screen-size)")
    meta["placeholder_screen"] = True
    return Screenshot(size=options.screen_size, blank=True)
