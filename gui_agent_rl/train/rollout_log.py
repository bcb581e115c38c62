"""A structured rollout log: one JSON line per completion with its step, sample id and every reward.

Replaces the seed's DEBUG_MODE text dumps. Each reward callable is wrapped in a :class:`RecordedReward`
(same ``__name__``, so TRL's metric names stay ``rewards/<name>/mean``); when the last reward of a
batch has run, the batch is appended to ``rollouts.jsonl`` in the output folder (one file per rank:
``rollouts-rank<N>.jsonl`` for ranks above 0, since each rank scores its own completions).

Line: ``{"step": 3, "id": "task7-2", "completion": "<think>…", "rewards": {"format": 2.0, "accuracy": 0.8},
"coordinate_frame": "resized", "min_pixels": 3136, "max_pixels": 1003520}``: the run's frame (the
pixel limits its screens were resized with) travels with every completion, as ``predict`` records it
in predictions, so a completion's coordinates can be scored in the frame the model answered in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from gui_agent_rl.schemas import completion_text


def rollout_log_path(output_dir: str | os.PathLike, rank: int = 0) -> Path:
    name = "rollouts.jsonl" if rank == 0 else f"rollouts-rank{rank}.jsonl"
    return Path(output_dir) / name


class RolloutRecorder:
    """Collects each reward's values for the current batch; writes the lines once all have reported."""

    def __init__(
        self, path: str | os.PathLike, reward_names: Sequence[str], frame: Mapping[str, Any] | None = None
    ) -> None:
        self.path = Path(path)
        self.reward_names = list(reward_names)
        self.frame = dict(frame or {})
        self._pending: dict[str, list] = {}

    def add(
        self, name: str, values: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any]
    ) -> None:
        self._pending[name] = list(values)
        if len(self._pending) < len(self.reward_names):
            return
        state = columns.get("trainer_state")
        step = getattr(state, "global_step", None)
        ids = columns.get("id") or [None] * len(completions)
        lines = []
        for i, completion in enumerate(completions):
            rewards = {n: _number(self._pending[n][i]) for n in self.reward_names}
            record = {
                "step": step,
                "id": ids[i],
                "completion": completion_text(completion),
                "rewards": rewards,
                **self.frame,
            }
            lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self._pending = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:  # append: a resumed run continues the same log
            f.writelines(lines)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class RecordedReward:
    """A reward callable that also reports its values to a :class:`RolloutRecorder` (picklable)."""

    def __init__(self, func: Callable, recorder: RolloutRecorder) -> None:
        self.func = func
        self.recorder = recorder
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, prompts: list, completions: list, **columns: Any) -> list[float | None]:
        values = self.func(prompts=prompts, completions=completions, **columns)
        self.recorder.add(self.__name__, values, completions, columns)
        return values


def record_rewards(
    funcs: Sequence[Callable], path: str | os.PathLike, frame: Mapping[str, Any] | None = None
) -> list[Callable]:
    """Wrap ``funcs`` so each batch's completions and rewards go to ``path`` as JSON lines.

    ``frame`` (``coordinate_frame``, ``min_pixels``, ``max_pixels``) is written on every line.
    """
    names = [getattr(f, "__name__", type(f).__name__) for f in funcs]
    recorder = RolloutRecorder(path, names, frame)
    return [RecordedReward(f, recorder) for f in funcs]
