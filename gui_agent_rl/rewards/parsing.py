"""What every reward needs from a TRL batch: the predicted action, the true action, the screen.

Model output is never trusted: :func:`predicted_action` returns ``None`` for anything that is not a
valid action in the answer the completion gives (:func:`answer_text`: the last ``<answer>...</answer>``
pair outside every ``<think>...</think>`` pair, so an answer written inside the thinking earns nothing;
for a completion in its stated output form this is the form's one answer). Ground truth is trusted: a
broken ``solution`` or ``image_sizes`` entry raises ``ValueError`` naming the column and row, because a
silent 0.0 there would train the model towards nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from gui_agent_rl.schemas.actions import ACTION_ADAPTER, Action, parse_action
from gui_agent_rl.schemas.completion import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    completion_text,
    find_tagged,
    loads_or_missing,
)
from gui_agent_rl.schemas.geometry import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, ImageFrame


def _outside_think(text: str) -> str:
    """``text`` with every closed ``<think>...</think>`` pair (nested ones included) blanked out.

    An unclosed ``<think>`` hides nothing (it is no pair); a stray ``</think>`` closes nothing. Linear
    time: each tag is found once with ``str.find``.
    """
    if THINK_OPEN not in text:
        return text
    spans: list[tuple[int, int]] = []
    opens: list[int] = []
    i, j = text.find(THINK_OPEN), text.find(THINK_CLOSE)  # the next opening and closing tags
    while j >= 0:
        if 0 <= i < j:
            opens.append(i)
            i = text.find(THINK_OPEN, i + len(THINK_OPEN))
            continue
        if opens:
            spans.append((opens.pop(), j + len(THINK_CLOSE)))
        j = text.find(THINK_CLOSE, j + len(THINK_CLOSE))
    if not spans:
        return text
    keep, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue  # inside a pair already blanked
        keep.append(text[last : max(start, last)])
        keep.append(" ")
        last = end
    keep.append(text[last:])
    return "".join(keep)


def answer_text(completion: Any) -> str | None:
    """The stripped content of the answer a completion gives, else None; never raises.

    That is the last ``<answer>...</answer>`` pair outside every ``<think>...</think>`` pair: an answer
    the model wrote inside its thinking is not the answer it gives.

    >>> answer_text("<think>maybe <answer>A</answer></think>\\n<answer> B </answer>")
    'B'
    >>> answer_text("<think><answer>A</answer></think>") is None
    True
    """
    text = completion if isinstance(completion, str) else completion_text(completion)
    text = _outside_think(text)
    last_close = text.rfind(ANSWER_CLOSE)
    start = text.rfind(ANSWER_OPEN, 0, max(last_close, 0))
    if last_close < 0 or start < 0:
        return None
    start += len(ANSWER_OPEN)
    return text[start : text.find(ANSWER_CLOSE, start)].strip()


def predicted_action(completion: Any) -> Action | None:
    """The valid action in the answer of a completion (:func:`answer_text`), else None; never raises.

    >>> predicted_action('<answer>{"action_type": "back", "action_parameter": {"back": ""}}</answer>')
    BackAction(action_type='back', action_parameter=BackParameter(back=''), action_description=None)
    """
    answer = answer_text(completion)
    if answer is None:
        return None
    if not answer.startswith("{"):
        return None  # not an object: skip the parser (orjson first encodes the whole text as UTF-8)
    obj = loads_or_missing(answer)
    if not isinstance(obj, dict):
        return None
    try:
        return ACTION_ADAPTER.validate_python(obj)
    except ValidationError:
        return None


@lru_cache(maxsize=8192)  # TRL repeats each solution once per generation in the group
def _truth_from_text(text: str) -> Action:
    if ANSWER_OPEN in text:  # a VLM-R1 style "<answer> ... </answer>" wrapper
        inner = find_tagged(text, ANSWER_OPEN, ANSWER_CLOSE)
        if inner is None:
            raise ValueError("has <answer> without </answer>")
        text = inner
    return parse_action(text.strip())


def truth_action(solution: Any, where: str = "solution") -> Action:
    """Parse one ground-truth action (wire JSON text, optionally ``<answer>``-wrapped, or a dict).

    Raises ``ValueError("solution[3]: action_parameter.click: ...")`` when it is not a valid action.
    """
    try:
        if isinstance(solution, str):
            return _truth_from_text(solution)
        if isinstance(solution, dict):
            return parse_action(solution)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    raise ValueError(f"{where}: expected the true action as JSON text, got {type(solution).__name__}")


@lru_cache(maxsize=1024)
def _frame(width: int, height: int, min_pixels: int, max_pixels: int) -> ImageFrame:
    frame = ImageFrame(width, height, min_pixels, max_pixels)
    frame.resized_size()  # validates the size (smart_resize raises on nonsense)
    return frame


def current_screen(
    sizes: Any,
    where: str = "image_sizes",
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageFrame | None:
    """The frame of the current screen (the LAST image of ``[[w, h], ...]``), None without sizes."""
    if sizes is None or (isinstance(sizes, Sequence) and len(sizes) == 0):
        return None
    last = sizes[-1] if isinstance(sizes[0], (list, tuple)) else sizes
    try:
        width, height = (int(v) for v in last)
        return _frame(width, height, min_pixels, max_pixels)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected [[width, height], ...], got {sizes!r} ({exc})") from None


def column(columns: dict[str, Any], name: str, n: int) -> Sequence[Any]:
    """A dataset column as a list of ``n`` values (``[None] * n`` when absent)."""
    values = columns.get(name)
    if values is None:
        return [None] * n
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def row_label(columns: dict[str, Any], name: str, i: int) -> str:
    """``solution[3]``, or ``solution[3] (id 17)`` when the batch carries an ``id`` column."""
    ids = columns.get("id")
    if ids is not None and i < len(ids):
        return f"{name}[{i}] (id {ids[i]})"
    return f"{name}[{i}]"
