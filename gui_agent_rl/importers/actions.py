"""Building the contract's wire actions from what the datasets record, and saying them in words.

Every importer emits actions through these helpers, so the output always has the contract's form
(issue 12's extended action space, :mod:`gui_agent_rl.schemas.parameters`): a tap is the tapped element's box
``"x1,y1,x2,y2"`` when the data has elements containing the tap, else the point ``"x,y"``; a swipe
is endpoints ``"x1,y1,x2,y2"`` or the finger's direction word; ``home`` has ``""``; ``key`` one of the
key names.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gui_agent_rl.importers.a11y import smallest_containing
from gui_agent_rl.importers.drafts import StepDraft

#: display names for ``input.action_type_list`` (the prompt lists them); the data is English
ACTION_NAMES: dict[str, str] = {
    "open_app": "open app",
    "click": "tap",
    "long_click": "long press",
    "type": "type text",
    "swipe": "swipe",
    "task_completed": "task completed",
    "task_impossible": "task impossible",
    "inquiry": "ask the user",
    "wait": "wait",
    "back": "back",
    "home": "home",
    "key": "press key",
}
#: AndroidControl's ``scroll`` direction is the content's; the finger moves the other way
FLIP = {"up": "down", "down": "up", "left": "right", "right": "left"}

Box = tuple[int, int, int, int]


class SkipStep(ValueError):
    """This step cannot be imported; the message is the report's reason."""


@contextmanager
def step_reason(step: StepDraft, unreadable: tuple[type[Exception], ...]) -> Iterator[None]:
    """Run a step's conversion; a :class:`SkipStep` or one of the format's ``unreadable`` errors
    (malformed values) becomes the step's report ``reason`` instead of an exception."""
    try:
        yield
    except SkipStep as exc:
        step.reason = str(exc)
    except unreadable as exc:
        step.reason = f"unreadable step ({type(exc).__name__}: {exc})"


def type_list(kinds: Sequence[str]) -> dict[str, str]:
    """``action_type_list`` for the kinds a format uses, in a stable order."""
    return {k: ACTION_NAMES[k] for k in ACTION_NAMES if k in kinds}


def wire(kind: str, value: str) -> dict[str, Any]:
    return {"action_type": kind, "action_parameter": {kind: value}}


def pixel(value: float, limit: int, what: str) -> int:
    """A coordinate rounded to a pixel; :class:`SkipStep` when it lies off the screen (beyond one
    pixel of rounding) or is not a finite number."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SkipStep(f"{what} {value!r} is not a number")
    if value < -0.5 or value > limit + 0.5:
        raise SkipStep(f"{what} {value:g} lies outside the screen (0..{limit})")
    return min(max(round(value), 0), limit)


def point(x: float, y: float, size: tuple[int, int]) -> tuple[int, int]:
    """A pixel point on a ``(width, height)`` screen, checked to lie on it."""
    return pixel(x, size[0], "x"), pixel(y, size[1], "y")


def box_text(box: Sequence[int]) -> str:
    return ",".join(str(int(v)) for v in box)


def tap(kind: str, x: float, y: float, size: tuple[int, int], elements: Sequence[Box]) -> tuple[dict, dict]:
    """A click/long_click truth and its meta: the smallest element containing the tap, else the point."""
    px, py = point(x, y, size)
    box = smallest_containing(elements, px, py)
    value = box_text(box) if box else f"{px},{py}"
    return wire(kind, value), {"tap_point": [px, py]}


def swipe_points(
    start: tuple[float, float], end: tuple[float, float], size: tuple[int, int]
) -> tuple[dict, dict]:
    """A swipe by endpoints (pixels, finger from start to end) and its meta."""
    x1, y1 = point(*start, size)
    x2, y2 = point(*end, size)
    if (x1, y1) == (x2, y2):
        raise SkipStep(f"swipe starts and ends at ({x1}, {y1})")
    return wire("swipe", f"{x1},{y1},{x2},{y2}"), {"lift_point": [x2, y2]}


def yx_to_box(yxhw: Sequence[float], sx: float, sy: float, size: tuple[int, int]) -> Box | None:
    """An element given as (y, x, height, width), each scaled (x and width by ``sx``, y and height by
    ``sy``) and rounded to a pixel as AITW's visualisation does, as a box clipped to the screen."""
    y, x, h, w = yxhw[:4]
    px, py, pw, ph = round(x * sx), round(y * sy), round(w * sx), round(h * sy)
    x1, y1, x2, y2 = max(0, px), max(0, py), min(size[0], px + pw), min(size[1], py + ph)
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def describe(action: dict[str, Any], meta: dict[str, Any]) -> str:
    """The action in words (for ``action_description`` and later steps' history) when the data has none."""
    kind = action["action_type"]
    value = action["action_parameter"][kind]
    where = meta.get("tap_point")
    if kind in ("click", "long_click"):
        verb = "tap" if kind == "click" else "long press"
        return f"{verb} at ({where[0]}, {where[1]})" if where else f"{verb} {value}"
    if kind == "swipe":
        if value in FLIP:
            return f"swipe {value}"
        x1, y1, x2, y2 = value.split(",")
        return f"swipe from ({x1}, {y1}) to ({x2}, {y2})"
    return {
        "type": f'type "{value}"',
        "open_app": f"open the app {value}",
        "home": "press home",
        "back": "press back",
        "key": f"press the {value} key",
        "wait": "wait",
        "task_completed": "the task is complete",
        "task_impossible": "the task is impossible",
    }.get(kind, kind)
