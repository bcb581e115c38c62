"""``make learn``: the whole loop on a CPU, and whether GRPO improves a held-out agent.

For each synthetic task (``text``: the instruction decides the action; ``grounding``: tap the named
button), with the recipes in ``recipes/learn/``::

    synth -> build (10% of the tasks held out) -> tiny-model -> sft -> predict + eval (held out)
          -> train (GRPO from the SFT checkpoint) -> predict + eval (held out) -> curve

The SFT demonstrations of ``text`` come from an imperfect demonstrator (:mod:`~gui_agent_rl.datagen.slip`):
half of its ``wait`` steps are recorded as ``back`` (``data.sft.jsonl``), as real annotators make
systematic mistakes; GRPO is rewarded against the task's truth (``data.jsonl``) and both stages are
judged on clean held-out steps. ``--slip none`` trains SFT on the clean data instead.

Every stage is the ``gui-agent-rl`` command a user runs, called in-process. Held-out figures:
``greedy_accuracy`` (mean accuracy reward of the greedy completion), ``sampled_accuracy`` (mean over
``--num-samples`` completions at temperature 1), ``format_rate`` (share of greedy completions that are
exactly the stated form with a valid action) and ``step_success``. ``summary.json`` holds one row per
task and stage. Tasks run as parallel child processes (``--jobs``), each on its share of the cores.

    python -m gui_agent_rl.learn --seed 0 --output learn_out
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gui_agent_rl.cli import main as cli
from gui_agent_rl.datagen.slip import Slip, parse_slip, slip_demonstrations

TASKS = ("text", "grounding")
RECIPES = Path(__file__).resolve().parent.parent / "recipes" / "learn"
SUMMARY_KEYS = ("greedy_accuracy", "sampled_accuracy", "format_rate", "step_success")
#: corpus size (task folders of 4 steps) and stage lengths; ``quick`` proves that every stage runs
#: (the slow test), ``full`` is what ``make learn`` reports.
PLAN = {
    "full": {"tasks": 500, "sft_steps": None, "grpo_steps": None, "extra": []},  # None: the recipe's
    "quick": {"tasks": 20, "sft_steps": 4, "grpo_steps": 2, "extra": ["--logging_steps", "1"]},
}
VAL_FRACTION = "0.1"  # 1,800 training steps, 200 held out (whole tasks) in the full plan
NUM_SAMPLES = 4  # sampled completions per held-out step, at temperature 1
MAX_NEW_TOKENS = 48
#: the demonstrator's slip per task (None: SFT learns from the clean data); see recipes/learn/text-sft.yaml
SLIPS: dict[str, Slip | None] = {"text": parse_slip("wait=back:0.5"), "grounding": None}
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_ENV = "GUI_AGENT_RL_LEARN_PARENT"  # set for the per-task children: the pid they die with

logger = logging.getLogger("gui_agent_rl.learn")


def run(*argv: str) -> None:
    """One ``gui-agent-rl`` command; a non-zero exit stops the run with its name."""
    logger.info("gui-agent-rl %s", " ".join(argv))
    code = cli(list(argv))
    if code:
        raise RuntimeError(f"gui-agent-rl {argv[0]} exited with {code}")


def recipe(task: str, stage: str, folder: Path = RECIPES) -> Path:
    return folder / f"{task}-{stage}.yaml"


def recipe_value(path: Path, key: str) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))[key]


def held_out(model: Path, data: dict[str, Path], max_pixels: int, seed: int) -> dict[str, Any]:
    """Greedy and sampled predictions on the held-out split, scored by ``eval``; the summary row."""
    preds, metrics = model / "heldout.predictions.jsonl", model / "heldout.metrics.json"
    pixels = ["--max-pixels", str(max_pixels)]
    run("predict", "--model", str(model), "--dataset", str(data["val"]), "--image-folder", str(data["root"]),
        "--output", str(preds), "--max-new-tokens", str(MAX_NEW_TOKENS), "--batch-size", "25",
        "--num-samples", str(NUM_SAMPLES), "--temperature", "1.0", "--seed", str(seed), *pixels)  # fmt: skip
    run("eval", "--dataset", str(data["val"]), "--predictions", str(preds), "--output", str(metrics),
        "--rewards", "accuracy,format_strict", *pixels)  # fmt: skip
    m = json.loads(metrics.read_text(encoding="utf-8"))
    return {
        "greedy_accuracy": m["rewards"]["accuracy"],
        "sampled_accuracy": m["sampled"]["rewards"]["accuracy"],
        "format_rate": m["format_rate"],
        "step_success": m["step_success"],
        "sampled_step_success": m["sampled"]["step_success"],
        "pass_at_k": m["sampled"]["pass_at_k"],
        "mean_completion_chars": mean_chars(preds),
        "predictions": str(preds),
    }


def mean_chars(predictions: Path) -> float:
    lines = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    return sum(len(p["completion"]) for p in lines) / max(1, len(lines))


def learn_task(
    task: str, out: Path, seed: int, quick: bool, recipes: Path = RECIPES, *, slip: Slip | None = None
) -> list[dict[str, Any]]:
    """The whole loop for one task; returns its two summary rows (sft, grpo).

    ``slip``: the SFT demonstrations' slip (``None``: SFT learns from the same clean data as GRPO).
    """
    plan = PLAN["quick" if quick else "full"]
    work = out / task
    root, train = work / "corpus", work / "data.jsonl"
    data = {"root": root, "train": train, "val": train.with_name("data.val.jsonl")}
    max_pixels = recipe_value(recipe(task, "sft", recipes), "max_pixels")
    run(
        "synth", str(root), "--task", task, "--tasks", str(plan["tasks"]), "--steps", "4", "--seed", str(seed)
    )
    run("build", str(root), "--output", str(train), "--prompt", str(root / "prompt.txt"),
        "--val-fraction", VAL_FRACTION, "--seed", str(seed))  # fmt: skip
    demos, demonstrator = train, "clean"
    if slip is not None:
        demos = train.with_name("data.sft.jsonl")
        slipped, eligible = slip_demonstrations(train, demos, slip, seed)
        demonstrator = f"{slip}: {slipped} of {eligible} {slip.source} steps recorded as {slip.target}"
        logger.info("SFT demonstrations %s (%s)", demos, demonstrator)
    model = work / "tiny-model"
    run("tiny-model", str(model), "--seed", str(seed))
    common = ["--image_folders", str(root), "--seed", str(seed), "--data_seed", str(seed)]
    rows = []
    for stage, start, jsonl in (("sft", model, demos), ("grpo", work / "sft", train)):
        command = "sft" if stage == "sft" else "train"
        steps = plan[f"{stage}_steps"]
        limit = ["--max_steps", str(steps), *plan["extra"]] if steps else []
        run(command, "--config", str(recipe(task, stage, recipes)), "--model_name_or_path", str(start),
            "--output_dir", str(work / stage), "--data_file_paths", str(jsonl), *common, *limit)  # fmt: skip
        row = {"task": task, "stage": stage, **held_out(work / stage, data, max_pixels, seed)}
        rows.append({**row, "demonstrator": demonstrator})
        run("curve", str(work / stage), "--output", str(work / f"{stage}.curve.png"))
    (work / "summary.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The SFT-vs-GRPO table people read (greedy and sampled accuracy, format rate, step success)."""
    head = ("task", "stage", "greedy acc", "sampled acc", "format", "step success", "pass@K")
    lines = ["  ".join(f"{h:>12}" for h in head)]
    for r in rows:
        cells = [r["task"], r["stage"], *(f"{r[k]:.3f}" for k in (*SUMMARY_KEYS, "pass_at_k"))]
        lines.append("  ".join(f"{c:>12}" for c in cells))
    return "\n".join(lines)


