"""The action models, one per type, each in its wire shape with typed views (see :mod:`.actions`).

``action_parameter`` is a one-key object whose key is the action type, except a long_click's optional
``duration``; :meth:`_Action.to_json` writes the corpus' ``json.dumps`` layout directly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gui_agent_rl.schemas.geometry import Box, Point, swipe_direction
from gui_agent_rl.schemas.parameters import (
    DIRECTIONS,
    Duration,
    EmptyText,
    Inquiry,
    InquiryText,
    KeyText,
    NonBlank,
    SwipeText,
    TargetText,
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Description = Annotated[str | None, Field(description="What the step does, in words")]


class _Action(_Strict):
    @model_validator(mode="before")
    @classmethod
    def _parameter_key_is_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("action_parameter"), dict):
            params = data["action_parameter"]
            keys = list(params)
            kind = data.get("action_type")
            if kind == "long_click" and "duration" in params and kind in params and len(keys) == 2:
                if params["duration"] is None:
                    raise ValueError("action_parameter.duration: must be a positive integer (milliseconds)")
                return data
            if keys != [kind]:
                also = " (long_click may add 'duration')" if kind == "long_click" else ""
                raise ValueError(
                    f"action_parameter must have exactly one key, equal to action_type {kind!r}{also}; "
                    f"got {keys}"
                )
        return data

    def to_wire(self) -> dict[str, Any]:
        """The corpus dict: ``action_description`` only when it was given."""
        return self.model_dump(exclude_none=True)

    def to_json(self) -> str:
        """The wire dict as text, non-ASCII kept, in the corpus' ``json.dumps`` layout.

        Written directly rather than through ``json.dumps(self.to_wire())`` (~4 us, a fifth of the
        dataset builder's cost per step): every action is three strings in a fixed frame, and orjson
        escapes a string exactly as ``json.dumps(..., ensure_ascii=False)`` does (tested).
        """
        kind = self.action_type  # one of ALL_ACTION_TYPES: plain ASCII, nothing to escape
        value = orjson.dumps(getattr(self.action_parameter, kind)).decode()
        duration = getattr(self.action_parameter, "duration", None)
        if duration is not None:
            value += f', "duration": {duration}'
        text = f'{{"action_type": "{kind}", "action_parameter": {{"{kind}": {value}}}'
        if self.action_description is None:
            return text + "}"
        return f'{text}, "action_description": {orjson.dumps(self.action_description).decode()}}}'


class OpenAppParameter(_Strict):
    open_app: NonBlank = Field(description="App name, e.g. 微信")


class OpenAppAction(_Action):
    action_type: Literal["open_app"]
    action_parameter: OpenAppParameter
    action_description: Description = None

    @property
    def text(self) -> str:
        return self.action_parameter.open_app


def _target_box(text: str) -> Box | None:
    values = text.split(",")
    return Box(*map(float, values)) if len(values) == 4 else None


def _target_point(text: str) -> Point:
    values = list(map(float, text.split(",")))
    if len(values) == 2:
        return Point(*values)
    return Box(*values).center


class _TargetAction(_Action):
    """click and long_click: a box or a point on the current screen."""

    @property
    def target(self) -> str:
        """The normalised parameter: ``"x1,y1,x2,y2"`` or ``"x,y"``."""
        return getattr(self.action_parameter, self.action_type)

    @property
    def box(self) -> Box | None:
        """The box answered; None when the target is a point."""
        return _target_box(self.target)

    @property
    def point(self) -> Point:
        """Where the finger lands: the point, or the box's centre."""
        return _target_point(self.target)


class ClickParameter(_Strict):
    click: TargetText


class ClickAction(_TargetAction):
    action_type: Literal["click"]
    action_parameter: ClickParameter
    action_description: Description = None


class LongClickParameter(_Strict):
    long_click: TargetText
    duration: Duration | None = None


class LongClickAction(_TargetAction):
    action_type: Literal["long_click"]
    action_parameter: LongClickParameter
    action_description: Description = None

    @property
    def duration(self) -> int | None:
        """How long the press lasts, in ms, when the data says."""
        return self.action_parameter.duration


class TypeParameter(_Strict):
    type: NonBlank = Field(description="Text to enter")


class TypeAction(_Action):
    action_type: Literal["type"]
    action_parameter: TypeParameter
    action_description: Description = None

    @property
    def text(self) -> str:
        return self.action_parameter.type


class SwipeParameter(_Strict):
    swipe: SwipeText


class SwipeAction(_Action):
    action_type: Literal["swipe"]
    action_parameter: SwipeParameter
    action_description: Description = None

    @property
    def start(self) -> Point | None:
        """Where the finger starts; None for a swipe given by its direction."""
        if self.action_parameter.swipe in DIRECTIONS:
            return None
        x1, y1, _, _ = map(float, self.action_parameter.swipe.split(","))
        return Point(x1, y1)

    @property
    def end(self) -> Point | None:
        """Where the finger lifts; None for a swipe given by its direction."""
        if self.action_parameter.swipe in DIRECTIONS:
            return None
        _, _, x2, y2 = map(float, self.action_parameter.swipe.split(","))
        return Point(x2, y2)

    @property
    def direction(self) -> str | None:
        """The finger's direction: as given, or the main axis of the endpoints (None: zero length)."""
        value = self.action_parameter.swipe
        if value in DIRECTIONS:
            return value
        return swipe_direction(self.start, self.end)  # type: ignore[arg-type]


class TaskCompletedParameter(_Strict):
    task_completed: str = Field(description="Summary of what was done")


class TaskCompletedAction(_Action):
    action_type: Literal["task_completed"]
    action_parameter: TaskCompletedParameter
    action_description: Description = None

    @property
    def text(self) -> str:
        return self.action_parameter.task_completed


class TaskImpossibleParameter(_Strict):
    task_impossible: str = Field(description="Why the task cannot be done")


class TaskImpossibleAction(_Action):
    action_type: Literal["task_impossible"]
    action_parameter: TaskImpossibleParameter
    action_description: Description = None

    @property
    def text(self) -> str:
        return self.action_parameter.task_impossible


class InquiryParameter(_Strict):
    inquiry: InquiryText


class InquiryAction(_Action):
    action_type: Literal["inquiry"]
    action_parameter: InquiryParameter
    action_description: Description = None

    @property
    def inquiry(self) -> Inquiry:
        return Inquiry.from_text(self.action_parameter.inquiry)


class WaitParameter(_Strict):
    wait: EmptyText


class WaitAction(_Action):
    action_type: Literal["wait"]
    action_parameter: WaitParameter
    action_description: Description = None


class BackParameter(_Strict):
    back: EmptyText


class BackAction(_Action):
    action_type: Literal["back"]
    action_parameter: BackParameter
    action_description: Description = None


class HomeParameter(_Strict):
    home: EmptyText


class HomeAction(_Action):
    action_type: Literal["home"]
    action_parameter: HomeParameter
    action_description: Description = None


class KeyParameter(_Strict):
    key: KeyText


class KeyAction(_Action):
    action_type: Literal["key"]
    action_parameter: KeyParameter
    action_description: Description = None

    @property
    def key(self) -> str:
        return self.action_parameter.key
