"""``gui-agent-rl eval`` (metrics of a predictions file) and ``gui-agent-rl viz`` (pictures of them)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from gui_agent_rl.cli._common import (
    UserError,
    existing_dir,
    existing_file,
    positive_int,
    refuse_clobber,
    writable_output,
)
from gui_agent_rl.cli.score import add_text_match, check_reward_names, pixel_choice

ORDER = 50
logger = logging.getLogger(__name__)

RULES_HELP = """\
matching rules (a step succeeds when the predicted type equals the truth's and):
  click, long_click         the centre of the predicted box is inside the truth box enlarged
                            --box-scale times about its centre (default 1.0), or, with
                            --tap-distance, within that normalised screen distance of the box
                            centre (x/width, y/height; AITW: --box-scale 2.4 --tap-distance 0.14)
  type, open_app            text similarity (normalised Levenshtein, as the rewards) >= --text-threshold,
                            texts compared per --text-match (default faithful: case and punctuation
                            count; casefold and loose are opt-in)
  swipe                     same direction of the finger (up/down/left/right)
  inquiry                   same AnswerIndex
  task_completed, task_impossible, wait, back    the type alone
A missing prediction, or an answer that is not a valid action, is wrong and a format failure.
grounding_accuracy: over samples whose truth is a click/long_click, a predicted click or long_click
whose centre matches the truth box as above. --by-task: episode success = every step of a task
right; goal progress = steps right before the task's first wrong one / its steps, averaged.
Predicted coordinates are read in --frame and converted per sample with its image_sizes (the last
image is the current screen), exactly as the accuracy reward does. The resized frame's pixel limits
are the ones `predict` recorded in the predictions (a warning when --min-pixels/--max-pixels differ),
else the Qwen2.5-VL defaults (with a warning). The predicted action is the last <answer> outside
<think> (an answer inside the thinking is not one)."""

SAMPLED_HELP = """
Predictions with "samples" (predict --num-samples K) add a "sampled" block and column: each rate
and reward averaged over all K completions of every sample, and pass@K (the share of samples with
at least one step success among their K), overall and per true action type. The values column is
the `completion` of each line (greedy unless predict ran with --no-greedy)."""


def _fraction(value: str) -> float:
    """A number; its range (finite, >= 0, ...) is MatchRules' to check, as one line (exit 2)."""
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None


def _add_common(p: argparse.ArgumentParser) -> None:
    from gui_agent_rl.rewards.accuracy import TAP_DISTANCE_THRESHOLD
    from gui_agent_rl.schemas import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

    p.add_argument("--dataset", type=existing_file, required=True, help="dataset JSONL (from `build`)")
    p.add_argument(
        "--predictions",
        type=existing_file,
        required=True,
        help='JSON lines {"id", "completion"} (from `predict`; "samples" lists are read by eval)',
    )
    g = p.add_argument_group("coordinates (as the rewards read them)")
    g.add_argument(
        "--frame",
        choices=("resized", "original", "norm1000"),
        default="resized",
        help="where the model's numbers live (default resized: Qwen2.5-VL's smart_resize pixels)",
    )
    g.add_argument("--min-pixels", type=positive_int, help=f"processor min_pixels ({DEFAULT_MIN_PIXELS})")
    g.add_argument("--max-pixels", type=positive_int, help=f"processor max_pixels ({DEFAULT_MAX_PIXELS})")
    m = p.add_argument_group("matching rules (see below)")
    m.add_argument("--box-scale", type=_fraction, default=1.0, help="enlarge truth boxes (default 1.0)")
    m.add_argument(
        "--tap-distance",
        type=_fraction,
        nargs="?",
        const=TAP_DISTANCE_THRESHOLD,
        default=None,
        metavar="F",
        help=f"also accept taps within F of the box centre (alone: {TAP_DISTANCE_THRESHOLD}); default off",
    )
    m.add_argument("--text-threshold", type=_fraction, default=0.8, help="text similarity needed (0.8)")
    add_text_match(m)


def register(sub: argparse._SubParsersAction) -> None:
    _register_eval(sub)
    _register_viz(sub)


def _register_eval(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "eval",
        help="metrics of a predictions file: type accuracy, step success, grounding, rewards",
        description="Score predictions against a dataset with the reward code; print a table.",
        epilog=RULES_HELP + "\n" + SAMPLED_HELP,
        formatter_class=fmt,
    )
    _add_common(p)
    p.add_argument("--output", type=Path, help="write the metrics JSON here")
    p.add_argument("--compare", type=existing_file, metavar="OTHER.json", help="print deltas against these")
    p.add_argument("--by-task", action="store_true", help="episode success and goal progress per task_id")
    p.add_argument("--rewards", default="format,accuracy", help="rewards to average (comma-separated)")
    p.add_argument("--accuracy-method", default=None, help="box method of the accuracy reward")
    p.add_argument("--per-sample", type=Path, metavar="OUT.jsonl", help="write each sample's verdict")
    p.set_defaults(func=run_eval)


def _register_viz(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser(
        "viz",
        help="one PNG per sample: truth (green) and prediction (red) on the screenshot",
        description=(
            "Draw truth (green box/arrow) and prediction (red box with its centre, or arrow) on the\n"
            "current screenshot, the previous one beside it, both actions written underneath.\n"
            "Screens taller than --height are scaled down (drawings too); coordinates in the text\n"
            "stay original pixels. One PNG per sample, NNNNN_<id>.png (NNNNN: position in the dataset)."
        ),
        epilog=RULES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(v)
    v.add_argument("--output", type=Path, required=True, help="folder for the PNGs (created)")
    v.add_argument(
        "--image-folder",
        type=existing_dir,
        help="root the dataset's image paths are relative to (default: the dataset's folder, or the "
        "folder named like the dataset beside it, DATA.jsonl -> DATA/, when the images are there)",
    )
    v.add_argument("--limit", type=positive_int, help="at most N pictures")
    v.add_argument("--only-wrong", action="store_true", help="only samples that are not a step success")
    v.add_argument(
        "--height",
        type=positive_int,
        default=800,
        help="scale taller screens down to this (default 800, at least 64)",
    )
    v.set_defaults(func=run_viz)


def _settings_and_rules(args: argparse.Namespace, pixels: Any, accuracy_method: str | None = None) -> tuple:
    from gui_agent_rl.evaluate.metrics import MatchRules
    from gui_agent_rl.rewards.registry import RewardSettings

    try:
        settings = RewardSettings(
            coordinate_frame=args.frame,
            min_pixels=pixels.min_pixels,
            max_pixels=pixels.max_pixels,
            accuracy_method=accuracy_method,
            text_match=args.text_match,
        )
        rules = MatchRules(args.box_scale, args.tap_distance, args.text_threshold, args.text_match)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return settings, rules


def _load(args: argparse.Namespace, accuracy_method: str | None = None) -> tuple:
    """``(joined rows, settings, rules, pixel choice)``: the predictions name their frame's limits."""
    from gui_agent_rl.evaluate.predictions import join_predictions, read_predictions
    from gui_agent_rl.schemas import read_samples

    if args.min_pixels and args.max_pixels and args.min_pixels > args.max_pixels:
        raise UserError(f"--min-pixels {args.min_pixels} is larger than --max-pixels {args.max_pixels}")
    try:
        predictions = read_predictions(args.predictions)
        rows = join_predictions(read_samples(args.dataset), predictions)
    except ValueError as exc:  # JsonlError is a ValueError naming path:line
        raise UserError(str(exc)) from None
    pixels = pixel_choice(args, predictions)
    return (rows, *_settings_and_rules(args, pixels, accuracy_method), pixels)


def _read_metrics(path: Path) -> dict:
    try:
        other = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read metrics JSON ({exc})") from None
    if not isinstance(other, dict) or "count" not in other:
        raise UserError(f"{path}: not a metrics file written by `gui-agent-rl eval`")
    problem = metrics_shape_problem(other)
    if problem:
        raise UserError(f"{path}: not a metrics file written by `gui-agent-rl eval` ({problem})")
    return other


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers_problem(block: object, where: str, keys: tuple[str, ...] | None = None) -> str | None:
    """None when ``block`` is an object whose values (``keys`` of them, when given) are numbers or null."""
    if not isinstance(block, dict):
        return f"{where} is not an object"
    for key in keys if keys is not None else tuple(block):
        value = block.get(key)
        if value is not None and not _is_number(value):
            return f"{where + '.' if where else ''}{key} is {value!r}, not a number"
    return None


def metrics_shape_problem(metrics: dict) -> str | None:
    """What in a metrics dict the report could not read (``--compare``'s file), or None.

    >>> metrics_shape_problem({"count": 3, "step_success": "high"})
    "step_success is 'high', not a number"
    """
    from gui_agent_rl.evaluate.report import RATE_KEYS, TASK_KEYS

    rules, per_type = metrics.get("rules", {}), metrics.get("per_type", {})
    checks = [
        _numbers_problem(metrics, "", ("count", *RATE_KEYS)),
        _numbers_problem(metrics.get("rewards", {}), "rewards"),
        _numbers_problem(metrics.get("by_task") or {}, "by_task", TASK_KEYS),
        _numbers_problem(rules, "rules", ("tap_distance",)),
        _numbers_problem(metrics.get("sampled") or {}, "sampled", ("pass_at_k",)),
        _numbers_problem(per_type, "per_type", ()),
    ]
    if isinstance(rules, dict) and not _is_number(rules.get("box_scale", 1.0)):
        checks.append(f"rules.box_scale is {rules['box_scale']!r}, not a number")
    if isinstance(per_type, dict):
        checks += [_numbers_problem(m, f"per_type.{kind}", ("step_success",)) for kind, m in per_type.items()]
    return next((c for c in checks if c), None)


def run_eval(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.report import format_report
    from gui_agent_rl.evaluate.scoring import evaluate, write_verdicts

    for out in (args.output, args.per_sample):
        if out is not None:
            writable_output(out)
    refuse_clobber([args.output, args.per_sample], [args.dataset, args.predictions, args.compare])
    other = _read_metrics(args.compare) if args.compare else None
    names = [n.strip() for n in args.rewards.split(",") if n.strip()]
    check_reward_names(names)
    rows, settings, rules, pixels = _load(args, args.accuracy_method)
    try:
        result = evaluate(rows, rules, settings, names, by_task=args.by_task)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result.metrics["rules"]["pixels_from"] = pixels.source
    if args.output:
        args.output.write_text(
            json.dumps(result.metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    if args.per_sample:
        write_verdicts(args.per_sample, result.results)
    print(format_report(result.metrics, other, args.compare.name if args.compare else "other"))
    if args.output:
        print(f"\nmetrics written to {args.output}")
    return 0


def run_viz(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.pictures import draw_all, resolve_image_folder
    from gui_agent_rl.evaluate.scoring import evaluate
    from gui_agent_rl.evaluate.viz import MIN_HEIGHT

    if args.height < MIN_HEIGHT:
        raise UserError(f"--height {args.height}: screens are drawn at least {MIN_HEIGHT} pixels tall")
    rows, settings, rules, _ = _load(args)
    try:
        verdicts = evaluate(rows, rules, settings, ("accuracy",), with_samples=False).results
        folder = resolve_image_folder(args.dataset, [r.sample for r in rows], args.image_folder)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    chosen = [
        (i, row, v)
        for i, (row, v) in enumerate(zip(rows, verdicts, strict=True))
        if not (args.only_wrong and v.step_ok)
    ]
    chosen = chosen[: args.limit] if args.limit else chosen
    args.output.mkdir(parents=True, exist_ok=True)
    try:
        written = draw_all(chosen, folder, args.output, settings, height=args.height)
    except FileNotFoundError as exc:
        raise UserError(f"{exc} (set --image-folder to the corpus root)") from None
    except ValueError as exc:  # an image path leaving the folder, a decompression bomb
        raise UserError(f"{args.dataset}: {exc}") from None
    print(f"{written} pictures of {len(rows)} samples written to {args.output}/ (images from {folder})")
    return 0
