"""Model text -> think block and answer action, with the reason when something is wrong; and the two
output forms a prompt can state (a sample's ``output_format``), rendered and checked exactly.

- ``answer``: ``<answer>{action JSON}</answer>`` and nothing else;
- ``think`` (the default, VLM-R1's convention): ``<think>{four-field think JSON}</think>``, optional
  whitespace, then ``<answer>{action JSON}</answer>``, and nothing else.

"Nothing else" allows whitespace at both ends of the text and around the JSON inside a tag; no tag may
appear inside another (not even inside a JSON string), and each appears once.

Tag semantics are the seed's: the first ``<think>...</think>`` and the first ``<answer>...</answer>``
found by a non-greedy *search* (text around the tags is allowed, tags are case-sensitive), content
stripped of whitespace before JSON parsing. Implemented with ``str.find`` rather than a regex so that
100 KB of unclosed tags costs linear time (``re.search(r"<t>(.*?)</t>")`` is quadratic there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from gui_agent_rl.schemas.actions import Action, parse_action
from gui_agent_rl.schemas.think import THINK_FIELDS

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
OUTPUT_FORMATS: tuple[str, ...] = ("answer", "think")
DEFAULT_OUTPUT_FORMAT = "think"  # a sample without output_format: the seed's VLM-R1 convention
_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)
_THINK_FIELD_SET = frozenset(THINK_FIELDS)

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
                texts = (p.get("text") for p in content if isinstance(p, dict))
                return "".join(t for t in texts if isinstance(t, str))
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


def check_output_format(output_format: str) -> str:
    """``output_format`` itself when it is ``"answer"`` or ``"think"``, else ``ValueError``."""
    if output_format not in OUTPUT_FORMATS:
        expected = ", ".join(OUTPUT_FORMATS)
        raise ValueError(f"unknown output format {output_format!r}; expected one of {expected}")
    return output_format


def render_completion(
    answer: str, output_format: str = DEFAULT_OUTPUT_FORMAT, think: dict[str, Any] | str | None = None
) -> str:
    """The completion in the exact form ``output_format`` states, for the wire JSON ``answer``.

    ``think`` (a dict, dumped as JSON, or JSON text) is required in ``think`` form and ignored in
    ``answer`` form, so one call serves samples of both forms. ``ValueError`` on an unknown form or a
    missing think block.

    >>> render_completion('{"action_type": "back", "action_parameter": {"back": ""}}', "answer")
    '<answer>{"action_type": "back", "action_parameter": {"back": ""}}</answer>'
    >>> render_completion("{}", "think", {"task_interpretation": "搜索"})
    '<think>{"task_interpretation": "搜索"}</think>\\n<answer>{}</answer>'
    """
    check_output_format(output_format)
    tail = f"{ANSWER_OPEN}{answer}{ANSWER_CLOSE}"
    if output_format == "answer":
        return tail
    if think is None:
        raise ValueError("the think output format needs a think block (think=...)")
    # json.dumps layout (", " and ": "), as the think prompt shows it and as actions are written
    think_text = think if isinstance(think, str) else json.dumps(think, ensure_ascii=False)
    return f"{THINK_OPEN}{think_text}{THINK_CLOSE}\n{tail}"


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` holds (strict JSON, no tag inside), else None; never raises."""
    if any(tag in text for tag in _TAGS):
        return None  # a nested or repeated tag
    try:
        value = orjson.loads(text)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def _is_answer_block(text: str) -> bool:
    # The two tags cannot overlap, so a text that starts with one and ends with the other holds both.
    if not (text.startswith(ANSWER_OPEN) and text.endswith(ANSWER_CLOSE)):
        return False
    return _json_object(text[len(ANSWER_OPEN) : -len(ANSWER_CLOSE)]) is not None


def matches_output_format(text: Any, output_format: str = DEFAULT_OUTPUT_FORMAT) -> bool:
    """True when the whole text, whitespace at both ends aside, is exactly the form ``output_format``
    states (module docstring); the think JSON must hold the four think fields. Linear time; never
    raises (a non-string completion is read with :func:`completion_text`; an unknown form is False).

    >>> matches_output_format("<answer>{}</answer>", "answer")
    True
    >>> matches_output_format("<answer>{}</answer> ok", "answer")
    False
    """
    if not isinstance(text, str):
        text = completion_text(text)
    text = text.strip()
    if output_format == "answer":
        return _is_answer_block(text)
    if output_format != "think" or not text.startswith(THINK_OPEN):
        return False
    end = text.find(THINK_CLOSE, len(THINK_OPEN))
    if end < 0:
        return False
    think = _json_object(text[len(THINK_OPEN) : end])
    if think is None or not think.keys() >= _THINK_FIELD_SET:
        return False
    return _is_answer_block(text[end + len(THINK_CLOSE) :].lstrip())
