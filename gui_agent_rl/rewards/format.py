"""The seed's graded format reward (SPEC §6), fixed and fast.

0.5 each, 2.5 at most: a ``<think>...</think>`` pair; its stripped content parses as JSON; that JSON is
an *object* holding the four think fields; an ``<answer>...</answer>`` pair; its stripped content parses
as JSON. Pairs are the first ones a non-greedy *search* finds (text around them is allowed), exactly as
the seed's ``re.search(r"<think>(.*?)</think>", text, re.DOTALL)``.

The two fixes against the seed: non-container think JSON (``<think>5</think>``, ``null``) no longer
crashes it, and the four field names count only as keys of a JSON object (the seed gave the credit to a
JSON string or list containing the names).

Speed: ``str.find`` instead of a regex (linear even on 1 MB of unclosed tags) and orjson instead of
``json``. What ``json.loads`` accepts beyond strict JSON (``NaN``, ``Infinity``, integers beyond 64
bits, lone surrogate escapes) still earns the seed's credit via a ``json.loads`` fallback that only
runs when orjson refuses the text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from gui_agent_rl.schemas.completion import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    completion_text,
    find_tagged,
)
from gui_agent_rl.schemas.think import THINK_FIELDS

STEP = 0.5
MAX_FORMAT_SCORE = 2.5
_NOT_JSON = object()
_THINK_FIELD_SET = frozenset(THINK_FIELDS)
#: First characters of anything ``json.loads`` accepts (NaN, Infinity and -Infinity included).
_JSON_STARTS = frozenset('{["-0123456789tfnNI')


def _loads(text: str) -> Any:
    """The JSON value of ``text`` as the seed's ``json.loads`` sees it, or ``_NOT_JSON``."""
    if not text or text[0] not in _JSON_STARTS:
        return _NOT_JSON  # prose: skip the parsers (orjson first encodes the whole text as UTF-8)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # orjson is stricter than json: give json.loads its say, as the seed did
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: deep nesting, which crashed the seed
        return _NOT_JSON


def format_score(text: str) -> float:
    """The graded format score of one completion text: 0.0 to 2.5 in steps of 0.5.

    >>> format_score('<think>{"task_interpretation": "a", "current_page_audit": "b", '
    ...              '"path_alignment_check": "c", "action_validation": "d"}</think><answer>{}</answer>')
    2.5
    >>> format_score("<think>5</think>")
    1.0
    """
    score = 0.0
    think = find_tagged(text, THINK_OPEN, THINK_CLOSE)
    if think is not None:
        value = _loads(think.strip())
        if value is _NOT_JSON:
            score = STEP
        elif isinstance(value, dict) and value.keys() >= _THINK_FIELD_SET:
            score = 3 * STEP
        else:
            score = 2 * STEP
    answer = find_tagged(text, ANSWER_OPEN, ANSWER_CLOSE)
    if answer is not None:
        score += STEP if _loads(answer.strip()) is _NOT_JSON else 2 * STEP
    return score


class FormatReward:
    """TRL reward: :func:`format_score` per completion, divided by 2.5 when ``normalize`` is set.

    >>> FormatReward(normalize=True)(completions=[[{"role": "assistant", "content": "<answer>1</answer>"}]])
    [0.4]
    """

    __name__ = "format"

    def __init__(self, normalize: bool = False) -> None:
        self.normalize = normalize

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        divisor = MAX_FORMAT_SCORE if self.normalize else 1.0
        return [
            format_score(c if isinstance(c, str) else completion_text(c)) / divisor for c in completions or []
        ]
