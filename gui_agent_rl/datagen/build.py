"""Corpus -> JSONL dataset: walk, convert (optionally in worker processes), write, report.

Streaming throughout: tasks are converted a batch at a time with a bounded number of batches in
flight, and each sample is written as soon as its turn in walk order comes, so memory does not grow
with the corpus. Outputs are written atomically (:class:`~gui_agent_rl.schemas.JsonlWriter`): a
crash or Ctrl-C leaves previous files as they were.

>>> summary = build_dataset("examples/corpus", "data.jsonl", prompt=load_prompt())  # doctest: +SKIP
>>> summary.kept, dict(summary.rejected)  # doctest: +SKIP
(30, {})
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gui_agent_rl.datagen.convert import ConvertOptions, sample_pieces
from gui_agent_rl.datagen.layout import check_layout, escape_prompt, layout_prompt
from gui_agent_rl.datagen.processes import plan_workers
from gui_agent_rl.datagen.prompts import load_prompt, prompt_output_format
from gui_agent_rl.datagen.walk import scan_root
from gui_agent_rl.datagen.workers import Outcome, WorkerPool, convert_tasks
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, JsonlWriter
from gui_agent_rl.schemas.completion import check_output_format
from gui_agent_rl.schemas.tempfiles import remove_stale_temp_files

__all__ = ["BuildSummary", "ConvertOptions", "build_dataset", "choose_val_tasks", "load_prompt"]

log = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    """What a build did; ``format()`` is the summary printed on stderr."""

    output: Path
    report: Path
    val_output: Path | None = None
    tasks: int = 0
    steps: int = 0
    kept: int = 0
    kept_val: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    def format(self) -> str:
        n_rej = sum(self.rejected.values())
        split = f" (train {self.kept}, val {self.kept_val} -> {self.val_output})" if self.val_output else ""
        kept = self.kept + self.kept_val
        lines = [
            f"kept {kept} of {self.steps} steps in {self.tasks} tasks{split} -> {self.output}",
            f"rejected {n_rej}" + (f" -> {self.report}" if n_rej else ""),
        ]
        lines += [f"  {kind}: {n}" for kind, n in self.rejected.most_common()]
        lines.append(f"elapsed {self.elapsed:.2f} s, {self.steps_per_second:,.0f} steps/s")
        return "\n".join(lines)


def choose_val_tasks(task_ids: Sequence[str], fraction: float, seed: int) -> frozenset[str]:
    """The tasks that go to the validation file: ``round(fraction * n)`` of them, at least one and
    never all (a lone task stays in training), drawn with ``random.Random(seed)``: deterministic.

    >>> sorted(choose_val_tasks([str(i) for i in range(10)], 0.2, seed=0))
    ['6', '9']
    """
    if fraction <= 0 or not task_ids:
        return frozenset()
    n = len(task_ids)
    if n < 2:
        log.warning("only %d task: no validation split", n)
        return frozenset()
    k = min(max(round(n * fraction), 1), n - 1)
    return frozenset(random.Random(seed).sample(sorted(task_ids), k))


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar over tasks on stderr; a silent one unless ``enabled`` (a terminal)."""
    from tqdm import tqdm

    return tqdm(
        total=total, unit="task", file=sys.stderr, dynamic_ncols=True, leave=False, disable=not enabled
    )


def _sibling(output: str | os.PathLike[str], kind: str) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}.{kind}.jsonl" if out.suffix == ".jsonl" else f"{out.name}.{kind}.jsonl")


def default_report_path(output: str | os.PathLike[str]) -> Path:
    """``data.jsonl`` -> ``data.report.jsonl`` (next to the output)."""
    return _sibling(output, "report")


def default_val_path(output: str | os.PathLike[str]) -> Path:
    """``data.jsonl`` -> ``data.val.jsonl``."""
    return _sibling(output, "val")


