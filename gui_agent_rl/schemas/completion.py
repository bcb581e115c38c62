"""Model text -> think block and answer action, with the reason when something is wrong.

Tag semantics are the seed's: the first ``<think>...</think>`` and the first ``<answer>...</answer>``
found by a non-greedy *search* (text around the tags is allowed, tags are case-sensitive), content
stripped of whitespace before JSON parsing. Implemented with ``str.find`` rather than a regex so that
100 KB of unclosed tags costs linear time (``re.search(r"<t>(.*?)</t>")`` is quadratic there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gui_agent_rl.schemas.actions import Action, parse_action

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"

_MISSING = object()


def find_tagged(text: str, open_tag: str, close_tag: str) -> str | None:
    """Content of the first ``open_tag ... close_tag`` pair (non-greedy), unstripped; None if none.

    >>> find_tagged("a <b>1</b> <b>2</b>", "<b>", "</b>")
    '1'
    """
    start = text.find(open_tag)
    if start < 0:
        return None
    start += len(open_tag)
    end = text.find(close_tag, start)
    return None if end < 0 else text[start:end]


def loads_or_missing(text: str) -> Any:
    """``orjson.loads(text)``, or the module's ``_MISSING`` sentinel when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _MISSING


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or ``[{"role": "assistant", "content": str}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # multimodal content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


@dataclass(frozen=True, slots=True)
class ParsedCompletion:
    think_text: str | None  # stripped content of the first think pair, None when there is none
    think: Any  # its JSON value (any JSON type) when it parsed, else None
    think_is_json: bool
    answer_text: str | None  # stripped content of the first answer pair
    answer: Any  # its JSON value when it parsed, else None
    answer_is_json: bool
    action: Action | None  # the answer as a valid Action, else None
    error: str | None  # why ``action`` is None (or None when it is set)

    @property
    def think_object(self) -> dict[str, Any] | None:
        return self.think if isinstance(self.think, dict) else None


def parse_completion(text: Any) -> ParsedCompletion:
    """Split model output into think and answer; never raises on any input.

    >>> p = parse_completion('<think>{"a": 1}</think><answer>{"action_type": "back",'
    ...                      ' "action_parameter": {"back": ""}}</answer>')
    >>> p.action.action_type, p.think
    ('back', {'a': 1})
    """
    if not isinstance(text, str):
        text = completion_text(text)
    think_text = find_tagged(text, THINK_OPEN, THINK_CLOSE)
    answer_text = find_tagged(text, ANSWER_OPEN, ANSWER_CLOSE)
    think = answer = _MISSING
    if think_text is not None:
        think_text = think_text.strip()
        think = loads_or_missing(think_text)
    action, error = None, None
    if answer_text is None:
        error = "no <answer>...</answer> pair"
    else:
        answer_text = answer_text.strip()
        answer = loads_or_missing(answer_text)
        if answer is _MISSING:
            error = "answer is not valid JSON"
        else:
            try:
                action = parse_action(answer) if isinstance(answer, dict) else None
                error = None if action else f"answer is a JSON {type(answer).__name__}, not an object"
            except ValueError as exc:
                error = f"answer is not a valid action: {exc}"
    return ParsedCompletion(
        think_text=think_text,
        think=None if think is _MISSING else think,
        think_is_json=think is not _MISSING,
        answer_text=answer_text,
        answer=None if answer is _MISSING else answer,
        answer_is_json=answer is not _MISSING,
        action=action,
        error=error,
    )
