"""The phone actions (SPEC §3, extended for real data) as frozen pydantic models, in their wire format.

The wire format is what the corpus stores and what the model writes::

    {"action_type": "click", "action_parameter": {"click": "49,721,1368,1008"},
     "action_description": "点击剑来"}

Each model keeps exactly that shape (so the JSON Schema can be handed to a constrained decoder and a
dump is the wire dict again) and adds typed views: ``ClickAction.point`` / ``.box``,
``SwipeAction.direction`` / ``.start`` / ``.end``, ``InquiryAction.inquiry`` and so on. Boxes are
normalised to ``"x1,y1,x2,y2"`` and points to ``"x,y"``, without spaces.

The seed's ten types keep their bytes. Added for real data (issue 12): a click or long_click at a point
``"x,y"``; a long_click's optional ``"duration"`` (ms), the one key of ``action_parameter`` besides the
type's own; a swipe by the finger's direction (``"up"``, ``"down"``, ``"left"``, ``"right"``); ``home``
(``""``) and ``key`` (one of :data:`KEY_NAMES`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import orjson
from pydantic import Field, TypeAdapter, ValidationError

from gui_agent_rl.schemas.action_models import (
    BackAction,
    ClickAction,
    HomeAction,
    InquiryAction,
    KeyAction,
    LongClickAction,
    OpenAppAction,
    SwipeAction,
    TaskCompletedAction,
    TaskImpossibleAction,
    TypeAction,
    WaitAction,
)
from gui_agent_rl.schemas.parameters import (
    ACTION_TYPES,
    ALL_ACTION_TYPES,
    BOX_ACTION_TYPES,
    DIRECTIONS,
    KEY_NAMES,
    TEXT_ACTION_TYPES,
    Inquiry,
    describe_validation_error,
)

__all__ = [
    "ACTION_ADAPTER",
    "ACTION_TYPES",
    "ALL_ACTION_TYPES",
    "BOX_ACTION_TYPES",
    "DIRECTIONS",
    "KEY_NAMES",
    "TEXT_ACTION_TYPES",
    "Action",
    "BackAction",
    "ClickAction",
    "HomeAction",
    "Inquiry",
    "InquiryAction",
    "KeyAction",
    "LongClickAction",
    "OpenAppAction",
    "SwipeAction",
    "TaskCompletedAction",
    "TaskImpossibleAction",
    "TypeAction",
    "WaitAction",
    "action_json_schema",
    "describe_validation_error",
    "parse_action",
]


Action = Annotated[
    Union[  # noqa: UP007 - a Union reads better than twelve |'s in a discriminated union
        OpenAppAction,
        ClickAction,
        LongClickAction,
        TypeAction,
        SwipeAction,
        TaskCompletedAction,
        TaskImpossibleAction,
        InquiryAction,
        WaitAction,
        BackAction,
        HomeAction,
        KeyAction,
    ],
    Field(discriminator="action_type"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(obj: dict[str, Any] | str | bytes) -> Action:
    """Validate a wire-format action (a dict, or its JSON text).

    Raises ``ValueError`` with one line naming the offending field.

    >>> parse_action('{"action_type": "click", "action_parameter": {"click": "1, 2, 30, 40"}}').box
    Box(x1=1.0, y1=2.0, x2=30.0, y2=40.0)
    """
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            obj = orjson.loads(obj)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"action is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"action must be a JSON object, got {type(obj).__name__}")
    try:
        return ACTION_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def action_json_schema() -> dict[str, Any]:
    """JSON Schema of one answer action (wire format)."""
    return ACTION_ADAPTER.json_schema()
