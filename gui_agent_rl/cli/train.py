"""``gui-agent-rl train``, ``tiny-model`` and ``predict``: the GRPO trainer and its companions."""

from __future__ import annotations

import argparse
from pathlib import Path

from gui_agent_rl.cli._common import (
    UserError,
    existing_file,
    new_or_empty_folder,
    positive_int,
    refuse_clobber,
    telemetry_off_by_default,
    writable_output,
)

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="GRPO training on TRL (--config RECIPE.yaml plus overrides; --help lists every option)",
        description="All options of TRL's GRPOConfig, ModelConfig (LoRA) and ours; see recipes/README.md.",
        add_help=False,
    )
    p.set_defaults(func=run_train, accepts_extra=True)

    t = sub.add_parser(
        "tiny-model",
        help="write a tiny random Qwen2.5-VL (offline tokenizer, real architecture) for CPU runs",
        description="Build a tiny random Qwen2.5-VL that AutoModelForImageTextToText and AutoProcessor load.",
    )
    t.add_argument("out_dir", type=Path, help="folder to write (created)")
    t.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    t.set_defaults(func=run_tiny_model)
    _register_predict(sub)


def _register_predict(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser(
        "predict",
        help="completions for a dataset (transformers, or --api-base: an OpenAI-compatible server)",
        description='Write {"id", "completion"} JSON lines for `score` and `eval`; with --num-samples K '
        'also "samples" (K sampled completions, for eval\'s sampled means and pass@K) and "temperature". '
        "Screenshots are resized as in training (smart_resize with the run's min/max pixels: --min-pixels/"
        "--max-pixels, else the checkpoint folder's saved processor, else the training defaults); with "
        "--api-base this happens here, before the images are sent, so the server's own resize leaves them "
        "as they are and the answers are in the frame the rewards and eval score.",
    )
    q.add_argument(
        "--model", required=True, help="checkpoint folder (or the served model name with --api-base)"
    )
    q.add_argument("--dataset", required=True, type=existing_file, help="JSONL of samples")
    q.add_argument("--output", required=True, type=Path, help="predictions JSONL to write")
    q.add_argument(
        "--image-folder",
        type=Path,
        default=None,
        help="image paths' root (default: the dataset's folder, or DATA/ for DATA.jsonl when the images "
        "are there)",
    )
    q.add_argument("--api-base", default=None, help="OpenAI-compatible base URL, e.g. http://host:8000/v1")
    q.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    q.add_argument(
        "--batch-size", type=positive_int, default=4, help="prompts per generate() call / in flight"
    )
    q.add_argument("--max-new-tokens", type=positive_int, default=512, help="completion length limit")
    q.add_argument(
        "--temperature",
        type=float,
        default=0.0,
        help="0: greedy (default). With --num-samples: the samples' temperature, 1.0 when left at 0 "
        "(`completion` stays greedy)",
    )
    _add_sampling(q)
    q.add_argument(
        "--min-pixels",
        type=positive_int,
        default=None,
        help="the run's min_pixels (default: the checkpoint's saved processor, else 3136)",
    )
    q.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        help="the run's max_pixels (default: the checkpoint's saved processor, else 12845056); with "
        "--api-base give both when --model is a served name, not the checkpoint folder",
    )
    q.add_argument("--limit", type=positive_int, default=None, help="only the first N samples")
    q.add_argument(
        "--retries",
        type=int,
        default=5,
        metavar="N",
        help="with --api-base: retry a request N times after a connection error, timeout, HTTP 429 or "
        "5xx, waiting 1, 2, 4 ... s (at most 30 s) in between (default 5)",
    )
    q.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="ignore OUTPUT.partial (the predictions an interrupted run kept) and start over",
    )
    q.set_defaults(func=run_predict)


def _add_sampling(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--num-samples",
        type=int,
        default=0,
        metavar="K",
        help='also write K sampled completions per sample as "samples" (default 0: none)',
    )
    q.add_argument(
        "--top-p",
        type=float,
        default=1.0,
        help="nucleus sampling, 0 < p <= 1 (default 1.0); the checkpoint's top_k is switched off",
    )
    q.add_argument(
        "--seed",
        type=int,
        default=None,
        help="reproducible sampling (torch.manual_seed; the request seed with --api-base)",
    )
    q.add_argument(
        "--no-greedy",
        dest="greedy",
        action="store_false",
        help="with --num-samples: skip the greedy pass; completion = samples[0]",
    )


def require_train_extra(command: str) -> None:
    """One line instead of an ImportError traceback when torch/transformers/trl are missing."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "trl", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"{command} needs the [train] extra ({', '.join(missing)} missing): pip install -e '.[train]'"
        )


def run_train(args: argparse.Namespace) -> int:
    require_train_extra("train")
    telemetry_off_by_default()
    from gui_agent_rl.train.grpo import USER_ERRORS, main

    try:
        return main(list(args.extra))
    except USER_ERRORS as exc:
        raise UserError(str(exc)) from None


def run_tiny_model(args: argparse.Namespace) -> int:
    require_train_extra("tiny-model")
    from gui_agent_rl.train.tiny import build_tiny_model

    new_or_empty_folder(args.out_dir)
    build_tiny_model(args.out_dir, seed=args.seed)
    print(args.out_dir)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    telemetry_off_by_default()
    from gui_agent_rl.schemas import JsonlError
    from gui_agent_rl.train.config import ConfigError
    from gui_agent_rl.train.data import DataError
    from gui_agent_rl.train.partial import partial_path
    from gui_agent_rl.train.predict import PredictSettings, predict

    try:
        settings = PredictSettings(
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            batch_size=args.batch_size,
            min_pixels=args.min_pixels,
            max_pixels=args.max_pixels,
            limit=args.limit,
            num_samples=args.num_samples,
            top_p=args.top_p,
            seed=args.seed,
            greedy=args.greedy,
            retries=args.retries,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not args.api_base:
        require_train_extra("predict without --api-base")
    writable_output(args.output)
    refuse_clobber([args.output, partial_path(args.output)], [args.dataset])
    try:
        n = predict(
            args.model,
            args.dataset,
            args.output,
            args.image_folder,
            settings=settings,
            api_base=args.api_base,
            api_key=args.api_key,
            resume=args.resume,
        )
    except (ConfigError, DataError, JsonlError) as exc:
        raise UserError(str(exc)) from None
    print(f"{n} predictions written to {args.output}")
    return 0
