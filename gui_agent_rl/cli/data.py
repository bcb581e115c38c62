"""``gui-agent-rl build | stats | show | synth``: corpus -> dataset, and looking at datasets."""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

from gui_agent_rl.cli._common import UserError, existing_file, positive_int, refuse_clobber, writable_output
from gui_agent_rl.cli._signals import sigterm_like_sigint

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
    _register_synth(sub)


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
    p.add_argument(
        "--append-answer-format",
        action="store_true",
        help="with --prompt: append VLM-R1's <think>/<answer> sentence on its own line (output format think)",
    )
    p.add_argument("--report", type=Path, metavar="REPORT.jsonl", help="default: OUT's name + .report.jsonl")
    p.add_argument("--strict", action="store_true", help="exit 1 when any step was rejected")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes converting steps, this one included (default 1; at most the usable cores and "
        "the task folders)",
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
    p.add_argument(
        "--layout",
        choices=("compact", "seed"),
        default="compact",
        help="compact: the prefix verbatim, lines and the input JSON without spaces (default). seed: the "
        "seed builder's bytes, for models trained on its data: the prefix .strip()ped, json.dumps(..., "
        "ensure_ascii=False) spacing (', ' and ': ') for lines and input JSON, the true action as the step "
        "file holds it; the seed's id/image/conversations first, this toolkit's keys after",
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
    _refuse_build_clobber(args)
    if args.val_output and not args.val_fraction:
        raise UserError("--val-output needs --val-fraction")
    if args.append_answer_format and not args.prompt:
        raise UserError("--append-answer-format needs --prompt (the packaged prefixes state their form)")
    if args.reward_method:
        from gui_agent_rl.rewards.accuracy import BOX_METHODS

        if args.reward_method not in BOX_METHODS:
            raise UserError(
                f"unknown --reward-method {args.reward_method!r}; one of {', '.join(BOX_METHODS)}"
            )


def _refuse_build_clobber(args: argparse.Namespace) -> None:
    """No output (the default report and validation paths included) may be the prompt or lie under ROOT."""
    from gui_agent_rl.datagen.build import default_report_path, default_val_path

    report = args.report or default_report_path(args.output)
    val = (args.val_output or default_val_path(args.output)) if args.val_fraction else None
    refuse_clobber([args.output, report, val], [args.prompt], [args.root])


@sigterm_like_sigint  # timeout(1), Slurm, Kubernetes: the old output kept, one line, exit 143
def run_build(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.build import build_dataset
    from gui_agent_rl.datagen.prompts import append_answer_format, load_prompt, read_prompt_file
    from gui_agent_rl.datagen.walk import CorpusError

    _check_build_args(args)
    try:
        prompt = read_prompt_file(args.prompt) if args.prompt else load_prompt(think=args.think)
    except UnicodeDecodeError:
        raise UserError(f"{args.prompt}: prompt file is not UTF-8") from None
    if args.append_answer_format:
        prompt = append_answer_format(prompt)
    elif args.prompt and "<answer>" not in prompt:
        logging.getLogger(__name__).warning(
            "%s: the prompt prefix never mentions <answer>, but the rewards read the action only inside "
            "<answer>...</answer>; state the form or use --append-answer-format",
            args.prompt,
        )
    if "<image>" in prompt:
        raise UserError(f"{args.prompt}: the prompt prefix contains <image>; markers must match the images")
    try:
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
            layout=args.layout,
        )
    except CorpusError as exc:  # ROOT is a single task folder
        raise UserError(str(exc)) from None
    sys.stderr.write(summary.format() + "\n")
    if args.strict and not summary.kept + summary.kept_val:
        raise UserError(f"{args.root}: no samples kept (--strict); see the report {summary.report}")
    return 1 if args.strict and summary.rejected else 0


def run_stats(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.stats import dataset_stats, estimate_text_tokens, tokenizer_counter
    from gui_agent_rl.schemas import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, JsonlError

    min_pixels = args.min_pixels or DEFAULT_MIN_PIXELS
    max_pixels = args.max_pixels or DEFAULT_MAX_PIXELS
    if min_pixels > max_pixels:
        raise UserError(f"--min-pixels {min_pixels} exceeds --max-pixels {max_pixels}")
    if args.tokenizer is not None and not args.tokenizer.is_dir():
        raise UserError(f"{args.tokenizer}: no such tokenizer folder")
    if args.tokenizer is not None and not any(args.tokenizer.iterdir()):
        raise UserError(f"--tokenizer {args.tokenizer}: empty folder; give a model or tokenizer folder")
    try:
        counter = tokenizer_counter(args.tokenizer) if args.tokenizer else estimate_text_tokens
    except ImportError:
        raise UserError("--tokenizer needs transformers: pip install -e '.[train]'") from None
    except (OSError, ValueError) as exc:  # an empty or foreign folder: transformers' reasons are long
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--tokenizer {args.tokenizer}: not a tokenizer folder ({reason})") from None
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


SYNTH_TASKS = ("phone", "text", "grounding")  # synth_tasks.TASKS, without importing Pillow to parse


def _register_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write a synthetic corpus: drawn phone screens, or a small learnable task for CPU runs",
        description="phone: realistic Chinese phone screens and steps. text: the instruction alone decides "
        "the action ('open \"mail\"', 'type \"cat\"', 'go back', ...). grounding: 'tap red' on a screen of "
        "coloured buttons. text and grounding also write OUT_ROOT/prompt.txt, the prefix to build them with.",
    )
    p.add_argument("root", type=Path, metavar="OUT_ROOT", help="folder to create (must be new or empty)")
    p.add_argument("--task", choices=SYNTH_TASKS, default="phone", help="which corpus (default phone)")
    p.add_argument("--tasks", type=positive_int, default=6)
    p.add_argument("--steps", type=positive_int, default=5, help="steps per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--size",
        help="screen size WxH in pixels (default phone 1080x2400, text 56x56, grounding 112x112; "
        "text and grounding need multiples of 28)",
    )
    p.add_argument("--grid", metavar="N", help="grounding: buttons sit in an NxN grid (default 2)")
    p.add_argument("--quality", type=positive_int, default=60, help="phone: JPEG quality (default 60)")
    p.set_defaults(func=run_synth)


def _synth_size(args: argparse.Namespace) -> tuple[int, int]:
    from gui_agent_rl.datagen.synth_tasks import DEFAULT_SIZES

    if args.size is None:
        return DEFAULT_SIZES[args.task]
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must be WxH, e.g. 1080x2400, got {args.size!r}") from None
    if args.task == "phone" and min(width, height) < 100:
        raise UserError(f"--size {args.size} is too small for a phone screen (at least 100x100)")
    return width, height


def _synth_grid(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen.synth_tasks import DEFAULT_GRID

    if args.grid is None:
        return DEFAULT_GRID
    if args.task != "grounding":
        raise UserError("--grid applies to --task grounding only")
    try:
        return int(args.grid)
    except ValueError:
        raise UserError(f"--grid must be an integer, got {args.grid!r}") from None


def _check_task_screen(args: argparse.Namespace, width: int, height: int, grid: int) -> None:
    from gui_agent_rl.datagen.synth_tasks import check_grid, check_screen_size

    if args.task == "phone":
        return
    try:
        check_screen_size(width, height)
    except ValueError as exc:
        raise UserError(f"--size: {exc}") from None
    try:
        if args.task == "grounding":
            check_grid(width, height, grid)
    except ValueError as exc:
        raise UserError(f"--grid: {exc}") from None


def run_synth(args: argparse.Namespace) -> int:
    from gui_agent_rl.datagen import synth_tasks
    from gui_agent_rl.datagen.synth import synthesize_corpus

    (width, height), grid = _synth_size(args), _synth_grid(args)
    _check_task_screen(args, width, height, grid)
    if args.root.exists() and (not args.root.is_dir() or any(args.root.iterdir())):
        raise UserError(f"{args.root}: exists and is not an empty folder")
    corpus = (args.root, args.tasks, args.steps, args.seed)
    if args.task == "text":
        n = synth_tasks.synthesize_text_corpus(*corpus, width=width, height=height)
    elif args.task == "grounding":
        n = synth_tasks.synthesize_grounding_corpus(*corpus, width=width, height=height, grid=grid)
    else:
        n = synthesize_corpus(*corpus, width=width, height=height, quality=min(args.quality, 95))
    prompt = "" if args.task == "phone" else f"; build with --prompt {args.root / synth_tasks.PROMPT_FILE}"
    sys.stderr.write(f"wrote {n} steps in {args.tasks} tasks to {args.root}{prompt}\n")
    return 0
