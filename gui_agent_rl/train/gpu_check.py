"""``make gpu-check``: five GRPO steps of the tiny model set up as a 7B run is, before a long job.

On a CUDA machine: bf16, SDPA, ZeRO-3 on one rank over NCCL (persistence threshold 0, so even the
tiny tensors are partitioned), gradient checkpointing, a frozen vision tower, a reference model
(``beta`` 0.04), two screenshots per prompt. Without CUDA the same run in its CPU form: float32, gloo,
``use_cpu``. It prints a row per step (time, peak memory, require-grads hooks) and fails (exit 1, one
line per problem) when a step fails or its loss is not finite, when the hook count grows from step to
step (generation then slows every step), or when a training forward of the frozen tower yields an
output that requires grad (backward would run through it). Exit 0 and ``gpu-check: OK`` otherwise.

    python -m gui_agent_rl.train.gpu_check [--device auto|cuda|cpu] [--steps 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger("gui_agent_rl.gpu_check")


class Probe(TrainerCallback):
    """Per step: wall time, peak memory, require-grads hook count; watches the vision tower's output."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.rows: list[dict[str, Any]] = []
        self.tower_grad_outputs = 0
        self._start = 0.0
        self._hooked = False

    def watch_tower(self, model: Any) -> None:
        from gui_agent_rl.train.model import vision_tower

        tower = vision_tower(model)
        if tower is not None and not self._hooked:
            tower.register_forward_hook(self._tower_output)
            self._hooked = True

    def _tower_output(self, module: Any, args: Any, output: Any) -> None:
        tensor = getattr(output, "last_hidden_state", None)
        tensor = getattr(output, "pooler_output", None) if tensor is None else tensor
        tensor = output[0] if tensor is None and isinstance(output, tuple) else tensor
        if module.training and getattr(tensor, "requires_grad", False):
            self.tower_grad_outputs += 1

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        from gui_agent_rl.train.model import count_input_grad_hooks

        self.rows.append(
            {
                "step": state.global_step,
                "seconds": time.perf_counter() - self._start,
                "peak_mib": peak_memory_mib(self.device),
                "hooks": count_input_grad_hooks(model) if model is not None else -1,
            }
        )


def peak_memory_mib(device: str) -> float:
    """Peak allocated GPU memory on CUDA; this process's peak resident memory on CPU."""
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu-check: --device cuda, but torch sees no CUDA device")
    return requested


def single_rank_env() -> None:
    """What torchrun would set for one process, so DeepSpeed and accelerate start a world of one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0", "LOCAL_RANK": "0",
                       "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}.items():  # fmt: skip
        os.environ.setdefault(key, value)


def prepare(work: Path, device: str, steps: int) -> list[str]:
    """Tiny model, data and ZeRO-3 config under ``work``; returns the train arguments."""
    from gui_agent_rl.train.config import resolve_deepspeed
    from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset

    model = build_tiny_model(work / "tiny-model")
    data = write_tiny_dataset(work / "data", n_samples=4)
    zero3 = json.loads(Path(str(resolve_deepspeed("zero3"))).read_text(encoding="utf-8"))
    zero3["zero_optimization"]["stage3_param_persistence_threshold"] = 0
    (work / "zero3.json").write_text(json.dumps(zero3), encoding="utf-8")
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "tiny-cpu.yaml"
    args = [
        *(["--config", str(recipe)] if recipe.exists() else []),
        "--model_name_or_path", str(model),
        "--data_file_paths", str(data), "--image_folders", str(data.parent),
        "--output_dir", str(work / "run"), "--deepspeed", str(work / "zero3.json"), "--max_steps", str(steps),
        "--gradient_checkpointing", "true", "--freeze_vision_modules", "true", "--beta", "0.04",
        "--num_generations", "2", "--per_device_train_batch_size", "2", "--max_completion_length", "16",
        "--attn_implementation", "sdpa", "--logging_steps", "1", "--save_strategy", "no",
        "--report_to", "none",
        "--reward_funcs", "format", "accuracy", "--max_pixels", "50176", "--min_pixels", "3136",
    ]  # fmt: skip
    if device == "cuda":
        return [*args, "--use_cpu", "false", "--bf16", "true", "--dtype", "bfloat16"]
    return [*args, "--use_cpu", "true", "--bf16", "false", "--dtype", "float32"]


def problems(probe: Probe, trainer: Any, device: str) -> list[str]:
    """What is wrong with the run, one line each (empty: all is well)."""
    found = []
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if not losses or not all(math.isfinite(x) for x in losses):
        found.append(f"loss not finite (or never logged): {losses}")
    hooks = [r["hooks"] for r in probe.rows]
    if len(set(hooks)) > 1:
        found.append(f"require-grads hooks grew over the steps: {hooks} (each generation slows)")
    if probe.tower_grad_outputs:
        found.append(f"the frozen vision tower's output required grad in {probe.tower_grad_outputs} forwards")
    stage = trainer.accelerator.state.deepspeed_plugin.zero_stage if trainer.is_deepspeed_enabled else None
    if stage != 3:
        found.append(f"DeepSpeed ZeRO-3 is not active (stage {stage})")
    import torch.distributed as dist

    want = "nccl" if device == "cuda" else "gloo"
    if dist.is_initialized() and dist.get_backend() != want:
        found.append(f"process group backend {dist.get_backend()}, expected {want}")
    return found


def run_check(device: str, steps: int, work: Path) -> tuple[Probe, Any, list[str]]:
    from gui_agent_rl.train import grpo
    from gui_agent_rl.train.config import parse_train_args

    single_rank_env()
    script, training, model_args = parse_train_args(prepare(work, device, steps))
    probe = Probe(device)
    trainer = grpo.build_trainer(script, training, model_args, callbacks=[probe])
    probe.watch_tower(trainer.model)
    trainer.train()
    return probe, trainer, problems(probe, trainer, device)


def report(probe: Probe, device: str) -> str:
    lines = [f"gpu-check on {device}", "step  seconds  peak MiB  hooks"]
    lines += [
        f"{r['step']:>4}  {r['seconds']:7.2f}  {r['peak_mib']:8.0f}  {r['hooks']:>5}" for r in probe.rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gui_agent_rl.train.gpu_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--steps", type=int, default=5, help="GRPO steps (default 5; at least 2)")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the hook count is compared between steps)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    device = pick_device(args.device)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            probe, _, found = run_check(device, args.steps, work)
        except Exception as exc:  # the point of the check: say what broke (traceback, then one line)
            logger.exception("the check run failed")
            sys.stderr.write(f"gpu-check: FAILED: the run raised {type(exc).__name__}: {exc}\n")
            return 1
    sys.stdout.write(report(probe, device) + "\n")
    for line in found:
        sys.stderr.write(f"gpu-check: FAILED: {line}\n")
    if not found:
        sys.stdout.write("gpu-check: OK\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