def die_with_parent(parent: int) -> None:
    """In a child: get SIGTERM when ``parent`` dies, even by SIGKILL (Linux); exit if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(143)


def run_children(tasks: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One child process per task, the cores shared between them; children die with this process."""
    threads = max(1, (os.cpu_count() or 1) // len(tasks))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env[PARENT_ENV] = str(os.getpid())
    children = []
    for task in tasks:
        cmd = [sys.executable, "-m", "gui_agent_rl.learn", "--task", task, "--seed", str(args.seed),
               "--output", str(args.output), "--jobs", "1", "--recipes", str(args.recipes),
               *(["--slip", args.slip] if args.slip else []),
               *(["--quick"] if args.quick else [])]  # fmt: skip
        log = open(args.output / f"{task}.log", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
        children.append((task, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        for task, child, log in children:
            if child.wait():
                raise RuntimeError(f"task {task} failed (exit {child.returncode}); see {log.name}")
    finally:
        for _, child, log in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                child.wait()
            log.close()
    return [row for t in tasks for row in json.loads((args.output / t / "summary.json").read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui_agent_rl.learn", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("learn_out"))
    parser.add_argument("--task", choices=TASKS, action="append", help="only these tasks (default both)")
    parser.add_argument("--jobs", type=int, default=2, help="tasks run in parallel (child processes)")
    parser.add_argument("--quick", action="store_true", help="a short run that proves every stage runs")
    parser.add_argument("--recipes", type=Path, default=RECIPES, help="folder of TASK-sft/grpo.yaml recipes")
    parser.add_argument("--slip", metavar="SOURCE=TARGET:RATE|none",
                        help="the text task's SFT demonstrator slip (default wait=back:0.5)")  # fmt: skip
    args = parser.parse_args(argv)
    slips = dict(SLIPS)
    if args.slip:
        try:
            slips["text"] = None if args.slip == "none" else parse_slip(args.slip)
        except ValueError as exc:
            parser.error(str(exc))
    if os.environ.get(PARENT_ENV):
        die_with_parent(int(os.environ[PARENT_ENV]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    tasks = args.task or list(TASKS)
    args.output.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if args.jobs > 1 and len(tasks) > 1:
        rows = run_children(tasks, args)
    else:
        out, seed = args.output, args.seed
        rows = [r for t in tasks for r in learn_task(t, out, seed, args.quick, args.recipes, slip=slips[t])]
    if len(tasks) > 1 or args.jobs > 1:
        summary = args.output / "summary.json"
        summary.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        demos = "".join(
            f"{r['task']} SFT demonstrations: {r['demonstrator']}\n" for r in rows if r["stage"] == "sft"
        )
        took = f"seed {args.seed}, {time.monotonic() - start:.0f} s; {summary}"
        sys.stdout.write(f"{table(rows)}\n{demos}{took}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
