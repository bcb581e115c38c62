"""``gui-agent-rl score``: the training rewards of a predictions file, per sample and on average."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from gui_agent_rl.cli._common import UserError, existing_file, positive_int, writable_output

ORDER = 30
logger = logging.getLogger(__name__)
DEFAULT_REWARDS = ("format", "accuracy")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score predictions with the training rewards (format, accuracy, ...)",
        description="Call the trainer's reward functions on model predictions for a dataset: per-sample "
        "scores to --output, means (and accuracy by action type) to stdout. A sample without a "
        "prediction is scored as an empty completion.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_rewards_epilog(),
    )
    p.add_argument("--dataset", type=existing_file, required=True, help="dataset JSONL (from `build`)")
    p.add_argument("--predictions", type=existing_file, required=True, help='JSON lines {"id", "completion"}')
    p.add_argument(
        "--rewards",
        nargs="+",
        default=list(DEFAULT_REWARDS),
        metavar="NAME",
        help="rewards to run (default: format accuracy); see the list below",
    )
    p.add_argument("--output", type=Path, help="write one JSON line of scores per sample here")
    p.add_argument(
        "--frame",
        choices=("resized", "original", "norm1000"),
        default="resized",
        help="where the model's coordinates live (default resized: Qwen2.5-VL's smart_resize)",
    )
    p.add_argument("--min-pixels", type=positive_int, help="processor min_pixels (Qwen2.5-VL default 3136)")
    p.add_argument(
        "--max-pixels", type=positive_int, help="processor max_pixels (Qwen2.5-VL default 12845056)"
    )
    p.add_argument(
        "--method", help="box method for click/long_click: default, iou, center_in_box, distance, gaussian"
    )
    p.add_argument(
        "--normalize-format", action="store_true", help="divide the format reward by its form's maximum"
    )
    p.add_argument(
        "--output-format",
        choices=("answer", "think"),
        help="the stated output form for every sample (default: each sample's output_format, else think)",
    )
    p.set_defaults(func=run)


def _rewards_epilog() -> str:
    from gui_agent_rl.rewards.registry import reward_help

    return "rewards:\n" + "\n".join(f"  {line}" for line in reward_help().splitlines())


def _settings(args: argparse.Namespace) -> Any:
    from gui_agent_rl.rewards.registry import RewardSettings

    pixels = {k: v for k, v in (("min_pixels", args.min_pixels), ("max_pixels", args.max_pixels)) if v}
    try:
        return RewardSettings(
            coordinate_frame=args.frame,
            accuracy_method=args.method,
            normalize_format=args.normalize_format,
            output_format=args.output_format,
            **pixels,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _columns(rows: list[Any]) -> dict[str, list[Any]]:
    samples = [r.sample for r in rows]
    return {
        "solution": [s.solution for s in samples],
        "image_sizes": [
            None if s.image_sizes is None else [list(wh) for wh in s.image_sizes] for s in samples
        ],
        "accu_reward_method": [s.accu_reward_method for s in samples],
        "output_format": [s.output_format for s in samples],
        "id": [s.id for s in samples],
        "task_id": [s.task_id for s in samples],
        "step": [s.step for s in samples],
    }


def score_rows(rows: list[Any], names: list[str], settings: Any) -> tuple[dict[str, list[float]], dict]:
    """``({reward: scores}, {metric: value})`` for joined (sample, completion) rows."""
    from gui_agent_rl.rewards.registry import get_reward_funcs

    try:
        funcs = get_reward_funcs(names, settings)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    columns, metrics = _columns(rows), {}
    completions = [r.completion or "" for r in rows]
    prompts = [r.sample.prompt for r in rows]
    scores = {}
    for func in funcs:
        try:
            values = func(prompts=prompts, completions=completions, log_metric=metrics.__setitem__, **columns)
        except ValueError as exc:  # bad ground truth (the message names the sample) or a bad method name
            raise UserError(f"{func.__name__}: {exc}") from None
        scores[func.__name__] = [float(v) for v in values]
    return scores, metrics


def run(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.predictions import join_predictions, read_predictions
    from gui_agent_rl.schemas import JsonlError, JsonlWriter, read_samples

    if args.output is not None:
        writable_output(args.output)
    settings = _settings(args)
    try:
        rows = join_predictions(read_samples(args.dataset), read_predictions(args.predictions))
    except (JsonlError, ValueError) as exc:
        raise UserError(str(exc)) from None
    if not rows:
        raise UserError(f"{args.dataset}: no samples")
    scores, metrics = score_rows(rows, list(args.rewards), settings)
    if args.output is not None:
        with JsonlWriter(args.output) as w:
            for i, row in enumerate(rows):
                w.write(
                    {
                        "id": row.sample.id,
                        "predicted": row.completion is not None,
                        **{name: values[i] for name, values in scores.items()},
                    }
                )
        logger.info("wrote %d score lines to %s", len(rows), args.output)
    missing = sum(r.completion is None for r in rows)
    print(f"samples {len(rows)}  with predictions {len(rows) - missing}")
    width = max(len(k) for k in [*scores, *metrics])
    for name, values in scores.items():
        print(f"{name:<{width}}  {sum(values) / len(values):.4f}")
    for name, value in sorted(metrics.items()):
        print(f"{name:<{width}}  {value:.4f}")
    return 0
