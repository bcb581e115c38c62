"""``gui-agent-rl eval`` (metrics of a predictions file) and ``gui-agent-rl viz`` (pictures of them)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from gui_agent_rl.cli._common import UserError, existing_dir, positive_int, refuse_clobber, writable_output
from gui_agent_rl.cli._eval_options import PROTOCOL_HELP, RULES_HELP, SAMPLED_HELP, add_eval_options
from gui_agent_rl.cli._eval_options import add_common as _add_common  # `report` imports it from here
from gui_agent_rl.cli.score import check_reward_names, pixel_choice

ORDER = 50
logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    _register_eval(sub)
    _register_viz(sub)


def _register_eval(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "eval",
        help="metrics of a predictions file: type accuracy, step success, grounding, rewards",
        description="Score predictions against a dataset with the reward code; print a table.",
        epilog=RULES_HELP + "\n" + PROTOCOL_HELP + "\n" + SAMPLED_HELP,
        formatter_class=fmt,
    )
    _add_common(p)
    add_eval_options(p)
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
            point_distance=args.point_distance,
        )
        rules = MatchRules(
            args.box_scale, args.tap_distance, args.text_threshold, args.text_match, args.point_distance
        )
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
        _numbers_problem(rules, "rules", ("tap_distance", "point_distance")),
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
    inputs = [args.dataset, args.predictions, args.compare, args.build_report, args.import_summary]
    refuse_clobber([args.output, args.per_sample], inputs)
    other = _read_metrics(args.compare) if args.compare else None
    names = [n.strip() for n in args.rewards.split(",") if n.strip()]
    check_reward_names(names)
    sources = _length_sources(args)
    rows, settings, rules, pixels = _load(args, args.accuracy_method)
    try:
        result = evaluate(
            rows, rules, settings, names, by_task=args.by_task, protocol=args.protocol, sources=sources
        )
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
    _print_extra(result.metrics)
    if args.output:
        print(f"\nmetrics written to {args.output}")
    return 0


def _length_sources(args: argparse.Namespace) -> Any:
    """What --import-summary and --build-report say about task lengths (they need --by-task)."""
    from gui_agent_rl.evaluate.episodes import LengthSources, read_build_report, read_import_summary

    given = [
        f"--{n}"
        for n, v in (("build-report", args.build_report), ("import-summary", args.import_summary))
        if v
    ]
    if given and not args.by_task:
        raise UserError(f"{' and '.join(given)} tell --by-task how many steps each task had; add --by-task")
    try:
        summary = read_import_summary(args.import_summary) if args.import_summary else None
        rejected = read_build_report(args.build_report) if args.build_report else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return LengthSources(
        summary,
        args.import_summary.name if args.import_summary else "",
        rejected,
        args.build_report.name if args.build_report else "",
    )


def _print_extra(metrics: dict) -> None:
    """The task lengths' source and the --protocol block, after the default report."""
    from gui_agent_rl.evaluate.episodes import format_lengths
    from gui_agent_rl.evaluate.protocol_eval import format_protocol

    if metrics.get("by_task"):
        print("\n" + format_lengths(metrics["by_task"]))
    if metrics.get("protocol"):
        print("\n" + format_protocol(metrics["protocol"]))


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
