"""A text-only prompt on one rank and an image prompt on the other (two ranks, ZeRO-3, gloo).

Two things broke it, both because the ranks stop making the same collective calls:

- TRL 1.16 gathers the batch's images for its completion logs (``log_multimodal``, on by default) only
  on ranks whose batch has images: the image rank waits in ``gather_object`` forever (any backend).
- ZeRO-3 gathers a module's parameters when the module runs: the text-only rank skips the vision tower
  the image rank gathers (gloo: "Received data size doesn't match expected size. Is there a distributed
  collective mismatch in your code?"; NCCL: a hang).

The data holds one text-only and one image sample and each rank gets one of them (GRPO: one prompt's
G=2 generations per rank; SFT: one sample per rank), so every step mixes the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")

from test_zero3 import tiny_zero3_config  # noqa: E402

from gui_agent_rl.train.grpo import sync_mixed_ranks  # noqa: E402
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset  # noqa: E402
from gui_agent_rl.train.vision_sync import needs_vision_sync, sync_vision_tower  # noqa: E402

pytestmark = pytest.mark.train
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 420  # a collective mismatch may hang instead of failing: never wait forever


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(tiny model, data.jsonl with one text-only and one two-screenshot sample)."""
    root = tmp_path_factory.mktemp("mix")
    data = write_tiny_dataset(root / "data", n_samples=2)
    rows = [json.loads(x) for x in data.read_text(encoding="utf-8").splitlines()]
    text_only = {**rows[0], "id": "text-only"}
    text_only["conversations"] = [{"from": "human", "value": "没有图片的任务"}, rows[0]["conversations"][1]]
    del text_only["image"], text_only["image_sizes"]
    mixed = data.parent / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [text_only, rows[1]]))
    return build_tiny_model(root / "model"), mixed


def torchrun(tmp_path: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", module, *args, "--deepspeed", str(tiny_zero3_config(tmp_path)),
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: torchrun stops its ranks (SIGKILL on torchrun would orphan them)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"hung for {TIMEOUT_S} s (collective mismatch between ranks?): {err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def common(model: Path, data: Path, out: Path) -> list[str]:
    return [
        "--model_name_or_path", str(model), "--data_file_paths", str(data),
        "--image_folders", str(data.parent), "--output_dir", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_model(mixed):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(mixed[0])
    return model, AutoProcessor.from_pretrained(mixed[0])


def tower_calls(model) -> list[int]:
    calls: list[int] = []
    model.model.visual.register_forward_hook(lambda *_: calls.append(1))
    return calls


def text_inputs(processor):
    return processor(text=["<|im_start|>user\n没有图片的任务<|im_end|>\n"], return_tensors="pt")


class TestBlankImageHook:
    def test_only_multi_process_mixed_data_needs_it(self):
        text, image = {"image_paths": []}, {"image_paths": ["a.png"]}
        assert needs_vision_sync([text, image], world_size=2)
        assert not needs_vision_sync([text, image], world_size=1)
        assert not needs_vision_sync([image, image], world_size=8)
        assert not needs_vision_sync([text, text], world_size=8)

    def test_mixed_ranks_run_the_tower_and_stop_trls_image_gather(self, tiny_model):
        """TRL gathers completion-log images only on ranks that have some: a hang on every backend."""
        import copy
        from types import SimpleNamespace

        model = copy.deepcopy(tiny_model[0])
        trainer = SimpleNamespace(
            accelerator=SimpleNamespace(num_processes=2), model=model, ref_model=None, log_multimodal=True
        )
        sync_mixed_ranks(trainer, [{"image_paths": []}, {"image_paths": ["a.png"]}])
        assert trainer.log_multimodal is False and model.model._gui_vision_sync

    def test_text_only_forward_runs_the_tower_and_keeps_its_logits(self, tiny_model):
        import copy

        model, processor = copy.deepcopy(tiny_model[0]), tiny_model[1]
        inputs = text_inputs(processor)
        expected = model(**inputs).logits
        assert sync_vision_tower(model) == 1 and sync_vision_tower(model) == 0  # once per core module
        calls = tower_calls(model)
        logits = model(**inputs).logits
        assert calls == [1] and torch.equal(logits, expected)
        logits.sum().backward()  # every trainable tower parameter joins backward, with a zero gradient
        grads = [p.grad for p in model.model.visual.parameters()]
        assert all(g is not None and not g.any() for g in grads)

    def test_image_forward_and_decode_steps_are_left_alone(self, tiny_model):
        import copy

        from PIL import Image

        model, processor = copy.deepcopy(tiny_model[0]), tiny_model[1]
        sync_vision_tower(model)
        calls = tower_calls(model)
        prompt = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>点击<|im_end|>\n"
        image = Image.new("RGB", (56, 56), (90, 150, 200))
        model(**processor(text=[prompt], images=[image], return_tensors="pt"))
        assert calls == [1]  # the real image only
        calls.clear()
        model.generate(**text_inputs(processor), max_new_tokens=4, min_new_tokens=4, do_sample=False)
        assert calls == [1]  # the prefill only, not the three decode steps


@pytest.mark.slow
class TestTextAndImageRanksUnderZero3:
    def test_grpo_trains_with_trainable_vision(self, mixed, tmp_path):
        """Vision trainable: the text-only rank must also join the tower's gradient reduction."""
        model, data = mixed
        out = tmp_path / "grpo"
        result = torchrun(
            tmp_path, "gui_agent_rl.train", "--config", str(ROOT / "recipes" / "tiny-cpu.yaml"),
            *common(model, data, out), "--max_steps", "2", "--freeze_vision_modules", "false",
            "--reward_funcs", "format", "test_grpo_cpu:varied_reward", "--reward_weights", "1", "1",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]
        rollouts = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
        rollouts += [json.loads(x) for x in (out / "rollouts-rank1.jsonl").read_text().splitlines()]
        assert {r["id"] for r in rollouts} == {"text-only", "tiny-1"}
        history = json.loads((out / "trainer_state.json").read_text())["log_history"]
        losses = [h["loss"] for h in history if "loss" in h]
        assert len(losses) == 2 and all(x == x for x in losses)  # two steps, no NaN

    def test_sft_trains_with_frozen_vision(self, mixed, tmp_path):
        model, data = mixed
        out = tmp_path / "sft"
        result = torchrun(
            tmp_path, "gui_agent_rl.sft", "--config", str(ROOT / "recipes" / "tiny-cpu-sft.yaml"),
            *common(model, data, out), "--max_steps", "2", "--per_device_train_batch_size", "1",
            "--freeze_vision_modules", "true",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]
        history = json.loads((out / "trainer_state.json").read_text())["log_history"]
        assert [h["step"] for h in history if "loss" in h] == [1, 2]
