"""The values inside ``action_parameter``: targets, swipes, keys, texts and the inquiry JSON string.

Each is a validated ``str`` (the wire format is kept verbatim, boxes normalised to ``x1,y1,x2,y2`` and
points to ``x,y``) whose errors say what is wrong in one line; :func:`describe_validation_error` turns
a pydantic error into that line with the field's dotted path.

The action space: the seed's ten types (:data:`ACTION_TYPES`, the default a prompt lists) plus
``home`` and ``key`` (:data:`ALL_ACTION_TYPES`). A click or long_click target is a box
``"x1,y1,x2,y2"`` or a point ``"x,y"``; a swipe is the finger's endpoints ``"x1,y1,x2,y2"`` or the
finger's direction, one of :data:`DIRECTIONS`; a key is one of :data:`KEY_NAMES`.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

ACTION_TYPES: tuple[str, ...] = (
    "open_app",
    "click",
    "long_click",
    "type",
    "swipe",
    "task_completed",
    "task_impossible",
    "inquiry",
    "wait",
    "back",
)
#: The seed's ten plus the two real data needs (AndroidControl, AITW, Odyssey): system home and keys.
ALL_ACTION_TYPES: tuple[str, ...] = (*ACTION_TYPES, "home", "key")
#: Types whose parameter is a target on the screen: a box or a point.
BOX_ACTION_TYPES = frozenset({"click", "long_click"})
#: The finger's direction of a swipe given without endpoints.
DIRECTIONS: tuple[str, ...] = ("up", "down", "left", "right")
#: ``key`` values: enter, the recent-apps switcher, delete (backspace), search.
KEY_NAMES: tuple[str, ...] = ("enter", "app_switch", "delete", "search")
TEXT_ACTION_TYPES = frozenset({"open_app", "type", "task_completed", "task_impossible"})
INQUIRY_KEYS = ("Question", "CandidatesList", "PicDescribe", "AnswerIndex")

# For the JSON Schema (no negative numbers there; the validators name them in their errors)
_TARGET_PATTERN = r"^\s*\d+\s*,\s*\d+\s*(,\s*\d+\s*,\s*\d+\s*)?$"
_SWIPE_PATTERN = r"^(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*|\s*(up|down|left|right)\s*)$"
_FOUR_SIGNED_INTS = re.compile(r"\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*", re.ASCII)
_TWO_SIGNED_INTS = re.compile(r"\s*(-?\d+)\s*,\s*(-?\d+)\s*", re.ASCII)


def _four_ints(text: str, what: str) -> tuple[int, int, int, int]:
    m = _FOUR_SIGNED_INTS.fullmatch(text)
    if m is None:
        raise ValueError(f"{what} must be four comma-separated integers 'x1,y1,x2,y2', got {text[:80]!r}")
    x1, y1, x2, y2 = (int(g) for g in m.groups())
    if min(x1, y1, x2, y2) < 0:
        raise ValueError(f"{what} has a negative coordinate: {text!r}")
    return x1, y1, x2, y2


def _check_target(text: str) -> str:
    """A box ``x1,y1,x2,y2`` (x1 < x2, y1 < y2) or a point ``x,y``, normalised without spaces."""
    m = _TWO_SIGNED_INTS.fullmatch(text)
    if m is not None:
        x, y = (int(g) for g in m.groups())
        if min(x, y) < 0:
            raise ValueError(f"point has a negative coordinate: {text!r}")
        return f"{x},{y}"
    if _FOUR_SIGNED_INTS.fullmatch(text) is None:
        raise ValueError(
            f"box must be four comma-separated integers 'x1,y1,x2,y2' or a point 'x,y', got {text[:80]!r}"
        )
    x1, y1, x2, y2 = _four_ints(text, "box")
    if x1 == x2 and y1 == y2:
        raise ValueError(f"box must have x1 < x2 and y1 < y2, got {text!r}; write a point as 'x,y'")
    if x1 >= x2 or y1 >= y2:
        raise ValueError(f"box must have x1 < x2 and y1 < y2, got {text!r}")
    return f"{x1},{y1},{x2},{y2}"


def _check_swipe(text: str) -> str:
    word = text.strip()
    if word in DIRECTIONS:
        return word
    if _FOUR_SIGNED_INTS.fullmatch(text) is None:
        raise ValueError(
            "swipe must be four comma-separated integers 'x1,y1,x2,y2' or the finger's direction, "
            f"one of {', '.join(DIRECTIONS)}; got {text[:80]!r}"
        )
    return ",".join(str(v) for v in _four_ints(text, "swipe"))


def _check_key(text: str) -> str:
    if text not in KEY_NAMES:
        raise ValueError(f"key must be one of {', '.join(KEY_NAMES)}; got {text[:80]!r}")
    return text


def _check_nonblank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


TargetText = Annotated[
    str,
    AfterValidator(_check_target),
    Field(
        description="Box 'x1,y1,x2,y2' or point 'x,y' in pixels of the current screen",
        json_schema_extra={"pattern": _TARGET_PATTERN},
    ),
]
BoxText = TargetText  # the seed's name: a target is a box, or now a point
SwipeText = Annotated[
    str,
    AfterValidator(_check_swipe),
    Field(
        description="Finger moves from (x1,y1) to (x2,y2): 'x1,y1,x2,y2'; or the finger's direction: "
        + ", ".join(DIRECTIONS),
        json_schema_extra={"pattern": _SWIPE_PATTERN},
    ),
]
KeyText = Annotated[
    str,
    AfterValidator(_check_key),
    Field(description="Key to press", json_schema_extra={"enum": list(KEY_NAMES)}),
]
Duration = Annotated[int, Field(strict=True, gt=0, description="How long to press, in milliseconds")]
NonBlank = Annotated[str, AfterValidator(_check_nonblank), Field(json_schema_extra={"minLength": 1})]
EmptyText = Literal[""]


class Inquiry(BaseModel):
    """The typed view of an ``inquiry`` parameter (which travels as a JSON *string*)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    question: str = Field(alias="Question")
    candidates: tuple[str, ...] = Field(alias="CandidatesList")
    pic_describe: str = Field(alias="PicDescribe")
    answer_index: int = Field(alias="AnswerIndex", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _parse_candidates(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("CandidatesList"), str):
            text = data["CandidatesList"]
            try:
                value = ast.literal_eval(text)  # a Python-style list with single quotes; never eval()
            except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
                raise ValueError(f"CandidatesList is not a list literal: {text!r}") from exc
            if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
                raise ValueError(f"CandidatesList must be a list of strings, got {text!r}")
            data = {**data, "CandidatesList": tuple(value)}
        return data

    @model_validator(mode="after")
    def _index_in_range(self) -> Inquiry:
        if not 0 <= self.answer_index < len(self.candidates):
            raise ValueError(
                f"AnswerIndex {self.answer_index} is out of range for {len(self.candidates)} candidates"
            )
        return self

    @classmethod
    def from_text(cls, text: str) -> Inquiry:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"inquiry must be a JSON string, got {text[:80]!r} ({exc})") from exc
        if not isinstance(obj, dict):
            raise ValueError(f"inquiry must be a JSON object, got {type(obj).__name__}")
        missing = [k for k in INQUIRY_KEYS if k not in obj]
        if missing:
            raise ValueError(f"inquiry lacks {', '.join(missing)}")
        return cls.model_validate(obj)

    def to_text(self) -> str:
        """The wire string, in the corpus' own layout (indent 2, candidates as a Python list)."""
        obj = {
            "Question": self.question,
            "CandidatesList": repr(list(self.candidates)),
            "PicDescribe": self.pic_describe,
            "AnswerIndex": self.answer_index,
        }
        return json.dumps(obj, ensure_ascii=False, indent=2)


