"""An imperfect demonstrator: a copy of a built dataset whose gold answers slip, for SFT.

Real demonstrations have systematic mistakes (an annotator who presses back where the app needed a
moment), while the reward checks the task's truth. That gap is what reinforcement after a supervised
warm start is for, and ``make learn`` reproduces it: SFT learns from the slipping copy, GRPO is
rewarded against the clean data, both are judged on clean held-out steps.

A slip ``SOURCE=TARGET:RATE`` records each step whose gold action is ``SOURCE`` as the parameterless
action ``TARGET`` with probability ``RATE`` (seeded, so a run is repeatable).

>>> parse_slip("wait=back:0.6")
Slip(source='wait', target='back', rate=0.6)
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass

from pydantic import ValidationError

from gui_agent_rl.schemas import (
    ALL_ACTION_TYPES,
    JsonlError,
    JsonlWriter,
    Sample,
    describe_validation_error,
    iter_jsonl,
    parse_action,
)


@dataclass(frozen=True)
class Slip:
    source: str
    target: str
    rate: float

    def __str__(self) -> str:
        return f"{self.source}={self.target}:{self.rate:g}"

    def target_answer(self) -> str:
        """The wire JSON of the slipped answer, laid out as ``build`` writes gold answers."""
        return json.dumps({"action_type": self.target, "action_parameter": {self.target: ""}})


def parse_slip(text: str) -> Slip:
    """``SOURCE=TARGET:RATE`` as a :class:`Slip`; ``ValueError`` with one line saying what is wrong.

    >>> parse_slip("wait=click:0.5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: slip target 'click' needs a parameter; use an action without one (task_completed, ...)
    """
    head, _, rate_text = text.partition(":")
    source, _, target = head.partition("=")
    if not (source and target and rate_text):
        raise ValueError(f"slip {text!r} is not SOURCE=TARGET:RATE (e.g. wait=back:0.5)")
    for name in (source, target):
        if name not in ALL_ACTION_TYPES:
            raise ValueError(
                f"slip action {name!r} is unknown; expected one of {', '.join(ALL_ACTION_TYPES)}"
            )
    if source == target:
        raise ValueError(f"slip {text!r} changes nothing: SOURCE and TARGET are both {source!r}")
    try:
        rate = float(rate_text)
    except ValueError:
        raise ValueError(f"slip rate {rate_text!r} is not a number") from None
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"slip rate {rate_text} is outside (0, 1]")
    if not _parameterless(target):
        bare = ", ".join(t for t in ALL_ACTION_TYPES if _parameterless(t))
        raise ValueError(f"slip target {target!r} needs a parameter; use an action without one ({bare})")
    return Slip(source, target, rate)


def _parameterless(kind: str) -> bool:
    try:
        parse_action(Slip(kind, kind, 1.0).target_answer())
    except ValueError:
        return False
    return True


def slip_demonstrations(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], slip: Slip, seed: int = 0
) -> tuple[int, int]:
    """Copy the samples JSONL ``src`` to ``dst`` with ``slip`` applied; returns (slipped, steps of SOURCE).

    Every other record is written unchanged, one at a time, atomically (:class:`JsonlWriter`). A line
    that is not a sample with a valid gold action raises :class:`JsonlError` naming the file and line.
    """
    rng = random.Random(f"{seed}/slip/{slip}")
    slipped = eligible = 0
    with JsonlWriter(dst) as out:
        for lineno, record in iter_jsonl(src):
            try:
                kind = parse_action(Sample.model_validate(record).solution).action_type
            except ValidationError as exc:
                raise JsonlError(src, lineno, describe_validation_error(exc)) from None
            except ValueError as exc:
                raise JsonlError(src, lineno, f"the gold answer is not a valid action: {exc}") from None
            if kind == slip.source:
                eligible += 1
                if rng.random() < slip.rate:
                    slipped += 1
                    record["conversations"][1]["value"] = slip.target_answer()
            out.write(record)
    return slipped, eligible
