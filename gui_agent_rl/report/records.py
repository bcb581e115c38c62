"""What the page shows of each sample: plain JSON-able records built from ``eval``'s own verdicts.

A record holds the sample's place (id, task, step, instruction), the true action in words, and one
``side`` per predictions file (``a``: ``--predictions``, ``b``: ``--compare``): the predicted action
in words, its type, the verdict and its reason, the reward values and the completion text. With two
sides, ``disagree`` says whether the checkpoints differ (verdict or predicted action); the page lists
those first. Everything here is linear in the samples and never raises on model output.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

from gui_agent_rl.evaluate.metrics import StepResult
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.viz import describe_action
from gui_agent_rl.schemas import Action, Sample

MAX_COMPLETION_CHARS = 8000  # longer completions are cut (the page says how much): 10k samples stay light
_TASK_CONTENT = re.compile(r'"task_content"\s*:\s*("(?:[^"\\]|\\.)*")')


def instruction(sample: Sample) -> str | None:
    """The task's instruction (``task_content`` in the prompt's input JSON), None when it has none.

    >>> from gui_agent_rl.schemas import Sample
    >>> s = Sample(id=1, conversations=[{"from": "human", "value": 'Input: {"task_content": "打开设置"}'},
    ...                                 {"from": "gpt", "value": "x"}])
    >>> instruction(s)
    '打开设置'
    """
    found = _TASK_CONTENT.search(sample.prompt)
    if found is None:
        return None
    try:
        text = json.loads(found.group(1))
    except ValueError:
        return None
    return text if isinstance(text, str) else None


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_COMPLETION_CHARS:
        return text
    return f"{text[:MAX_COMPLETION_CHARS]}… ({len(text) - MAX_COMPLETION_CHARS} more characters)"


def _reward(value: float | None) -> float | None:
    """A reward value for the page: rounded to 6 places; None (and non-finite values) stay empty."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def _action_key(action: Action | None) -> str | None:
    """A canonical form of a predicted action, to tell whether two checkpoints answered the same."""
    return None if action is None else json.dumps(action.to_wire(), sort_keys=True, ensure_ascii=False)


def side_record(row: Scored, verdict: StepResult) -> dict:
    """One checkpoint's view of a sample: prediction, verdict, reason, rewards, completion."""
    return {
        "pred": describe_action(verdict.pred) if verdict.pred is not None else None,
        "ptype": verdict.pred_type,
        "ok": verdict.step_ok,
        "type_ok": verdict.type_ok,
        "reason": verdict.reason,
        "rewards": {name: _reward(v) for name, v in verdict.rewards.items()},
        "completion": _short(row.completion),
    }


def sample_record(
    index: int, row: Scored, verdict: StepResult, other: tuple[Scored, StepResult] | None = None
) -> dict:
    """The page's record of sample ``index`` (its position in the dataset)."""
    sample = row.sample
    record = {
        "i": index,
        "id": sample.id,
        "task": sample.task_id,
        "step": sample.step,
        "instruction": instruction(sample),
        "truth": describe_action(verdict.truth),
        "ttype": verdict.truth.action_type,
        "a": side_record(row, verdict),
    }
    if other is not None:
        other_row, other_verdict = other
        record["b"] = side_record(other_row, other_verdict)
        record["disagree"] = other_verdict.step_ok != verdict.step_ok or _action_key(
            other_verdict.pred
        ) != _action_key(verdict.pred)
    return record


def build_records(
    rows: Sequence[Scored],
    verdicts: Sequence[StepResult],
    other_rows: Sequence[Scored] | None = None,
    other_verdicts: Sequence[StepResult] | None = None,
) -> list[dict]:
    """A record per sample in dataset order (``other_*``: the ``--compare`` checkpoint, same order)."""
    if other_rows is None or other_verdicts is None:
        return [sample_record(i, r, v) for i, (r, v) in enumerate(zip(rows, verdicts, strict=True))]
    pairs = zip(rows, verdicts, other_rows, other_verdicts, strict=True)
    return [sample_record(i, r, v, (ro, vo)) for i, (r, v, ro, vo) in enumerate(pairs)]


def episodes(records: Sequence[dict]) -> dict[str, list[int]]:
    """``{task id: record indices in step order}`` (steps without a number last, then dataset order).

    >>> episodes([{"i": 0, "task": "t", "step": 2}, {"i": 1, "task": "t", "step": 0}, {"i": 2, "task": None}])
    {'t': [1, 0]}
    """
    tasks: dict[str, list[dict]] = {}
    for record in records:
        if record["task"] is not None:
            tasks.setdefault(str(record["task"]), []).append(record)
    return {
        task: [r["i"] for r in sorted(steps, key=lambda r: (r["step"] is None, r["step"] or 0, r["i"]))]
        for task, steps in tasks.items()
    }
