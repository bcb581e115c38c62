"""Two GRPO steps on CPU with the tiny Qwen2.5-VL: full fine-tuning, frozen vision, LoRA, beta > 0, resume.

The production rewards score a random model's gibberish 0 for every completion, which gives zero
advantages and no update; these tests add ``varied_reward`` (distinct characters per completion) so
that gradients flow and "which parameters changed" is observable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from safetensors.torch import load_file  # noqa: E402

from gui_agent_rl.schemas import completion_text  # noqa: E402
from gui_agent_rl.train.config import parse_train_args  # noqa: E402
from gui_agent_rl.train.grpo import train  # noqa: E402
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.train]
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu.yaml"


def varied_reward(completions, **kwargs):
    """Distinct characters / 10: differs between a prompt's two generations, so advantages are non-zero."""
    return [len(set(completion_text(c))) / 10 for c in completions]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    model = build_tiny_model(root / "model")
    data = write_tiny_dataset(root / "data", n_samples=4)
    return model, data


def run_grpo(tiny, out: Path, *overrides: str):
    model, data = tiny
    argv = [
        "--config", str(RECIPE),
        "--model_name_or_path", str(model),
        "--data_file_paths", str(data),
        "--image_folders", str(data.parent),
        "--output_dir", str(out),
        "--reward_funcs", "format", "accuracy", "test_grpo_cpu:varied_reward",
        "--reward_weights", "1.0", "1.0", "1.0",
        *overrides,
    ]  # fmt: skip
    return train(*parse_train_args(argv))


def changed(before: dict, after: dict, prefix: str) -> set[str]:
    keys = [k for k in before if k.startswith(prefix)]
    assert keys, f"no tensors under {prefix}"
    return {k for k in keys if not torch.equal(before[k], after[k])}


class TestFullFineTuning:
    def test_two_steps_update_language_model_and_vision_and_save_everything(self, tiny, tmp_path):
        trainer = run_grpo(tiny, tmp_path / "out")
        before = load_file(tiny[0] / "model.safetensors")
        after = load_file(tmp_path / "out" / "model.safetensors")
        assert changed(before, after, "model.layers.")
        assert changed(before, after, "visual.blocks.")
        assert trainer.state.global_step == 2
        for name in ("trainer_state.json", "processor_config.json", "tokenizer.json", "chat_template.jinja"):
            assert (tmp_path / "out" / name).is_file(), name
        history = json.loads((tmp_path / "out" / "trainer_state.json").read_text())["log_history"]
        assert any("rewards/varied_reward/mean" in h and "rewards/format/mean" in h for h in history)

    def test_rollout_log_has_step_id_completion_and_each_reward(self, tiny, tmp_path):
        run_grpo(tiny, tmp_path / "out")
        lines = [json.loads(x) for x in (tmp_path / "out" / "rollouts.jsonl").read_text().splitlines()]
        assert len(lines) == 2 * 2  # two steps x (one prompt x two generations)
        assert {line["step"] for line in lines} == {0, 1}
        assert all(line["id"].startswith("tiny-") for line in lines)
        assert all(set(line["rewards"]) == {"format", "accuracy", "varied_reward"} for line in lines)
        assert all(
            line["rewards"]["varied_reward"] == varied_reward([line["completion"]])[0] for line in lines
        )


class TestFrozenVision:
    def test_vision_tower_unchanged_language_model_changed(self, tiny, tmp_path):
        run_grpo(tiny, tmp_path / "out", "--freeze_vision_modules", "true")
        before = load_file(tiny[0] / "model.safetensors")
        after = load_file(tmp_path / "out" / "model.safetensors")
        assert changed(before, after, "visual.") == set()
        assert changed(before, after, "model.layers.")

    def test_merger_trains_when_asked(self, tiny, tmp_path):
        run_grpo(tiny, tmp_path / "out", "--freeze_vision_modules", "true", "--freeze_vision_merger", "false")
        before = load_file(tiny[0] / "model.safetensors")
        after = load_file(tmp_path / "out" / "model.safetensors")
        assert changed(before, after, "visual.blocks.") == set()
        assert changed(before, after, "visual.merger.")


class TestLora:
    def test_adapter_only_on_language_model_and_trained(self, tiny, tmp_path):
        trainer = run_grpo(tiny, tmp_path / "out", "--use_peft", "true", "--lora_r", "4")
        adapter = load_file(tmp_path / "out" / "adapter_model.safetensors")
        lora_keys = [k for k in adapter if "lora_" in k]
        assert lora_keys and all("language_model" in k for k in lora_keys)
        assert any(torch.count_nonzero(adapter[k]) for k in lora_keys if "lora_B" in k)  # B starts at zero
        visual_lora = [n for n, _ in trainer.model.named_parameters() if "visual" in n and "lora_" in n]
        assert visual_lora == []
        assert (tmp_path / "out" / "processor_config.json").is_file()


class TestReferenceModel:
    def test_beta_above_zero_builds_reference_and_logs_kl(self, tiny, tmp_path):
        trainer = run_grpo(tiny, tmp_path / "out", "--beta", "0.04", "--freeze_vision_modules", "true")
        assert trainer.ref_model is not None
        assert type(trainer.ref_model).__name__ == "Qwen2_5_VLForConditionalGeneration"
        assert any("kl" in h for h in trainer.state.log_history)


class TestResume:
    def test_resume_continues_from_last_checkpoint(self, tiny, tmp_path):
        out = tmp_path / "out"
        run_grpo(tiny, out, "--save_strategy", "steps", "--save_steps", "1", "--max_steps", "2")
        assert (out / "checkpoint-2").is_dir()
        trainer = run_grpo(
            tiny, out, "--save_strategy", "steps", "--save_steps", "1", "--max_steps", "3",
            "--resume_from_checkpoint", "true",
        )  # fmt: skip
        assert trainer.state.global_step == 3
        steps = {json.loads(x)["step"] for x in (out / "rollouts.jsonl").read_text().splitlines()}
        assert steps == {0, 1, 2}  # the resumed run appended only step 2


class TestMixedSamples:
    def test_text_only_one_and_two_image_samples_train_in_one_run(self, tiny, tmp_path):
        data = tiny[1]
        rows = [json.loads(x) for x in data.read_text(encoding="utf-8").splitlines()]
        text_only = {**rows[0], "id": "text-only", "conversations": [
            {"from": "human", "value": "没有图片的任务"}, rows[0]["conversations"][1]]}  # fmt: skip
        del text_only["image"], text_only["image_sizes"]
        one = {
            **rows[1],
            "id": "one-image",
            "image": rows[1]["image"][1:],
            "image_sizes": rows[1]["image_sizes"][1:],
        }
        one["conversations"] = [{"from": "human", "value": "当前屏<image>"}, rows[1]["conversations"][1]]
        mixed = data.parent / "mixed.jsonl"
        mixed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [text_only, one, rows[2]]))
        out = tmp_path / "out"
        run_grpo(tiny, out, "--data_file_paths", str(mixed), "--max_steps", "6", "--data_seed", "1")
        ids = {json.loads(x)["id"] for x in (out / "rollouts.jsonl").read_text().splitlines()}
        assert ids == {"text-only", "one-image", "tiny-2"}
