"""How many steps each task had, so ``eval --by-task`` counts the steps a dataset lost as failures.

A task's steps are known, in this order of precedence (per task, the first that knows it):

1. ``meta.episode_length`` on the task's samples (written by ``gui-agent-rl import``: the steps the
   ORIGINAL episode has, including any the importer or ``build`` could not keep). The steps are
   numbered ``0 .. episode_length - 1`` and a sample's position is its ``step`` (``step_<n>``, the
   original index for imported data); a number outside that range is an error naming the task.
2. ``--import-summary import.summary.json``: its ``episode_lengths`` (``{task folder: n}``), read the
   same way.
3. ``--build-report DATA.report.jsonl`` (``build``'s report): the task's steps are the ones in the
   dataset plus the ``<task>/step_<n>.json`` files the report rejected, ordered by ``n``. A task the
   report does not name lost nothing at build. Steps the importer skipped are invisible here: use 1 or 2.
4. None of them: today's behaviour, the task's steps are the ones in the dataset (nothing counted
   missing), and the output says so.

A missing step is a failed step: an episode with a missing step is not a success, and goal progress
(the steps right before the first failure, over all the task's steps) stops at it. Tasks with no
sample in the dataset at all (every step rejected, or in the other split) are not counted.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gui_agent_rl.schemas import Sample, iter_jsonl

FROM_META, FROM_DATASET = "meta.episode_length", "dataset steps only (lengths unknown)"
_STEP_PATH = re.compile(r"(\d+)/step_(\d+)\.json")


def sample_meta(sample: Sample) -> dict[str, Any]:
    """The sample's ``meta`` object (carried over from its step file by ``build``), ``{}`` when absent."""
    meta = getattr(sample, "meta", None)
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ValueError(f"sample {sample.id!r}: meta must be an object, got {type(meta).__name__}")
    return meta


def episode_length(sample: Sample) -> int | None:
    """``meta.episode_length`` as a positive int, None when absent; anything else is an error."""
    value = sample_meta(sample).get("episode_length")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"sample {sample.id!r}: meta.episode_length must be an integer >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class LengthSources:
    """What ``--import-summary`` and ``--build-report`` say beyond the dataset."""

    summary: dict[str, int] | None = None
    summary_name: str = ""
    rejected: dict[str, set[int]] | None = None
    report_name: str = ""


def read_import_summary(path: str | os.PathLike[str]) -> dict[str, int]:
    """``episode_lengths`` of an importer's ``import.summary.json``; a bad file raises ``ValueError``."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the import summary ({exc})") from None
    lengths = data.get("episode_lengths") if isinstance(data, dict) else None
    if not isinstance(lengths, dict):
        raise ValueError(f'{path}: not an import summary (no "episode_lengths" object)')
    for task, n in lengths.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{path}: episode_lengths[{task!r}] must be an integer >= 1, got {n!r}")
    return {str(task): n for task, n in lengths.items()}


def read_build_report(path: str | os.PathLike[str]) -> dict[str, set[int]]:
    """``{task: rejected step numbers}`` from ``build``'s report (lines naming ``<task>/step_<n>.json``).

    Lines about other entries (a misnamed folder, an unreadable task) name no step and are skipped.
    """
    rejected: dict[str, set[int]] = defaultdict(set)
    for lineno, obj in iter_jsonl(path):
        where = obj.get("path") if isinstance(obj, dict) else None
        if not isinstance(where, str):
            raise ValueError(f'{path}:{lineno}: not a build report line (no "path"); give `build`\'s report')
        found = _STEP_PATH.fullmatch(where)
        if found:
            rejected[found.group(1)].add(int(found.group(2)))
    return dict(rejected)


def task_outcomes(
    task: str, results: Sequence[tuple[int | None, bool, int | None]], sources: LengthSources
) -> tuple[str, list[bool], int]:
    """``(source, step verdicts in order with missing steps as False, missing steps)`` for one task's
    ``(step, right, meta.episode_length)`` results. Two samples with one step number must both be right."""
    lengths = {n for _, _, n in results if n is not None}
    if len(lengths) > 1:
        raise ValueError(f"task {task!r}: its samples disagree on meta.episode_length ({sorted(lengths)})")
    source = _source(task, lengths, sources)
    if source == FROM_DATASET:  # today's order: by step, samples without one last
        return source, [ok for _, ok, _ in sorted(results, key=lambda r: (r[0] is None, r[0] or 0))], 0
    steps: dict[int, list[bool]] = defaultdict(list)
    for step, ok, _ in results:
        if step is None:
            raise ValueError(f"task {task!r}: a sample without a step number; its lengths come from {source}")
        steps[step].append(ok)
    if source.startswith("build report"):
        lost = (sources.rejected or {}).get(task, set()) - set(steps)
        return source, [n in steps and all(steps[n]) for n in sorted(set(steps) | lost)], len(lost)
    length = lengths.pop() if lengths else (sources.summary or {})[task]
    outside = sorted(n for n in steps if not 0 <= n < length)
    if outside:
        raise ValueError(
            f"task {task!r}: step {outside[0]} is outside its {length} steps (0..{length - 1}, from {source})"
        )
    return source, [n in steps and all(steps[n]) for n in range(length)], length - len(steps)


def _source(task: str, lengths: set[int], sources: LengthSources) -> str:
    if lengths:
        return FROM_META
    if sources.summary is not None and task in sources.summary:
        return f"import summary {sources.summary_name}"
    if sources.rejected is not None:
        return f"build report {sources.report_name}"
    return FROM_DATASET


def episode_metrics(
    tasks: dict[str, list[tuple[int | None, bool, int | None]]], sources: LengthSources | None = None
) -> dict:
    """Episode success and goal progress from ``{task: [(step, right, meta.episode_length), ...]}``.

    ``missing_steps`` counts the steps the lengths name that no sample holds; ``lengths_from`` says
    how many tasks each source gave the lengths of.
    """
    sources = sources or LengthSources()
    successes, progress, used = [], [], Counter()
    missing = 0
    for task, results in tasks.items():
        source, flags, lost = task_outcomes(task, results, sources)
        used[source] += 1
        missing += lost
        prefix = next((i for i, ok in enumerate(flags) if not ok), len(flags))
        successes.append(prefix == len(flags))
        progress.append(prefix / len(flags))
    return {
        "tasks": len(tasks),
        "episode_success": sum(successes) / len(successes) if successes else None,
        "goal_progress": sum(progress) / len(progress) if progress else None,
        "missing_steps": missing,
        "lengths_from": dict(sorted(used.items())),
    }


def format_lengths(by_task: dict) -> str:
    """One line saying where the task lengths came from and how many steps were missing."""
    used = by_task.get("lengths_from") or {}
    parts = ", ".join(f"{source}: {n} task{'s' * (n != 1)}" for source, n in used.items())
    missing = by_task.get("missing_steps", 0)
    return f"by task: lengths from {parts or '-'}; {missing} missing steps counted as failures"
