"""Two ranks under DeepSpeed ZeRO-3 over gloo (torchrun on CPU): frozen vision, beta > 0, rewards, weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")

from safetensors.torch import load_file  # noqa: E402

from gui_agent_rl.train.config import resolve_deepspeed  # noqa: E402
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.train]
ROOT = Path(__file__).resolve().parents[1]


def tiny_zero3_config(tmp_path: Path) -> Path:
    """The shipped zero3.json with persistence threshold 0, so even tiny tensors are partitioned."""
    config = json.loads(Path(resolve_deepspeed("zero3")).read_text())
    config["zero_optimization"]["stage3_param_persistence_threshold"] = 0
    path = tmp_path / "zero3_tiny.json"
    path.write_text(json.dumps(config))
    return path


def launch(tmp_path: Path, model: Path, data: Path, out: Path, *overrides: str) -> None:
    cmd = [
        # --standalone: torchrun binds its own free port (a port picked here could be taken by the
        # other xdist worker's gloo connections before torchrun binds it)
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "gui_agent_rl.train", "--config", str(ROOT / "recipes" / "tiny-cpu.yaml"),
        "--model_name_or_path", str(model), "--data_file_paths", str(data),
        "--image_folders", str(data.parent), "--output_dir", str(out),
        "--deepspeed", str(tiny_zero3_config(tmp_path)),
        "--reward_funcs", "format", "accuracy", "test_grpo_cpu:varied_reward",
        "--reward_weights", "1", "1", "1", *overrides,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540
    )
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("z3")
    return build_tiny_model(root / "model"), write_tiny_dataset(root / "data", n_samples=4)


class TestZero3TwoRanks:
    def test_frozen_vision_with_reference_model_trains_and_saves(self, tiny, tmp_path):
        model, data = tiny
        out = tmp_path / "out"
        launch(tmp_path, model, data, out, "--beta", "0.04", "--freeze_vision_modules", "true")

        history = json.loads((out / "trainer_state.json").read_text())["log_history"]
        assert any("rewards/accuracy/mean" in h and "kl" in h for h in history)
        assert (out / "rollouts.jsonl").is_file() and (out / "rollouts-rank1.jsonl").is_file()

        from transformers import AutoModelForImageTextToText

        reloaded = AutoModelForImageTextToText.from_pretrained(out).state_dict()
        initial = AutoModelForImageTextToText.from_pretrained(model).state_dict()
        lm = [k for k in initial if k.startswith("model.language_model.layers.")]
        vision = [k for k in initial if k.startswith("model.visual.")]
        assert any(not torch.equal(initial[k], reloaded[k]) for k in lm)
        assert all(torch.equal(initial[k], reloaded[k]) for k in vision)
        # one consolidated file, gathered from both ranks, with the original checkpoint's key names
        assert set(load_file(out / "model.safetensors")) == set(load_file(model / "model.safetensors"))

    def test_resume_from_a_zero3_checkpoint(self, tiny, tmp_path):
        model, data = tiny
        out = tmp_path / "out"
        every_2 = ["--save_strategy", "steps", "--save_steps", "2"]
        launch(tmp_path, model, data, out, *every_2, "--max_steps", "2")
        launch(tmp_path, model, data, out, *every_2, "--max_steps", "3", "--resume_from_checkpoint", "true")
        assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 3
        steps = {json.loads(x)["step"] for x in (out / "rollouts.jsonl").read_text().splitlines()}
        assert steps == {0, 1, 2}


class TestSftZero3TwoRanks:
    def test_sft_under_zero3_on_two_ranks_trains_the_language_model_only(self, tiny, tmp_path):
        """`torchrun -m gui_agent_rl.sft` as the 7B SFT recipe runs it: ZeRO-3, vision frozen."""
        model, data = tiny
        out = tmp_path / "sft"
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "gui_agent_rl.sft", "--config", str(ROOT / "recipes" / "tiny-cpu-sft.yaml"),
            "--model_name_or_path", str(model), "--data_file_paths", str(data),
            "--image_folders", str(data.parent), "--output_dir", str(out), "--max_steps", "2",
            "--per_device_train_batch_size", "2", "--freeze_vision_modules", "true",
            "--deepspeed", str(tiny_zero3_config(tmp_path)),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        result = subprocess.run(
            cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540
        )
        assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]
        from transformers import AutoModelForImageTextToText, AutoProcessor

        reloaded = AutoModelForImageTextToText.from_pretrained(out).state_dict()
        initial = AutoModelForImageTextToText.from_pretrained(model).state_dict()
        lm = [k for k in initial if k.startswith("model.language_model.layers.")]
        vision = [k for k in initial if k.startswith("model.visual.")]
        assert any(not torch.equal(initial[k], reloaded[k]) for k in lm)
        assert all(torch.equal(initial[k], reloaded[k]) for k in vision)
        AutoProcessor.from_pretrained(out)  # the whole processor, so predict and train load it
