"""The seed's graded format reward (SPEC §6), fixed and fast, aware of the prompt's output form; and
its strict 0-or-1 variant.

Graded, in the ``think`` form (the default, a sample without ``output_format``): 0.5 each, 2.5 at most:
a ``<think>...</think>`` pair; its stripped content parses as JSON; that JSON is an *object* holding
the four think fields; an ``<answer>...</answer>`` pair; its stripped content parses as JSON. In the
``answer`` form only the last two count (1.0 at most): a think block earns nothing there. Pairs are the
first ones a non-greedy *search* finds (text around them is allowed), exactly as the seed's
``re.search(r"<think>(.*?)</think>", text, re.DOTALL)``. ``normalize`` divides by the form's maximum.

Strict (``format_strict``): 1.0 only when the whole completion is exactly the stated form
(:func:`~gui_agent_rl.schemas.completion.matches_output_format`), else 0.0, so text around the tags,
repeated or nested tags earn nothing.

The form of each completion is its sample's ``output_format`` column (TRL passes dataset columns as
keyword lists; a missing column or a None entry means ``think``), unless the reward's
``output_format`` setting forces one for every sample.

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

from gui_agent_rl.rewards.parsing import column, row_label
from gui_agent_rl.schemas.completion import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    DEFAULT_OUTPUT_FORMAT,
    OUTPUT_FORMATS,
    THINK_CLOSE,
    THINK_OPEN,
    check_output_format,
    completion_text,
    find_tagged,
    matches_output_format,
)
from gui_agent_rl.schemas.think import THINK_FIELDS

STEP = 0.5
MAX_FORMAT_SCORE = 2.5  # the think form's maximum
#: The most each output form can earn.
MAX_FORMAT_SCORES = {"think": MAX_FORMAT_SCORE, "answer": 2 * STEP}
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


def format_score(text: str, output_format: str = DEFAULT_OUTPUT_FORMAT) -> float:
    """The graded format score of one completion text: 0.0 to 2.5 (``answer`` form: 1.0) in steps of 0.5.

    >>> format_score('<think>{"task_interpretation": "a", "current_page_audit": "b", '
    ...              '"path_alignment_check": "c", "action_validation": "d"}</think><answer>{}</answer>')
    2.5
    >>> format_score("<think>5</think>")
    1.0
    >>> format_score("<think>5</think><answer>{}</answer>", "answer")
    1.0
    """
    score = 0.0
    if output_format != "answer":
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


def row_output_formats(columns: dict[str, Any], n: int, forced: str | None = None) -> list[str]:
    """The output form of each of ``n`` completions: ``forced``, else the ``output_format`` column
    (absent or None: ``think``). ``ValueError`` naming the row on an unknown value (bad data, not bad
    model output)."""
    if forced is not None:
        return [forced] * n
    forms = []
    for i, value in enumerate(column(columns, "output_format", n)):
        if value is not None and value not in OUTPUT_FORMATS:
            where = row_label(columns, "output_format", i)
            raise ValueError(f"{where}: unknown output format {value!r}; expected one of answer, think")
        forms.append(value or DEFAULT_OUTPUT_FORMAT)
    return forms


class FormatReward:
    """TRL reward: :func:`format_score` per completion in its sample's output form, divided by that
    form's maximum (2.5 or 1.0) when ``normalize`` is set; ``output_format`` forces one form for all.

    >>> FormatReward(normalize=True)(completions=[[{"role": "assistant", "content": "<answer>1</answer>"}]])
    [0.4]
    >>> FormatReward(normalize=True)(completions=["<answer>1</answer>"], output_format=["answer"])
    [1.0]
    """

    __name__ = "format"

    def __init__(self, normalize: bool = False, output_format: str | None = None) -> None:
        self.normalize = normalize
        self.output_format = None if output_format is None else check_output_format(output_format)

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        completions = list(completions or [])
        forms = row_output_formats(columns, len(completions), self.output_format)
        scores = []
        for c, form in zip(completions, forms, strict=True):
            score = format_score(c if isinstance(c, str) else completion_text(c), form)
            scores.append(score / MAX_FORMAT_SCORES[form] if self.normalize else score)
        return scores


class FormatStrictReward:
    """TRL reward: 1.0 when a completion is exactly its sample's stated output form, else 0.0.

    >>> FormatStrictReward()(completions=["<answer>{}</answer>", "<answer>{}</answer>."], output_format=None)
    [0.0, 0.0]
    >>> FormatStrictReward("answer")(completions=["<answer>{}</answer>", "<answer>{}</answer>."])
    [1.0, 0.0]
    """

    __name__ = "format_strict"

    def __init__(self, output_format: str | None = None) -> None:
        self.output_format = None if output_format is None else check_output_format(output_format)

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        completions = list(completions or [])
        forms = row_output_formats(columns, len(completions), self.output_format)
        return [float(matches_output_format(c, form)) for c, form in zip(completions, forms, strict=True)]
