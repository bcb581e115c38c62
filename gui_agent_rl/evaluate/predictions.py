"""Model predictions as JSON lines, and joining them to the samples of a dataset.

A predictions file has one object per line, ``{"id": <sample id>, "completion": "<model text>"}``
(what ``gui-agent-rl predict`` writes; extra keys are ignored). ``completion`` may also be a TRL-style
conversational completion ``[{"role": "assistant", "content": "..."}]``.

Ids are matched as text, so a dataset id ``7`` and a prediction id ``"7"`` are the same sample.
A duplicate id is an error naming both lines; a prediction for an id the dataset does not have is
logged as a warning and ignored; a sample without a prediction is kept with ``completion=None``
(the metrics count it as wrong and as a format failure).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

from gui_agent_rl.schemas import JsonlError, Sample, completion_text, iter_jsonl

logger = logging.getLogger(__name__)


def sample_key(sample_id: int | str) -> str:
    """The text an id is matched by: ``7`` and ``"7"`` are the same sample."""
    return str(sample_id)


def read_predictions(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{sample id as text: completion text}`` from a predictions file.

    Raises :class:`JsonlError` (``path:line: reason``) for a line that is not an object with an
    ``id`` (int or str) and a ``completion`` (str or chat messages), and for a duplicate id.

    >>> read_predictions("pred.jsonl")  # doctest: +SKIP
    {'1': '<think>...</think><answer>{"action_type": "back", ...}</answer>'}
    """
    completions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise JsonlError(
                path, lineno, f"expected an object with id and completion, got {type(obj).__name__}"
            )
        sample_id = obj.get("id")
        if isinstance(sample_id, bool) or not isinstance(sample_id, (int, str)):
            raise JsonlError(path, lineno, "id: missing, or not an integer or string")
        completion = obj.get("completion")
        if isinstance(completion, str):
            text = completion
        elif isinstance(completion, list):
            text = completion_text(completion)
        else:
            raise JsonlError(path, lineno, "completion: missing, or not a string or a list of messages")
        key = sample_key(sample_id)
        if key in completions:
            raise JsonlError(path, lineno, f"duplicate id {sample_id!r} (first on line {first_line[key]})")
        completions[key] = text
        first_line[key] = lineno
    return completions


@dataclass(frozen=True, slots=True)
class Scored:
    """One dataset sample and the model's completion for it (None when there was no prediction)."""

    sample: Sample
    completion: str | None


def join_predictions(samples: Iterable[Sample], completions: dict[str, str]) -> list[Scored]:
    """Pair every sample with its prediction, in dataset order; warn about unknown prediction ids.

    Raises ``ValueError`` when the dataset itself has a duplicate id (the join would be ambiguous).
    """
    joined: list[Scored] = []
    seen: set[str] = set()
    for sample in samples:
        key = sample_key(sample.id)
        if key in seen:
            raise ValueError(f"dataset has the id {sample.id!r} twice; predictions cannot be matched")
        seen.add(key)
        joined.append(Scored(sample, completions.get(key)))
    unknown = [k for k in completions if k not in seen]
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        logger.warning("%d predictions have ids not in the dataset, ignored: %s", len(unknown), shown)
    missing = sum(1 for s in joined if s.completion is None)
    if missing:
        logger.warning("%d of %d samples have no prediction; they count as wrong", missing, len(joined))
    return joined
