"""``gui-agent-rl import FORMAT SRC --output ROOT``: a public dataset -> a corpus ``build`` reads."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from gui_agent_rl.cli._common import UserError, new_or_empty_folder, positive_int, refuse_clobber
from gui_agent_rl.cli._signals import sigterm_like_sigint

ORDER = 15  # before build: importing comes first
FORMAT_NAMES = ("androidcontrol", "aitw", "aitz", "gui-odyssey", "ui-r1", "gui-r1")  # importers.FORMATS


def screen_size(value: str) -> tuple[int, int]:
    """argparse ``type=`` for ``WxH`` (``1080x2400``)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not match or not int(match.group(1)) or not int(match.group(2)):
        raise argparse.ArgumentTypeError(f"{value!r} is not WIDTHxHEIGHT in pixels, e.g. 1080x2400")
    return int(match.group(1)), int(match.group(2))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="a public dataset (AndroidControl, AITW, AITZ, GUI-Odyssey, UI-R1, GUI-R1) -> task folders",
        description="Convert a public phone-agent dataset into ROOT/<task>/step_<n>.json + screenshots, "
        "the layout `build` reads. Every episode or step that cannot be imported is written to "
        "ROOT/import.report.jsonl with its reason; ROOT/import.summary.json counts what was written.",
    )
    p.add_argument("format", choices=FORMAT_NAMES, metavar="FORMAT", help=", ".join(FORMAT_NAMES))
    p.add_argument("source", type=Path, metavar="SRC", help="the dataset's file or folder")
    p.add_argument("--output", "-o", type=Path, required=True, metavar="ROOT", help="new or empty folder")
    p.add_argument(
        "--instruction",
        choices=("high", "low"),
        default="high",
        help="androidcontrol task_content: high = the goal (default); low = the goal, a newline, "
        "'Step instruction: ' and the step's instruction",
    )
    p.add_argument("--image-folder", type=Path, metavar="DIR", help="screenshots (ui-r1, gui-odyssey)")
    p.add_argument(
        "--screen-size",
        type=screen_size,
        metavar="WxH",
        help="ui-r1 without images: blank screens of this size",
    )
    p.add_argument("--limit", type=positive_int, metavar="N", help="import at most N episodes")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes converting records (default 1; at most the usable cores)",
    )
    p.set_defaults(func=run_import)


@sigterm_like_sigint
def run_import(args: argparse.Namespace) -> int:
    from gui_agent_rl.importers import ImportOptions, ImportUsageError, import_corpus

    if not args.source.exists():
        raise UserError(f"{args.source}: no such file or folder")
    new_or_empty_folder(args.output)
    refuse_clobber([args.output], [args.source], [args.source] if args.source.is_dir() else [])
    if args.image_folder is not None and not args.image_folder.is_dir():
        raise UserError(f"{args.image_folder}: no such folder (--image-folder)")
    options = ImportOptions(args.instruction, args.image_folder, args.screen_size)
    try:
        summary = import_corpus(
            args.format,
            args.source,
            args.output,
            options,
            workers=args.workers,
            limit=args.limit,
            progress=sys.stderr.isatty(),
        )
    except ImportUsageError as exc:
        raise UserError(str(exc)) from None
    sys.stderr.write(summary.format_line(args.output) + "\n")
    return 0
