"""What a build writes: the output files' names, the validation split and the summary it prints."""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("gui_agent_rl.datagen.build")  # the build's logger: records read as before


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


def _sibling(output: str | os.PathLike[str], kind: str) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}.{kind}.jsonl" if out.suffix == ".jsonl" else f"{out.name}.{kind}.jsonl")


def default_report_path(output: str | os.PathLike[str]) -> Path:
    """``data.jsonl`` -> ``data.report.jsonl`` (next to the output)."""
    return _sibling(output, "report")


def default_val_path(output: str | os.PathLike[str]) -> Path:
    """``data.jsonl`` -> ``data.val.jsonl``."""
    return _sibling(output, "val")


def plan_outputs(
    output: str | os.PathLike[str],
    task_ids: list[str],
    *,
    report: str | os.PathLike[str] | None,
    val_output: str | os.PathLike[str] | None,
    val_fraction: float,
    seed: int,
) -> tuple[BuildSummary, frozenset[str]]:
    """The summary naming the files to write, and the tasks that go to the validation file."""
    val_tasks = choose_val_tasks(task_ids, val_fraction, seed)
    summary = BuildSummary(Path(output), Path(report) if report else default_report_path(output))
    if val_tasks:
        summary.val_output = Path(val_output) if val_output else default_val_path(output)
    summary.tasks = len(task_ids)
    return summary, val_tasks
