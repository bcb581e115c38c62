"""Two strict structure rewards: the think block validates, and the answer is a valid action."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from gui_agent_rl.rewards.parsing import predicted_action
from gui_agent_rl.schemas.completion import (
    THINK_CLOSE,
    THINK_OPEN,
    completion_text,
    find_tagged,
    loads_or_missing,
)
from gui_agent_rl.schemas.think import ThinkBlock


def think_fields_score(text: str) -> float:
    """1.0 when the first think pair holds a JSON object that validates as :class:`ThinkBlock`.

    That is: exactly the four fields, each a non-blank string. ``<think>5</think>`` or a JSON list of
    the field names score 0.

    >>> think_fields_score('<think>["task_interpretation"]</think>')
    0.0
    """
    think = find_tagged(text, THINK_OPEN, THINK_CLOSE)
    if think is None:
        return 0.0
    value = loads_or_missing(think.strip())
    if not isinstance(value, dict):
        return 0.0
    try:
        ThinkBlock.model_validate(value)
    except ValidationError:
        return 0.0
    return 1.0


class ThinkFieldsReward:
    """TRL reward: :func:`think_fields_score` per completion (0 or 1)."""

    __name__ = "think_fields"

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        return [think_fields_score(completion_text(c)) for c in completions or []]


class SchemaReward:
    """TRL reward: 1.0 when the first answer pair is a valid action of any type (SPEC §3), else 0."""

    __name__ = "schema"

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        return [0.0 if predicted_action(c) is None else 1.0 for c in completions or []]
