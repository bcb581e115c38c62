"""The checks a step passes before it becomes a sample (beyond its schema): the action fits the step's
own action list and the screen it refers to, and the text holds no stray image marker.

Each failure is a :class:`StepRejected` whose ``kind`` groups the reasons in the build's report.
"""

from __future__ import annotations

from typing import Any

from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, StepRecord
from gui_agent_rl.schemas.actions import ClickAction, LongClickAction, SwipeAction

_MARKER = IMAGE_PLACEHOLDER.encode()
_COORDINATE_ACTIONS = (ClickAction, LongClickAction, SwipeAction)


class StepRejected(ValueError):
    """A step that cannot become a sample. ``kind`` groups reasons in the summary."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def check_action(record: StepRecord) -> bool:
    """Whether the step's action has coordinates; :class:`StepRejected` when its type is not in the
    step's own non-empty ``action_type_list``, or its coordinates lack the screen they refer to."""
    inp, action = record.input, record.output
    if inp.action_type_list and action.action_type not in inp.action_type_list:
        raise StepRejected(
            "action_type",
            f"output.action_type: {action.action_type!r} is not in input.action_type_list "
            f"({', '.join(inp.action_type_list)})",
        )
    coordinates = isinstance(action, _COORDINATE_ACTIONS) and not (
        isinstance(action, SwipeAction) and action.start is None  # a swipe by direction: none
    )
    if coordinates and inp.screen_path2 is None:
        raise StepRejected(
            "screen",
            f"input.screen_path2: missing; a {action.action_type} needs the current screen "
            "its coordinates refer to",
        )
    return coordinates


def check_markers(human: bytes, images: int) -> None:
    """The human text must hold exactly one ``<image>`` per image: a marker in the step's own text
    would make every reader of the dataset (stats, show, score, eval, viz, train) refuse the file."""
    markers = human.count(_MARKER)
    if markers != images:
        raise StepRejected(
            "marker",
            f"input text contains {IMAGE_PLACEHOLDER} {markers - images} time(s); it is the image marker, "
            f"so the sample would have {markers} markers for {images} image(s)",
        )


def check_bounds(action: Any, size: tuple[int, int]) -> None:
    """A box, point or swipe must lie on the current screen (``size`` = its width and height)."""
    w, h = size
    kind = action.action_type
    value = getattr(action.action_parameter, kind)  # validated and normalised: "x1,y1,x2,y2" or "x,y"
    numbers = list(map(int, value.split(",")))
    if len(numbers) == 2:
        if numbers[0] <= w and numbers[1] <= h:
            return
        what = "point"
    elif isinstance(action, SwipeAction):
        x1, y1, x2, y2 = numbers
        if max(x1, x2) <= w and max(y1, y2) <= h:
            return
        what = "swipe"
    else:
        if numbers[2] <= w and numbers[3] <= h:  # a valid box has x1 < x2 and y1 < y2
            return
        what = "box"
    raise StepRejected(
        "bounds", f"output.action_parameter.{kind}: {what} {value} lies outside the current screen ({w}x{h})"
    )
