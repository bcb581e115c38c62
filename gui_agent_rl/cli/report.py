"""``gui-agent-rl report``: an offline HTML page of a dataset, its predictions, their metrics and runs."""

from __future__ import annotations

import argparse
import copy
import os
from pathlib import Path

from gui_agent_rl.cli._common import UserError, existing_dir, existing_file, positive_int, refuse_clobber
from gui_agent_rl.cli.evaluate import RULES_HELP, _add_common, _load
from gui_agent_rl.cli.score import check_reward_names

ORDER = 55

DESCRIPTION = """\
Score the predictions exactly as `eval` does (same options, same numbers: the folder gets the same
metrics.json) and write a folder that opens from disk in any browser, with no server and no network:
the metrics per action type and the confusion matrix; the reward curves of each --run; a gallery of
the samples (previous and current screen, truth green and prediction red as `viz` draws them, the
completion and its rewards) with filters (wrong only, action type, task, reward range), sorting,
search by id and paging; an episode view listing a task's steps in order. With --compare, a second
predictions file of the same dataset side by side, the samples where they disagree first."""

EPILOG = (
    """\
the folder: index.html, report.js, report.css, data.js (samples and metrics, a script because
browsers refuse to fetch() local files), t/ and p/ (JPEG thumbnails), metrics.json (and
compare.metrics.json). An existing OUTPUT is replaced only when it is empty or a report.

"""
    + RULES_HELP
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="an offline HTML page: metrics, reward curves, a gallery of predictions, episodes",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(p)
    p.add_argument("--output", type=Path, required=True, metavar="REPORT_DIR", help="folder to write")
    p.add_argument(
        "--image-folder",
        type=existing_dir,
        help="root the dataset's image paths are relative to (default: as `viz` finds it)",
    )
    p.add_argument("--no-images", action="store_true", help="no thumbnails (a page without screens)")
    p.add_argument(
        "--run", type=Path, action="append", default=[], metavar="RUN_DIR", help="a training run (repeatable)"
    )
    p.add_argument("--compare", type=existing_file, metavar="P2.jsonl", help="a second predictions file")
    p.add_argument("--rewards", default="format,accuracy", help="rewards to show (comma-separated)")
    p.add_argument("--accuracy-method", default=None, help="box method of the accuracy reward")
    p.add_argument(
        "--workers", type=positive_int, default=1, metavar="N", help="processes drawing thumbnails"
    )
    p.add_argument(
        "--thumb-height", type=positive_int, default=320, metavar="PX", help="thumbnail height (320)"
    )
    p.add_argument("--title", default=None, help="the page's title (default: the predictions' file name)")
    p.set_defaults(func=run_report)


def _side(args: argparse.Namespace, predictions: Path, names: list[str]) -> object:
    from gui_agent_rl.evaluate.scoring import evaluate
    from gui_agent_rl.report import Side

    one = copy.copy(args)
    one.predictions = predictions
    rows, settings, rules, pixels = _load(one, args.accuracy_method)
    by_task = bool(rows) and all(r.sample.task_id is not None for r in rows)
    try:
        result = evaluate(rows, rules, settings, names, by_task=by_task)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result.metrics["rules"]["pixels_from"] = pixels.source
    return Side(predictions.name, rows, result.results, result.metrics, settings)


def _check_paths(args: argparse.Namespace) -> None:
    """Inputs must survive the report: none inside OUTPUT (it is replaced), OUTPUT not in the images."""
    from gui_agent_rl.report.build import check_output

    out = os.path.realpath(args.output)
    for source in (args.dataset, args.predictions, args.compare, *args.run):
        real = os.path.realpath(source) if source is not None else ""
        if real == out or real.startswith(out.rstrip(os.sep) + os.sep):
            raise UserError(f"{args.output}: holds the input {source}; write the report elsewhere")
    refuse_clobber(
        [args.output / "index.html"], [args.dataset, args.predictions, args.compare], [args.image_folder]
    )
    if args.thumb_height < 16:
        raise UserError(f"--thumb-height {args.thumb_height}: at least 16 pixels")
    try:
        check_output(args.output)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run_report(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.curve import read_runs
    from gui_agent_rl.evaluate.pictures import resolve_image_folder
    from gui_agent_rl.report import ReportInputs, build_report

    _check_paths(args)
    names = [n.strip() for n in args.rewards.split(",") if n.strip()]
    check_reward_names(names)
    try:
        runs = read_runs(args.run)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    sides = [_side(args, args.predictions, names)]
    if args.compare is not None:
        sides.append(_side(args, args.compare, names))
    folder = None
    if not args.no_images:
        try:
            folder = resolve_image_folder(args.dataset, [r.sample for r in sides[0].rows], args.image_folder)
        except ValueError as exc:
            raise UserError(f"{exc} (or --no-images)") from None
    title = args.title or f"gui-agent-rl report: {args.predictions.name}"
    inputs = ReportInputs(sides, runs, folder, title, args.thumb_height, args.workers)
    try:
        summary = build_report(inputs, args.output)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    left = f", {len(summary.left_out)} left out (missing screenshots)" if summary.left_out else ""
    print(
        f"{summary.samples} samples; page {summary.page_bytes / 1e6:.2f} MB, "
        f"{summary.thumbs} thumbnails {summary.thumb_bytes / 1e6:.2f} MB{left}"
    )
    print(f"report: {summary.index.resolve().as_uri()}")
    return 0
