"""Model predictions as JSON lines, and joining them to the samples of a dataset.

A predictions file has one object per line, ``{"id": <sample id>, "completion": "<model text>"}``
(what ``gui-agent-rl predict`` writes; extra keys are ignored). ``completion`` may also be a TRL-style
conversational completion ``[{"role": "assistant", "content": "..."}]``.

``predict --num-samples K`` adds ``"samples": [K completions]`` (sampled; ``completion`` stays the
greedy one) and ``"temperature"`` (theirs). Every line of a file then carries the same number of
samples; ``eval`` reports their mean and pass@K beside the greedy figures.

The frame the model answered in travels with its predictions: ``predict`` adds ``"min_pixels"`` and
``"max_pixels"`` (the ``smart_resize`` limits the screenshots were resized with) to every line, and
``score``/``eval`` read coordinates in that frame unless told otherwise (:func:`scoring_pixel_limits`,
which warns when explicit limits differ from the recorded ones). Lines of one file that record
different limits are an error; a line without them records nothing.

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

from gui_agent_rl.schemas import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    JsonlError,
    Sample,
    completion_text,
    iter_jsonl,
)

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
    pixels: tuple[int, int] | None = None
    """``(min_pixels, max_pixels)`` the screenshots were resized with, when the line records them."""


def _line_pixels(obj: dict, path: str | os.PathLike[str], lineno: int) -> tuple[int, int] | None:
    """The line's ``(min_pixels, max_pixels)``; None when it records neither."""
    values = [obj.get("min_pixels"), obj.get("max_pixels")]
    if values == [None, None]:
        return None
    for name, value in zip(("min_pixels", "max_pixels"), values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise JsonlError(path, lineno, f"{name}: expected a positive integer, got {value!r}")
    if values[0] > values[1]:
        raise JsonlError(path, lineno, f"min_pixels {values[0]} is larger than max_pixels {values[1]}")
    return values[0], values[1]


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
    pixels = _line_pixels(obj, path, lineno)
    raw = obj.get("samples")
    if raw is None:
        return Prediction(completion, pixels=pixels)
    samples = [_text(s) for s in raw] if isinstance(raw, list) else []
    if not samples or any(s is None for s in samples):
        raise JsonlError(path, lineno, "samples: not a non-empty list of completions")
    temperature = obj.get("temperature")
    number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if temperature is not None and not number:
        raise JsonlError(path, lineno, "temperature: not a number")
    return Prediction(completion, tuple(samples), temperature, pixels)  # type: ignore[arg-type]


def read_predictions(path: str | os.PathLike[str]) -> dict[str, Prediction]:
    """``{sample id as text: Prediction}`` from a predictions file.

    Raises :class:`JsonlError` (``path:line: reason``) for a line that is not an object with an
    ``id`` (int or str) and a ``completion`` (str or chat messages), for bad ``samples``, for a
    line whose number of samples differs from the first line's, for pixel limits that differ from
    the first recorded ones, and for a duplicate id.

    >>> read_predictions("pred.jsonl")["1"].completion  # doctest: +SKIP
    '<think>...</think><answer>{"action_type": "back", ...}</answer>'
    """
    predictions: dict[str, Prediction] = {}
    first_line: dict[str, int] = {}
    firsts: dict[str, tuple[object, int]] = {}  # "samples"/"pixels": (the first line's value, its number)
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise JsonlError(
                path, lineno, f"expected an object with id and completion, got {type(obj).__name__}"
            )
        sample_id = obj.get("id")
        if isinstance(sample_id, bool) or not isinstance(sample_id, (int, str)):
            raise JsonlError(path, lineno, "id: missing, or not an integer or string")
        prediction = _line_prediction(obj, path, lineno)
        _same_as_first(firsts, "samples", len(prediction.samples or ()), path, lineno)
        if prediction.pixels is not None:
            _same_as_first(firsts, "min/max_pixels", "/".join(map(str, prediction.pixels)), path, lineno)
        key = sample_key(sample_id)
        if key in predictions:
            raise JsonlError(path, lineno, f"duplicate id {sample_id!r} (first on line {first_line[key]})")
        predictions[key] = prediction
        first_line[key] = lineno
    return predictions


def _same_as_first(
    firsts: dict[str, tuple[object, int]], what: str, value: object, path: str | os.PathLike[str], lineno: int
) -> None:
    """Every line of a file has as many samples, and one frame (pixel limits) where it records one."""
    first, first_lineno = firsts.setdefault(what, (value, lineno))
    if value != first:
        rule = "every line needs as many" if what == "samples" else "one frame per file"
        raise JsonlError(path, lineno, f"{what}: {value} here, {first} on line {first_lineno}; {rule}")


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


def recorded_pixel_limits(predictions: Mapping[str, Prediction | str]) -> tuple[int, int] | None:
    """The ``(min_pixels, max_pixels)`` the predictions record (one frame per file), or None."""
    return next(
        (p.pixels for p in predictions.values() if isinstance(p, Prediction) and p.pixels is not None), None
    )


@dataclass(frozen=True, slots=True)
class PixelChoice:
    """The pixel limits to score with, where they came from, and the one-line warning (or None)."""

    min_pixels: int
    max_pixels: int
    source: str  # "predictions", "options", "defaults", "options+predictions" or "options+defaults"
    warning: str | None = None


def scoring_pixel_limits(
    recorded: tuple[int, int] | None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    frame: str = "resized",
) -> PixelChoice:
    """Each limit from the options, else the predictions' record, else the Qwen2.5-VL defaults.

    Warns (one line, ``warning``) when an option contradicts the record, and when a ``resized`` frame
    is scored at the defaults because neither the options nor the predictions name its limits.

    >>> scoring_pixel_limits((3136, 1003520)).max_pixels
    1003520
    >>> scoring_pixel_limits((3136, 1003520), max_pixels=12845056).warning is not None
    True
    """
    given = {"min_pixels": min_pixels, "max_pixels": max_pixels}
    fallback = dict(zip(given, recorded or (DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS), strict=True))
    chosen = {k: v or fallback[k] for k, v in given.items()}
    from_options = [k for k, v in given.items() if v]
    other = "predictions" if recorded is not None else "defaults"
    source = {0: other, 1: f"options+{other}", 2: "options"}[len(from_options)]
    warning = None
    differ = [k for k in from_options if recorded is not None and given[k] != fallback[k]]
    if frame == "resized" and differ:
        said = ", ".join(f"--{k.replace('_', '-')} {given[k]}" for k in differ)
        made = ", ".join(f"{k} {fallback[k]}" for k in differ)
        warning = f"the predictions were made at {made} (recorded by predict); scoring at {said} as asked"
    elif frame == "resized" and source == "defaults":
        warning = (
            f"the predictions do not record their pixel limits; scoring the resized frame at min_pixels "
            f"{chosen['min_pixels']}, max_pixels {chosen['max_pixels']} (give --min-pixels/--max-pixels "
            "as the model was run with)"
        )
    return PixelChoice(chosen["min_pixels"], chosen["max_pixels"], source, warning)