def build_dataset(
    root: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    prompt: str,
    report: str | os.PathLike[str] | None = None,
    workers: int = 1,
    val_fraction: float = 0.0,
    seed: int = 0,
    val_output: str | os.PathLike[str] | None = None,
    reward_method: str | None = None,
    image_check: str = "quick",
    progress: bool = False,
    output_format: str | None = None,
    layout: str = "compact",
) -> BuildSummary:
    """Build ``output`` (and the report, and with ``val_fraction`` a validation file) from ``root``.

    ``workers`` processes convert steps, this one included (it also writes every sample): on two
    cores, 2; never more than the usable cores nor the task folders (:func:`plan_workers` logs it).
    Every sample carries ``output_format``, the completion form the prompt states
    (``"answer"`` or ``"think"``; by default :func:`prompt_output_format` of the prompt). ``layout``:
    ``compact`` (this toolkit's lines) or ``seed`` (the seed builder's bytes: the prefix stripped,
    ``json.dumps`` spacing; see :mod:`gui_agent_rl.datagen.layout`). ``ValueError`` when the prompt
    itself holds an image marker (the markers would outnumber the images in every sample) or on an
    unknown ``output_format`` or ``layout``.
    """
    if IMAGE_PLACEHOLDER in prompt:
        raise ValueError(f"the prompt prefix contains {IMAGE_PLACEHOLDER}; markers must match the images")
    output_format = check_output_format(output_format or prompt_output_format(prompt))
    prompt = layout_prompt(prompt, check_layout(layout))
    start = time.perf_counter()
    options = ConvertOptions(os.path.abspath(root), reward_method, image_check, output_format, layout)
    tasks, skipped = scan_root(options.root)  # skipped: entries under ROOT that are no task
    if not tasks:
        log.warning("%s has no task folders (folders named by digits, SPEC §2)", root)
    val_tasks = choose_val_tasks([t.task_id for t in tasks], val_fraction, seed)
    summary = BuildSummary(Path(output), Path(report) if report else default_report_path(output))
    if val_tasks:
        summary.val_output = Path(val_output) if val_output else default_val_path(output)
    summary.tasks = len(tasks)
    escaped_prompt = escape_prompt(prompt, layout)
    workers = plan_workers(workers, len(tasks)) if workers > 1 and tasks else 1
    _remove_stale_temp_files(summary.output, summary.val_output, summary.report)
    with ExitStack() as stack:
        # Entered first, left last: the children exit while the output files are synced and renamed.
        pool = stack.enter_context(WorkerPool(options, workers - 1)) if workers > 1 else None
        train_w = stack.enter_context(JsonlWriter(summary.output))
        val_w = stack.enter_context(JsonlWriter(summary.val_output)) if summary.val_output else None
        report_w = stack.enter_context(JsonlWriter(summary.report))
        for path, kind, reason in skipped:
            report_w.write({"path": path, "reason": reason, "kind": kind})
            summary.rejected[kind] += 1
        bar = stack.enter_context(_progress(len(tasks), progress))
        for task, outcomes in convert_tasks(tasks, options, pool):
            is_val = val_w is not None and task.task_id in val_tasks
            first_id = (summary.kept_val if is_val else summary.kept) + 1
            writer = val_w if is_val else train_w
            kept = _write_outcomes(
                outcomes,
                writer,
                first_id,
                report=report_w,
                summary=summary,
                prompt=escaped_prompt,
                layout=layout,
            )
            if is_val:
                summary.kept_val += kept
            else:
                summary.kept += kept
            bar.update(1)
    summary.elapsed = time.perf_counter() - start
    return summary


def _remove_stale_temp_files(*outputs: Path | None) -> None:
    """Remove the temp files of these outputs that builds killed on this host left behind."""
    for output in filter(None, outputs):
        if removed := remove_stale_temp_files(output):
            names = ", ".join(p.name for p in removed)
            log.info("removed %d temp file(s) of %s left by a dead build: %s", len(removed), output, names)


def _write_outcomes(
    outcomes: list[Outcome],
    writer: JsonlWriter,
    first_id: int,
    *,
    report: JsonlWriter,
    summary: BuildSummary,
    prompt: bytes,
    layout: str = "compact",
) -> int:
    """Write one task's samples (ids from ``first_id``) and rejections; returns how many were kept."""
    # The task's lines joined in one go from their pieces: each ~5 KB line is copied once.
    pieces: list[bytes] = []
    kept = 0
    for outcome in outcomes:
        if len(outcome) == 2:
            pieces += sample_pieces(first_id + kept, outcome, prompt, layout)  # type: ignore[arg-type]
            pieces.append(b"\n")
            kept += 1
        else:
            path, kind, reason = outcome
            report.write({"path": path, "reason": reason, "kind": kind})
            summary.rejected[kind] += 1
            log.debug("rejected %s: %s", path, reason)
    if pieces:  # one write per task: the writer adds the last newline
        pieces.pop()
        writer.write(orjson.Fragment(b"".join(pieces)))
    summary.steps += len(outcomes)
    return kept
