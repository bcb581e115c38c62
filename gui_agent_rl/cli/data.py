"""``gui-agent-rl build | stats | show | synth``: corpus -> dataset, and looking at datasets."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from gui_agent_rl.cli._common import UserError, existing_file, positive_int, writable_output

ORDER = 20


def _fraction(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= f < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 0 and below 1")
    return f


def register(sub: argparse._SubParsersAction) -> None:
    _register_build(sub)
    p = sub.add_parser("stats", help="counts, action mix, image sizes and prompt tokens of a dataset")
    p.add_argument("data", type=existing_file, metavar="DATA.jsonl")
    p.add_argument(
        "--min-pixels", type=positive_int, default=None, help="processor min_pixels (default 3136)"
    )
    p.add_argument(
        "--max-pixels", type=positive_int, default=None, help="processor max_pixels (default 12845056)"
    )
    p.add_argument("--max-prompt-tokens", type=positive_int, help="flag samples whose prompt exceeds this")
    p.add_argument(
        "--tokenizer", type=Path, metavar="PATH", help="count text tokens exactly with this tokenizer"
    )
    p.set_defaults(func=run_stats)
    p = sub.add_parser("show", help="one sample, its embedded JSON pretty-printed")
    p.add_argument("data", type=existing_file, metavar="DATA.jsonl")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--id", help="the sample's id (default: the first sample)")
    which.add_argument("--random", action="store_true", help="a random sample")
    p.add_argument("--seed", type=int, help="seed for --random")
    p.add_argument(
        "--full-prompt", action="store_true", help="print the prompt prefix too, not only its size"
    )
    p.set_defaults(func=run_show)
    p = sub.add_parser("synth", help="write a synthetic corpus of drawn phone screens and steps")
    p.add_argument("root", type=Path, metavar="OUT_ROOT", help="folder to create (must be new or empty)")
    p.add_argument("--tasks", type=positive_int, default=6)
    p.add_argument("--steps", type=positive_int, default=5, help="steps per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="1080x2400", help="screen size WxH in pixels (default 1080x2400)")
    p.add_argument("--quality", type=positive_int, default=60, help="JPEG quality (default 60)")
    p.set_defaults(func=run_synth)


def _register_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="task folders -> validated multi-image JSONL (VLM-R1 format)",
        description="Walk ROOT (numeric task folders with step_<n>.json), validate every step and "
        "its screenshots, and write OUT; every rejected step goes to the report with its reason.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="corpus folder: ROOT/<task digits>/step_<n>.json")
    p.add_argument("--output", "-o", type=Path, required=True, metavar="OUT.jsonl", help="dataset to write")
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument(
        "--prompt", type=existing_file, metavar="PREFIX.txt", help="your prompt prefix, verbatim"
    )
    prompt.add_argument("--think", action="store_true", help="the packaged think-mode prefix")
    p.add_argument("--report", type=Path, metavar="REPORT.jsonl", help="default: OUT's name + .report.jsonl")
    p.add_argument("--strict", action="store_true", help="exit 1 when any step was rejected")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes converting steps, this one included (default 1)",
    )
    p.add_argument(
        "--val-fraction", type=_fraction, default=0.0, metavar="F", help="share of tasks for validation"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the validation split (default 0)")
    p.add_argument("--val-output", type=Path, metavar="VAL.jsonl", help="default: OUT's name + .val.jsonl")
    p.add_argument("--reward-method", metavar="NAME", help="accu_reward_method column for every sample")
    p.add_argument(
        "--image-check",
        choices=("quick", "full"),
        default="quick",
        help="quick: header and structure, catches truncation (default); full: decode every pixel",
    )
    p.set_defaults(func=run_build)


def _check_build_args(args: argparse.Namespace) -> None:
    if not args.root.exists():
        raise UserError(f"{args.root}: no such folder")
    if not args.root.is_dir():
        raise UserError(f"{args.root}: not a folder")
    outputs = [args.output, args.report, args.val_output]
    for path in filter(None, outputs):
        writable_output(path)
    resolved = [p.resolve() for p in filter(None, outputs)]
    if len(set(resolved)) != len(resolved):
        raise UserError("--output, --report and --val-output must be different files")
    if args.val_output and not args.val_fraction:
        raise UserError("--val-output needs --val-fraction")
    if args.reward_method:
        from gui_agent_rl.rewards.accuracy import BOX_METHODS

        if args.reward_method not in BOX_METHODS:
            raise UserError(
                f"unknown --reward-method {args.reward_method!r}; one of {', '.join(BOX_METHODS)}"
            )


def run_build(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.build import build_dataset
    from gui_agent_rl.datagen.prompts import load_prompt, read_prompt_file

    _check_build_args(args)
    try:
        prompt = read_prompt_file(args.prompt) if args.prompt else load_prompt(think=args.think)
    except UnicodeDecodeError:
        raise UserError(f"{args.prompt}: prompt file is not UTF-8") from None
    if "<image>" in prompt:
        raise UserError(f"{args.prompt}: the prompt prefix contains <image>; markers must match the images")
    summary = build_dataset(
        args.root,
        args.output,
        prompt=prompt,
        report=args.report,
        workers=args.workers,
        val_fraction=args.val_fraction,
        seed=args.seed,
        val_output=args.val_output,
        reward_method=args.reward_method,
        image_check=args.image_check,
        progress=sys.stderr.isatty(),
    )
    sys.stderr.write(summary.format() + "\n")
    return 1 if args.strict and summary.rejected else 0


def run_stats(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.stats import dataset_stats, estimate_text_tokens, tokenizer_counter
    from gui_agent_rl.schemas import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, JsonlError

    min_pixels = args.min_pixels or DEFAULT_MIN_PIXELS
    max_pixels = args.max_pixels or DEFAULT_MAX_PIXELS
    if min_pixels > max_pixels:
        raise UserError(f"--min-pixels {min_pixels} exceeds --max-pixels {max_pixels}")
    if args.tokenizer is not None and not args.tokenizer.exists():
        raise UserError(f"{args.tokenizer}: no such tokenizer folder")
    counter = tokenizer_counter(args.tokenizer) if args.tokenizer else estimate_text_tokens
    try:
        stats = dataset_stats(
            args.data,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            max_prompt_tokens=args.max_prompt_tokens,
            count_text=counter,
        )
    except JsonlError as exc:
        raise UserError(str(exc)) from None
    sys.stdout.write(stats.format() + "\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.show import format_sample, pick_sample
    from gui_agent_rl.schemas import JsonlError

    rng = random.Random(args.seed) if args.random else None
    try:
        sample = pick_sample(args.data, sample_id=args.id, rng=rng)
    except JsonlError as exc:
        raise UserError(str(exc)) from None
    except LookupError as exc:
        raise UserError(str(exc.args[0])) from None
    sys.stdout.write(format_sample(sample, full_prompt=args.full_prompt) + "\n")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.synth import synthesize_corpus

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must be WxH, e.g. 1080x2400, got {args.size!r}") from None
    if min(width, height) < 100:
        raise UserError(f"--size {args.size} is too small for a phone screen (at least 100x100)")
    if args.root.exists() and (not args.root.is_dir() or any(args.root.iterdir())):
        raise UserError(f"{args.root}: exists and is not an empty folder")
    n = synthesize_corpus(args.root, args.tasks, args.steps, args.seed, width=width, height=height,
                          quality=min(args.quality, 95))  # fmt: skip
    sys.stderr.write(f"wrote {n} steps in {args.tasks} tasks to {args.root}\n")
    return 0
