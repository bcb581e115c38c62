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
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

from gui_agent_rl.datagen.build_plan import (
    BuildSummary,
    choose_val_tasks,
    default_report_path,
    default_val_path,
    plan_outputs,
)
from gui_agent_rl.datagen.convert import ConvertOptions, sample_pieces
from gui_agent_rl.datagen.layout import check_layout, escape_prompt, layout_prompt
from gui_agent_rl.datagen.processes import plan_workers
from gui_agent_rl.datagen.prompts import load_prompt, packaged_prompt_kind, prompt_output_format
from gui_agent_rl.datagen.walk import Rejection, TaskDir, scan_root
from gui_agent_rl.datagen.workers import Outcome, WorkerPool, convert_tasks
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, JsonlWriter
from gui_agent_rl.schemas.completion import check_output_format
from gui_agent_rl.schemas.tempfiles import remove_stale_temp_files

__all__ = [
    "BuildSummary",
    "ConvertOptions",
    "build_dataset",
    "choose_val_tasks",
    "default_report_path",
    "default_val_path",
    "load_prompt",
]

log = logging.getLogger(__name__)


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar over tasks on stderr; a silent one unless ``enabled`` (a terminal)."""
    from tqdm import tqdm

    return tqdm(
        total=total, unit="task", file=sys.stderr, dynamic_ncols=True, leave=False, disable=not enabled
    )


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

    A packaged prefix (``prompt`` equal to :func:`load_prompt`'s text) lists, per step, the actions of
    the step's ``action_type_list`` (the shipped text when it has none or the seed's ten); any other
    prefix is used verbatim. A step's ``meta`` object travels into its sample as ``meta``.
    """
    options, prompts = _prepare(
        root,
        prompt,
        output_format=output_format,
        layout=layout,
        reward_method=reward_method,
        image_check=image_check,
    )
    start = time.perf_counter()
    tasks, skipped = scan_root(options.root)  # skipped: entries under ROOT that are no task
    if not tasks:
        log.warning("%s has no task folders (folders named by digits, SPEC §2)", root)
    task_ids = [t.task_id for t in tasks]
    summary, val_tasks = plan_outputs(
        output, task_ids, report=report, val_output=val_output, val_fraction=val_fraction, seed=seed
    )
    workers = plan_workers(workers, len(tasks)) if workers > 1 and tasks else 1
    _remove_stale_temp_files(summary.output, summary.val_output, summary.report)
    _write_dataset(
        tasks, skipped, options, prompts, summary, val_tasks=val_tasks, workers=workers, progress=progress
    )
    summary.elapsed = time.perf_counter() - start
    return summary


def _prepare(
    root: str | os.PathLike[str],
    prompt: str,
    *,
    output_format: str | None,
    layout: str,
    reward_method: str | None,
    image_check: str,
) -> tuple[ConvertOptions, _PromptsByActions]:
    """The steps' conversion options and the prompt prefixes, checked (the ``ValueError`` cases of
    :func:`build_dataset`)."""
    if IMAGE_PLACEHOLDER in prompt:
        raise ValueError(f"the prompt prefix contains {IMAGE_PLACEHOLDER}; markers must match the images")
    output_format = check_output_format(output_format or prompt_output_format(prompt))
    think = packaged_prompt_kind(prompt)
    check_layout(layout)
    prompts = _PromptsByActions(prompt, think, layout)
    options = ConvertOptions(
        os.path.abspath(root),
        reward_method,
        image_check,
        output_format,
        layout,
        list_actions=think is not None,
    )
    return options, prompts


def _write_dataset(
    tasks: list[TaskDir],
    skipped: list[Rejection],
    options: ConvertOptions,
    prompts: _PromptsByActions,
    summary: BuildSummary,
    *,
    val_tasks: frozenset[str],
    workers: int,
    progress: bool,
) -> None:
    """Convert the tasks (``workers`` processes) and write samples and rejections in walk order."""
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
                prompt=prompts,
                layout=options.layout,
            )
            if is_val:
                summary.kept_val += kept
            else:
                summary.kept += kept
            bar.update(1)


class _PromptsByActions:
    """The escaped prefix per prompt key: None (the given prefix) or a tuple of action types (the
    packaged prefix listing those; only asked for when the prefix is a packaged one)."""

    def __init__(self, prompt: str, think: bool | None, layout: str) -> None:
        self.think, self.layout = think, layout
        self._escaped: dict[tuple[str, ...] | None, bytes] = {
            None: escape_prompt(layout_prompt(prompt, layout), layout)
        }

    def __getitem__(self, types: tuple[str, ...] | None) -> bytes:
        escaped = self._escaped.get(types)
        if escaped is None:
            text = load_prompt(bool(self.think), types)
            escaped = self._escaped[types] = escape_prompt(layout_prompt(text, self.layout), self.layout)
        return escaped


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
    prompt: _PromptsByActions,
    layout: str = "compact",
) -> int:
    """Write one task's samples (ids from ``first_id``) and rejections; returns how many were kept."""
    # The task's lines joined in one go from their pieces: each ~5 KB line is copied once.
    pieces: list[bytes] = []
    kept = 0
    for outcome in outcomes:
        if isinstance(outcome[0], bytes):  # kept: (head, tail) or (head, tail, prompt's action types)
            escaped = prompt[outcome[2] if len(outcome) == 3 else None]  # type: ignore[misc]
            pieces += sample_pieces(first_id + kept, outcome, escaped, layout)  # type: ignore[arg-type]
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