def _check_inquiry(text: str) -> str:
    try:
        Inquiry.from_text(text)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None
    return text


InquiryText = Annotated[
    str,
    AfterValidator(_check_inquiry),
    Field(description="JSON object with Question, CandidatesList, PicDescribe, AnswerIndex, as a string"),
]


def _is_union_tag(loc: list[Any], i: int) -> bool:
    """pydantic puts a discriminated union's tag into ``loc``; tell it from a parameter key."""
    return loc[i] in ALL_ACTION_TYPES and (i == 0 or loc[i - 1] != "action_parameter")


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first offending field: ``action_parameter.click: box must be ...``."""
    err = exc.errors(include_url=False)[0]
    raw = list(err["loc"])
    loc = [p for i, p in enumerate(raw) if not _is_union_tag(raw, i)]
    where = ".".join(str(p) for p in loc)
    prefix = f"{where}." if where else ""
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid":
        got = err.get("ctx", {}).get("tag")
        return (
            f"{prefix}action_type: unknown action type {got!r}; expected one of {', '.join(ALL_ACTION_TYPES)}"
        )
    if err["type"] == "union_tag_not_found":
        return f"{prefix}action_type: missing"
    if err["type"] == "missing":
        msg = "missing"
    elif err["type"] == "extra_forbidden":
        msg = "unexpected key"
    return f"{where}: {msg}" if where else msg
