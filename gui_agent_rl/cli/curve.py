"""``gui-agent-rl curve``: training curves of GRPO (or SFT) runs as a PNG and a table."""

from __future__ import annotations

import argparse
from pathlib import Path

from gui_agent_rl.cli._common import UserError, positive_int, writable_output

ORDER = 45

DESCRIPTION = """\
Plot what a training run logged, per step: each reward's mean and the weighted total, KL, completion
length (mean, max) and the clipped ratio, loss, learning rate, then every other numeric key that
varies (SFT: token accuracy, entropy, ...). Several runs are overlaid, named by their folders.
The headline metrics are printed as a table (a long run: 20 evenly spaced steps plus the last)."""

EPILOG = """\
where the numbers come from (first found): RUN_DIR/trainer_state.json, the newest
RUN_DIR/checkpoint-N/trainer_state.json, RUN_DIR/rollouts.jsonl (a run stopped before saving
anything: each reward's mean per step and completion length in characters). RUN_DIR may also be
one of those files."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curve",
        help="training curves of runs (rewards, KL, lengths, loss, lr): a PNG and a table",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="a training output folder")
    p.add_argument("--output", "-o", type=Path, required=True, metavar="PNG", help="picture to write")
    p.add_argument(
        "--smooth",
        type=positive_int,
        default=1,
        metavar="N",
        help="trailing mean over the last N steps in the plot and the table (default 1: raw)",
    )
    p.add_argument("--csv", type=Path, metavar="TABLE.csv", help="also write every logged number, raw")
    p.set_defaults(func=run_curve)


def run_curve(args: argparse.Namespace) -> int:
    from gui_agent_rl.evaluate.curve import atomic_path, format_csv, format_table, read_runs
    from gui_agent_rl.evaluate.curve_plot import plot_curves

    for out in (args.output, args.csv):
        if out is not None:
            writable_output(out)
    try:
        runs = read_runs(args.run_dirs)
        n_panels = plot_curves(runs, args.output, args.smooth)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.csv:
        with atomic_path(args.csv) as tmp:
            tmp.write_text(format_csv(runs), encoding="utf-8")
    print("\n\n".join(format_table(run, args.smooth) for run in runs))
    print(
        f"\n{n_panels} panels written to {args.output}" + (f", all values to {args.csv}" if args.csv else "")
    )
    return 0
