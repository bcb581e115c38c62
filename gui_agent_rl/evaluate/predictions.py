"""Model predictions as JSON lines, and joining them to the samples of a dataset.

A predictions file has one object per line, ``{"id": <sample id>, "completion": "<model text>"}``
(what ``gui-agent-rl predict`` writes; extra keys are ignored). ``completion`` may also be a TRL-style
conversational completion ``[{"role": "assistant", "content": "..."}]``.

``predict --num-samples K`` adds ``"samples": [K completions]`` (sampled; ``completion`` stays the
greedy one) and ``"temperature"`` (theirs). Every line of a file then carries the same number of
samples; ``eval`` reports their mean and pass@K beside the greedy figures.

Ids are matched as text, so a dataset id ``7`` and a prediction id ``"7"`` are the same sample.
A duplicate id is an error naming both lines; a prediction for an id the dataset does not have is
logged as a warning and ignored; a sample without a prediction is kept with ``completion=None``
(the metrics count it as wrong and as a format failure, each of its samples too).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gui_agent_rl.schemas import JsonlError, Sample, completion_text, iter_jsonl

logger = logging.getLogger(__name__)


def sample_key(sample_id: int | str) -> str:
    """The text an id is matched by: ``7`` and ``"7"`` are the same sample."""
    return str(sample_id)


@dataclass(frozen=True, slots=True)
class Prediction:
    """One line of a predictions file: the completion, and the sampled ones when there are any."""

    completion: str
    samples: tuple[str, ...] | None = None
    temperature: float | None = None


def _text(value: object) -> str | None:
    """A completion as text (a string, or chat messages); None when it is neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return completion_text(value)
    return None


def _line_prediction(obj: dict, path: str | os.PathLike[str], lineno: int) -> Prediction:
    completion = _text(obj.get("completion"))
    if completion is None:
        raise JsonlError(path, lineno, "completion: missing, or not a string or a list of messages")
    raw = obj.get("samples")
    if raw is None:
        return Prediction(completion)
    samples = [_text(s) for s in raw] if isinstance(raw, list) else []
    if not samples or any(s is None for s in samples):
        raise JsonlError(path, lineno, "samples: not a non-empty list of completions")
    temperature = obj.get("temperature")
    number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if temperature is not None and not number:
        raise JsonlError(path, lineno, "temperature: not a number")
    return Prediction(completion, tuple(samples), temperature)  # type: ignore[arg-type]


def read_predictions(path: str | os.PathLike[str]) -> dict[str, Prediction]:
    """``{sample id as text: Prediction}`` from a predictions file.

    Raises :class:`JsonlError` (``path:line: reason``) for a line that is not an object with an
    ``id`` (int or str) and a ``completion`` (str or chat messages), for bad ``samples``, for a
    line whose number of samples differs from the first line's, and for a duplicate id.

    >>> read_predictions("pred.jsonl")["1"].completion  # doctest: +SKIP
    '<think>...</think><answer>{"action_type": "back", ...}</answer>'
    """
    predictions: dict[str, Prediction] = {}
    first_line: dict[str, int] = {}
    shape: tuple[int, int] | None = None  # (samples per line, the first line's number)
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise JsonlError(
                path, lineno, f"expected an object with id and completion, got {type(obj).__name__}"
            )
        sample_id = obj.get("id")
        if isinstance(sample_id, bool) or not isinstance(sample_id, (int, str)):
            raise JsonlError(path, lineno, "id: missing, or not an integer or string")
        prediction = _line_prediction(obj, path, lineno)
        k = len(prediction.samples or ())
        shape = shape or (k, lineno)
        if k != shape[0]:
            raise JsonlError(
                path, lineno, f"samples: {k} here, {shape[0]} on line {shape[1]}; every line needs as many"
            )
        key = sample_key(sample_id)
        if key in predictions:
            raise JsonlError(path, lineno, f"duplicate id {sample_id!r} (first on line {first_line[key]})")
        predictions[key] = prediction
        first_line[key] = lineno
    return predictions


@dataclass(frozen=True, slots=True)
class Scored:
    """One dataset sample and the model's completion for it (None when there was no prediction).

    ``samples``: the sampled completions (``predict --num-samples``), None without.
    """

    sample: Sample
    completion: str | None
    samples: tuple[str, ...] | None = None
    temperature: float | None = None


def _scored(sample: Sample, prediction: Prediction | str | None) -> Scored:
    if prediction is None or isinstance(prediction, str):
        return Scored(sample, prediction)
    return Scored(sample, prediction.completion, prediction.samples, prediction.temperature)


def join_predictions(samples: Iterable[Sample], predictions: Mapping[str, Prediction | str]) -> list[Scored]:
    """Pair every sample with its prediction, in dataset order; warn about unknown prediction ids.

    ``predictions``: :func:`read_predictions`'s result, or plain ``{id: completion text}``.
    Raises ``ValueError`` when the dataset itself has a duplicate id (the join would be ambiguous).
    """
    joined: list[Scored] = []
    seen: set[str] = set()
    for sample in samples:
        key = sample_key(sample.id)
        if key in seen:
            raise ValueError(f"dataset has the id {sample.id!r} twice; predictions cannot be matched")
        seen.add(key)
        joined.append(_scored(sample, predictions.get(key)))
    unknown = [k for k in predictions if k not in seen]
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        logger.warning("%d predictions have ids not in the dataset, ignored: %s", len(unknown), shown)
    missing = sum(1 for s in joined if s.completion is None)
    if missing:
        logger.warning("%d of %d samples have no prediction; they count as wrong", missing, len(joined))
    return joined


def sample_draws(rows: Sequence[Scored]) -> list[list[Scored]]:
    """The sampled completions as K joined lists: draw j pairs every sample with its j-th sample.

    ``[]`` when no row carries samples; a row without any (no prediction) is None in every draw.
    Raises ``ValueError`` when rows carry different numbers of samples.
    """
    counts = sorted({len(r.samples) for r in rows if r.samples is not None})
    if not counts:
        return []
    if len(counts) > 1:
        raise ValueError(f"predictions carry different numbers of samples: {counts}")
    return [
        [Scored(r.sample, r.samples[j] if r.samples is not None else None) for r in rows]
        for j in range(counts[0])
    ]


def sample_temperature(rows: Sequence[Scored]) -> float | None:
    """The samples' temperature as ``predict`` recorded it (the first row that says), or None."""
    return next((r.temperature for r in rows if r.temperature is not None), None)
