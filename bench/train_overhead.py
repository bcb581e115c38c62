"""Share of a GRPO step spent in this project's code (data + image loading, rewards, rollout log) on CPU.

Run: ``.venv/bin/python bench/train_overhead.py [--steps 8] [--data examples/corpus.jsonl]``.
Trains the tiny Qwen2.5-VL for a few steps with the tiny-cpu recipe and times our parts inside the
step: the dataset transform (JSONL row -> prompt + decoded screenshots) and every reward call (the
rollout-log write included). Target: < 5 % of the step. With the tiny model the step itself is only
a few hundred ms, so the share here is an upper bound; the same milliseconds against the seed's
18.7 s 7B step are printed too.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_STEP_S = 18.7  # the seed's logged 7B step on 5 GPUs (SPEC §7)


class Timed:
    """Wrap a callable, summing its wall time; keeps ``__name__`` so TRL's metric names do not change."""

    def __init__(self, func, name: str | None = None) -> None:
        self.func, self.seconds, self.calls = func, 0.0, 0
        self.__name__ = name or getattr(func, "__name__", "timed")

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.func(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def screen_cost_ms(data: Path, max_pixels: int, n: int = 20) -> float:
    """Mean time to open one screenshot of ``data`` at ``max_pixels`` (decode, draft, resize)."""
    from gui_agent_rl.schemas import read_samples
    from gui_agent_rl.train.data import open_screen

    folder = data.parent / data.stem if (data.parent / data.stem).is_dir() else data.parent
    paths = [str(folder / p) for s in read_samples(data) for p in s.images][:n]
    open_screen(paths[0], max_pixels)
    start = time.perf_counter()
    for p in paths:
        open_screen(p, max_pixels)
    return 1000 * (time.perf_counter() - start) / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--data", type=Path, default=ROOT / "examples" / "corpus.jsonl")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from gui_agent_rl.train.config import parse_train_args
    from gui_agent_rl.train.data import RowTransform
    from gui_agent_rl.train.grpo import build_trainer
    from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "model")
        data = args.data if args.data.is_file() else write_tiny_dataset(Path(tmp) / "data", n_samples=16)
        argv = ["--config", str(ROOT / "recipes" / "tiny-cpu.yaml"), "--model_name_or_path", str(model),
                "--data_file_paths", str(data), "--image_folders", str(data.parent / data.stem),
                "--output_dir", str(Path(tmp) / "out"), "--max_steps", str(args.steps + 1)]  # fmt: skip
        if not (data.parent / data.stem).is_dir():
            argv[argv.index("--image_folders") + 1] = str(data.parent)
        script, training, model_args = parse_train_args(argv)
        trainer = build_trainer(script, training, model_args)
        transform = Timed(RowTransform(script.max_pixels, script.min_pixels), "transform")
        trainer.train_dataset.set_transform(transform)
        trainer.reward_funcs = [Timed(f) for f in trainer.reward_funcs]
        trainer.train()
        screen_ms = screen_cost_ms(data, max_pixels=1280 * 28 * 28)

    # The first step warms up (allocator, tokenizer caches); the mean is over the remaining ones.
    steps = [h["step_time"] for h in trainer.state.log_history if "step_time" in h][1:]
    step_s = sum(steps) / len(steps)
    data_s = transform.seconds / (args.steps + 1)
    reward_s = sum(f.seconds for f in trainer.reward_funcs) / (args.steps + 1)
    ours = data_s + reward_s
    print(f"data: {data.name if data.is_relative_to(ROOT) else 'tiny fixture'}, steps: {len(steps)}")
    print(f"GRPO step (tiny model, CPU): {step_s * 1000:8.1f} ms")
    print(f"  data + image loading:      {data_s * 1000:8.1f} ms")
    print(f"  rewards + rollout log:     {reward_s * 1000:8.1f} ms")
    print(f"our share of the tiny step:  {100 * ours / step_s:8.2f} %   (target < 5 %)")
    print(f"our share of a 7B step:      {100 * ours / SEED_STEP_S:8.3f} %   (seed: {SEED_STEP_S} s/step)")
    print(f"one screen at the 7B recipe's max_pixels (1003520): {screen_ms:.1f} ms to open and resize")


if __name__ == "__main__":
    main()
