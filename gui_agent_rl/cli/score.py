"""``gui-agent-rl score``: the training rewards of a predictions file, per sample and on average."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from gui_agent_rl.cli._common import UserError, existing_file, positive_int, refuse_clobber, writable_output

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
    add_point_distance(p)
    p.add_argument(
        "--normalize-format", action="store_true", help="divide the format reward by its form's maximum"
    )
    p.add_argument(
        "--output-format",
        choices=("answer", "think"),
        help="the stated output form for every sample (default: each sample's output_format, else think)",
    )
    add_text_match(p)
    p.set_defaults(func=run)


def add_point_distance(p: argparse.ArgumentParser) -> None:
    """``--point-distance``: the radius of full credit for point truths (shared with ``eval``)."""
    p.add_argument(
        "--point-distance",
        type=float,
        default=0.04,
        help="the distance rule for truths recorded as a point 'x,y': full accuracy credit within this "
        "normalised screen distance (x/width, y/height) of the point (default 0.04, AndroidControl's rule "
        "as Qwen2.5-VL evaluates it)",
    )


def add_text_match(p: argparse.ArgumentParser) -> None:
    """``--text-match``: how typed and app texts are compared (shared with ``eval``)."""
    from gui_agent_rl.rewards.text import DEFAULT_TEXT_MATCH, TEXT_MATCH_MODES

    p.add_argument(
        "--text-match",
        choices=TEXT_MATCH_MODES,
        default=DEFAULT_TEXT_MATCH,
        help="text comparison: faithful (default; Unicode NFKC and whitespace only, so case and "
        "punctuation count), casefold (case ignored too) or loose (case, punctuation and spaces ignored)",
    )


def pixel_choice(args: argparse.Namespace, predictions: Any) -> Any:
    """The pixel limits to score with (options, else the predictions' record, else defaults); warns."""
    from gui_agent_rl.evaluate.predictions import recorded_pixel_limits, scoring_pixel_limits

    choice = scoring_pixel_limits(
        recorded_pixel_limits(predictions), args.min_pixels, args.max_pixels, args.frame
    )
    if choice.warning:
        logging.getLogger("gui_agent_rl.evaluate.predictions").warning("%s", choice.warning)
    return choice


def _rewards_epilog() -> str:
    from gui_agent_rl.rewards.registry import reward_help

    return "rewards:\n" + "\n".join(f"  {line}" for line in reward_help().splitlines())


def _settings(args: argparse.Namespace, pixels: Any) -> Any:
    from gui_agent_rl.rewards.registry import RewardSettings

    try:
        return RewardSettings(
            coordinate_frame=args.frame,
            accuracy_method=args.method,
            normalize_format=args.normalize_format,
            output_format=args.output_format,
            min_pixels=pixels.min_pixels,
            max_pixels=pixels.max_pixels,
            text_match=args.text_match,
            point_distance=args.point_distance,
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
    for spec, func in zip(names, funcs, strict=True):
        name = getattr(func, "__name__", spec)  # a user's callable instance may have no __name__
        try:
            values = func(prompts=prompts, completions=completions, log_metric=metrics.__setitem__, **columns)
        except ValueError as exc:  # bad ground truth (the message names the sample) or a bad method name
            raise UserError(f"{name}: {exc}") from None
        scores[name] = reward_values(name, values, len(rows))
    return scores, metrics


def check_reward_names(names: list[str]) -> None:
    """Resolve the rewards before any file is read: an unknown name, or a ``module:function`` that is no
    reward (``os:getcwd``), is one line at once (:func:`~gui_agent_rl.rewards.registry.load_reward`)."""
    from gui_agent_rl.rewards.registry import get_reward_funcs

    try:
        get_reward_funcs(list(names))
    except ValueError as exc:
        raise UserError(str(exc)) from None


def reward_values(name: str, values: Any, count: int) -> list[float]:
    """A reward's output as floats; anything but one number per sample is a one-line error."""
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        raise UserError(f"reward {name} returned {str(values)[:80]!r}, not one number per sample") from None
    if len(floats) != count:
        raise UserError(f"reward {name} returned {len(floats)} scores for {count} samples")
    return floats


def run(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.predictions import join_predictions, read_predictions
    from gui_agent_rl.schemas import JsonlError, JsonlWriter, read_samples

    if args.output is not None:
        writable_output(args.output)
        refuse_clobber([args.output], [args.dataset, args.predictions])
    _check_pixel_options(args)
    check_reward_names(args.rewards)
    try:
        predictions = read_predictions(args.predictions)
        rows = join_predictions(read_samples(args.dataset), predictions)
    except (JsonlError, ValueError) as exc:
        raise UserError(str(exc)) from None
    pixels = pixel_choice(args, predictions)
    settings = _settings(args, pixels)
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
    print(f"samples {len(rows)}  with predictions {len(rows) - missing}  ({_rules(settings, pixels)})")
    width = max(len(k) for k in [*scores, *metrics])
    for name, values in scores.items():
        print(f"{name:<{width}}  {sum(values) / len(values):.4f}")
    for name, value in sorted(metrics.items()):
        print(f"{name:<{width}}  {value:.4f}")
    return 0


def _check_pixel_options(args: argparse.Namespace) -> None:
    """``--min-pixels`` above ``--max-pixels`` is a contradiction, not a frame."""
    if args.min_pixels and args.max_pixels and args.min_pixels > args.max_pixels:
        raise UserError(f"--min-pixels {args.min_pixels} is larger than --max-pixels {args.max_pixels}")


def _rules(settings: Any, pixels: Any) -> str:
    """``frame resized (pixels 3136..1003520 from predictions); text faithful``: what the scores mean."""
    frame = str(getattr(settings.coordinate_frame, "value", settings.coordinate_frame))
    if frame == "resized":
        frame += f" (pixels {pixels.min_pixels}..{pixels.max_pixels} from {pixels.source})"
    return f"frame {frame}; text {settings.text_match}"
