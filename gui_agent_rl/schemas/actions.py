"""The ten phone actions (SPEC §3) as frozen pydantic models, in their wire format.

The wire format is what the corpus stores and what the model writes::

    {"action_type": "click", "action_parameter": {"click": "49,721,1368,1008"},
     "action_description": "点击剑来"}

Each model keeps exactly that shape (so the JSON Schema can be handed to a constrained decoder and a
dump is the wire dict again) and adds typed views: ``ClickAction.box``, ``SwipeAction.start``,
``InquiryAction.inquiry`` and so on. Boxes are normalised to ``"x1,y1,x2,y2"`` without spaces.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from gui_agent_rl.schemas.geometry import Box, Point
from gui_agent_rl.schemas.parameters import (
    ACTION_TYPES,
    BOX_ACTION_TYPES,
    TEXT_ACTION_TYPES,
    BoxText,
    EmptyText,
    Inquiry,
    InquiryText,
    NonBlank,
    SwipeText,
    describe_validation_error,
)

__all__ = [
    "ACTION_ADAPTER",
    "ACTION_TYPES",
    "BOX_ACTION_TYPES",
    "TEXT_ACTION_TYPES",
    "Action",
    "Inquiry",
    "action_json_schema",
    "describe_validation_error",
    "parse_action",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Description = Annotated[str | None, Field(description="What the step does, in words")]


class _Action(_Strict):
    @model_validator(mode="before")
    @classmethod
    def _parameter_key_is_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("action_parameter"), dict):
            keys = list(data["action_parameter"])
            kind = data.get("action_type")
            if keys != [kind]:
                raise ValueError(
                    f"action_parameter must have exactly one key, equal to action_type {kind!r}; got {keys}"
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
        kind = self.action_type  # one of ACTION_TYPES: plain ASCII, nothing to escape
        value = orjson.dumps(getattr(self.action_parameter, kind)).decode()
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


class ClickParameter(_Strict):
    click: BoxText


class ClickAction(_Action):
    action_type: Literal["click"]
    action_parameter: ClickParameter
    action_description: Description = None

    @property
    def box(self) -> Box:
        return Box(*map(float, self.action_parameter.click.split(",")))


class LongClickParameter(_Strict):
    long_click: BoxText


class LongClickAction(_Action):
    action_type: Literal["long_click"]
    action_parameter: LongClickParameter
    action_description: Description = None

    @property
    def box(self) -> Box:
        return Box(*map(float, self.action_parameter.long_click.split(",")))


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
    def start(self) -> Point:
        x1, y1, _, _ = map(float, self.action_parameter.swipe.split(","))
        return Point(x1, y1)

    @property
    def end(self) -> Point:
        _, _, x2, y2 = map(float, self.action_parameter.swipe.split(","))
        return Point(x2, y2)


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


Action = Annotated[
    Union[  # noqa: UP007 - a Union reads better than ten |'s in a discriminated union
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
