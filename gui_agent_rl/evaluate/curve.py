"""Training curves of a run folder: read its logs, group the metrics, print them as a table or CSV.

Where a run's numbers come from, first found wins:

1. ``RUN_DIR/trainer_state.json`` (written by TRL's trainers at the end, ``log_history``);
2. the newest ``RUN_DIR/checkpoint-N/trainer_state.json`` (a run stopped after saving a checkpoint);
3. ``RUN_DIR/rollouts.jsonl`` (+ ``rollouts-rank*.jsonl``; see ``gui_agent_rl.train.rollout_log``):
   each reward's per-step mean, named as TRL names it (``rewards/<name>/mean``), and the mean
   completion length in characters. A rollout line's ``step`` is the trainer's ``global_step``
   while generating; TRL logs those rewards under the next step, so step ``s`` is shown as ``s + 1``.

The table shows the headline metrics (each reward's mean, KL, lengths, loss, learning rate, SFT's token
accuracy); the CSV every logged number. The plot, every key that varies, is
:func:`gui_agent_rl.evaluate.curve_plot.plot_curves`.

>>> run = read_run("runs/grpo-7b")  # doctest: +SKIP
>>> print(format_table(run))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import re
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gui_agent_rl.schemas.sample import replace_keeping_mode

logger = logging.getLogger(__name__)

REWARD_MEAN = re.compile(r"rewards/(.+)/mean")
# Columns of the printed table, in this order after the per-reward means (when logged).
HEADLINE = (
    "reward",
    "kl",
    "completions/mean_length",
    "completions/max_length",
    "completions/mean_chars",
    "completions/clipped_ratio",
    "loss",
    "mean_token_accuracy",
    "entropy",
    "learning_rate",
)
SHORT_LABELS = {
    "completions/mean_length": "len_mean",
    "completions/max_length": "len_max",
    "completions/mean_chars": "chars_mean",
    "completions/clipped_ratio": "clipped",
    "mean_token_accuracy": "tok_acc",
    "learning_rate": "lr",
}
# Spreads and bookkeeping: in the CSV, not in the table or the plot.
DETAIL = re.compile(
    r".*/std|reward_std|completions/min_.*|completions/.*terminated.*|epoch|step_time|total_flos"
    r"|eval_runtime|eval_.*_per_second"
)
# Keys of the end-of-training summary entry TRL appends to log_history (not a step's log).
SUMMARY_KEYS = ("train_runtime", "train_loss")
# Schedules and counters: drawn and printed as logged, never smoothed (a trailing mean would only lag).
UNSMOOTHED = frozenset({"learning_rate", "num_tokens", "epoch"})
TABLE_ROWS = 20  # evenly spaced rows of a long run's table, plus its last step


@dataclass
class RunCurve:
    """One run's logged metrics: ``metrics[key][i]`` is the value at ``steps[i]`` (None: not logged)."""

    name: str
    source: Path
    steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[float | None]] = field(default_factory=dict)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; moved onto ``path`` when the block succeeds, with the
    permissions the old file had (:func:`~gui_agent_rl.schemas.sample.replace_keeping_mode`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        replace_keeping_mode(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _table(rows: dict[int, dict[str, float | None]]) -> tuple[list[int], dict[str, list]]:
    """Step -> {key: value} into sorted steps and one aligned list per key (keys in first-seen order)."""
    steps = sorted(rows)
    keys = list(dict.fromkeys(k for s in steps for k in rows[s]))
    return steps, {k: [rows[s].get(k) for s in steps] for k in keys}


def read_trainer_state(path: Path) -> tuple[list[int], dict[str, list]]:
    """Steps and metrics of a ``trainer_state.json`` (the summary entry and non-numbers dropped)."""
    try:
        history = json.loads(path.read_text(encoding="utf-8")).get("log_history")
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a trainer_state.json ({exc})") from None
    rows: dict[int, dict[str, float | None]] = defaultdict(dict)
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict) or any(k in entry for k in SUMMARY_KEYS):
            continue
        step = entry.get("step")
        if isinstance(step, int) and not isinstance(step, bool):  # eval logs merge into their step's row
            rows[step].update({k: _number(v) for k, v in entry.items() if k != "step" and _is_num(v)})
    return _table(rows)


def _is_num(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def read_rollouts(paths: Sequence[Path]) -> tuple[list[int], dict[str, list]]:
    """Per-step means of each reward (and of completion characters) from rollout-log lines."""
    sums: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        skipped = 0
        for line in lines:
            try:
                record = json.loads(line)
                step, rewards = int(record["step"]) + 1, dict(record["rewards"])
            except (ValueError, TypeError, KeyError):  # e.g. a half-written last line of a killed run
                skipped += 1
                continue
            for name, value in rewards.items():
                if (x := _number(value)) is not None:
                    sums[step][f"rewards/{name}/mean"].append(x)
            if isinstance(record.get("completion"), str):
                sums[step]["completions/mean_chars"].append(float(len(record["completion"])))
        if 0 < skipped < len(lines):  # none readable: the caller's "no logged steps" says it
            logger.warning("%s: %d lines skipped (not rollout lines)", path, skipped)
    rows = {s: {k: sum(v) / len(v) for k, v in d.items()} for s, d in sums.items()}
    return _table(rows)


def _sources(run_dir: Path) -> list[Path | list[Path]]:
    """The log files of ``run_dir`` in the order they are tried."""
    if run_dir.is_file():
        if run_dir.suffix not in {".json", ".jsonl"}:
            raise ValueError(f"{run_dir}: expected a run folder, a trainer_state.json or a rollouts .jsonl")
        return [run_dir] if run_dir.suffix == ".json" else [[run_dir]]
    found: list[Path | list[Path]] = []
    if (run_dir / "trainer_state.json").is_file():
        found.append(run_dir / "trainer_state.json")
    checkpoints = [
        (int(p.parent.name.split("-")[1]), p)
        for p in run_dir.glob("checkpoint-*/trainer_state.json")
        if re.fullmatch(r"checkpoint-\d+", p.parent.name)
    ]
    if checkpoints:
        found.append(max(checkpoints)[1])
    rollouts = sorted(run_dir.glob("rollouts-rank*.jsonl"))
    if (run_dir / "rollouts.jsonl").is_file():
        rollouts.insert(0, run_dir / "rollouts.jsonl")
    if rollouts:
        found.append(rollouts)
    return found


def read_run(run_dir: str | os.PathLike, name: str | None = None) -> RunCurve:
    """The first of ``run_dir``'s logs that holds a step; ValueError (naming ``run_dir``) if none."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise ValueError(f"{run_dir}: no such run folder")
    for source in _sources(run_dir):
        try:
            if isinstance(source, list):
                steps, metrics = read_rollouts(source)
            else:
                steps, metrics = read_trainer_state(source)
        except UnicodeDecodeError:
            raise ValueError(f"{run_dir}: logs are not UTF-8 text") from None
        if steps:
            where = source[0] if isinstance(source, list) else source
            return RunCurve(name or _run_name(run_dir), where, steps, metrics)
    raise ValueError(
        f"{run_dir}: no logged steps (looked for trainer_state.json, checkpoint-*/trainer_state.json "
        "and rollouts.jsonl)"
    )


def _run_name(run_dir: Path) -> str:
    folder = run_dir.resolve()
    return (folder.parent if run_dir.is_file() else folder).name or str(run_dir)


def read_runs(run_dirs: Sequence[str | os.PathLike]) -> list[RunCurve]:
    """:func:`read_run` of each folder; runs whose folder names clash are named by their paths."""
    runs = [read_run(d) for d in run_dirs]
    names = [r.name for r in runs]
    for run, d in zip(runs, run_dirs, strict=True):
        if names.count(run.name) > 1:
            run.name = str(d)
    return runs


def smooth(steps: Sequence[int], values: Sequence[float | None], window: int) -> list[float | None]:
    """Trailing mean of the values logged in the last ``window`` steps (``s - window < step <= s``).

    A window in steps, not in logged points, so a sparse series (eval every 50 steps) is not
    averaged across hundreds of steps. None (not logged) stays None.

    >>> smooth([1, 2, 3, 4, 10], [1.0, 3.0, None, 5.0, 7.0], 2)
    [1.0, 2.0, None, 5.0, 7.0]
    """
    if window <= 1:
        return list(values)
    out: list[float | None] = []
    recent: deque[tuple[int, float]] = deque()  # the logged (step, value) pairs inside the window
    total = 0.0
    for step, value in zip(steps, values, strict=True):
        if value is None:
            out.append(None)
            continue
        recent.append((step, value))
        total += value
        while recent[0][0] <= step - window:
            total -= recent.popleft()[1]
        out.append(total / len(recent))
    return out


def headline_keys(runs: Sequence[RunCurve]) -> list[str]:
    """The table's columns: each reward's mean, then :data:`HEADLINE` keys that were logged."""
    keys = list(dict.fromkeys(k for r in runs for k in r.metrics))
    rewards = [k for k in keys if REWARD_MEAN.fullmatch(k)]
    return rewards + [k for k in HEADLINE if k in keys]


def short_labels(keys: Sequence[str]) -> dict[str, str]:
    """Column labels: a reward's name, or a short form; the full key where short ones would clash."""
    short = {}
    for key in keys:
        m = REWARD_MEAN.fullmatch(key)
        short[key] = m.group(1) if m else SHORT_LABELS.get(key, key)
    labels = list(short.values())
    return {k: (s if labels.count(s) == 1 else k) for k, s in short.items()}


def format_value(value: float | None) -> str:
    """4 significant digits; exponent form for tiny or huge numbers; ``-`` when not logged.

    >>> [format_value(v) for v in (None, 0.0, 0.123456, 16.0, 7.5e-05, 1234567.0)]
    ['-', '0', '0.1235', '16', '7.50e-05', '1.23e+06']
    """
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    return f"{value:.4g}"


def table_rows(n: int, limit: int = TABLE_ROWS) -> list[int]:
    """Indices of ``limit`` evenly spaced rows of ``n`` (the first included), plus the last.

    >>> table_rows(5), table_rows(101, 4)
    ([0, 1, 2, 3, 4], [0, 25, 50, 75, 100])
    """
    if n <= limit + 1:
        return list(range(n))
    return sorted({round(i * (n - 1) / limit) for i in range(limit)} | {n - 1})


def format_table(run: RunCurve, window: int = 1, limit: int = TABLE_ROWS) -> str:
    """The run's headline metrics, a row per step (at most ``limit`` + 1 rows), aligned columns."""
    keys = headline_keys([run])
    labels = short_labels(keys)
    values = {k: smooth(run.steps, run.metrics[k], 1 if k in UNSMOOTHED else window) for k in keys}
    picked = table_rows(len(run.steps), limit)
    columns = [["step", *(str(run.steps[i]) for i in picked)]]
    columns += [[labels[k], *(format_value(values[k][i]) for i in picked)] for k in keys]
    widths = [max(len(c) for c in col) for col in columns]
    lines = [
        "  ".join(col[r].rjust(w) for col, w in zip(columns, widths, strict=True))
        for r in range(len(picked) + 1)
    ]
    notes = [f"{len(run.steps)} logged steps from {run.source}"]
    if len(picked) < len(run.steps):
        notes.append(f"{len(picked)} rows shown")
    if window > 1:
        notes.append(f"trailing mean over {window} steps")
    return f"{run.name} ({'; '.join(notes)})\n" + "\n".join(lines)


def format_csv(runs: Sequence[RunCurve]) -> str:
    """Every logged number of every run, raw: ``run,step,<key>...`` (the table's keys first; empty:
    not logged at that step)."""
    head = headline_keys(runs)
    keys = head + sorted({k for r in runs for k in r.metrics} - set(head))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", "step", *keys])
    for run in runs:
        for i, step in enumerate(run.steps):
            row = [run.metrics[k][i] if k in run.metrics else None for k in keys]
            writer.writerow([run.name, step, *("" if v is None else repr(v) for v in row)])
    return buffer.getvalue()
