"""Recipe parsing, the seed's argument forms, shipped DeepSpeed configs, and the one-line early errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.train.config import (
    DEEPSPEED_CONFIGS,
    ConfigError,
    parse_train_args,
    resolve_deepspeed,
    split_joined,
)
from gui_agent_rl.train.grpo import resume_target
from gui_agent_rl.train.model import LANGUAGE_MODEL_LORA_TARGETS
from gui_agent_rl.train.tiny import write_tiny_dataset

pytestmark = pytest.mark.train
ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "tiny-cpu.yaml"
SFT_RECIPES = set((ROOT / "recipes").glob("*sft*.yaml"))  # gui-agent-rl sft; the rest are GRPO


class TestParseTrainArgs:
    def test_recipe_values_and_command_line_overrides(self):
        script, training, model = parse_train_args(
            ["--config", str(RECIPE), "--max_steps", "3", "--num_generations", "2", "--beta", "0.1"]
        )
        assert training.max_steps == 3 and training.beta == 0.1
        assert script.reward_funcs == ["format", "accuracy"] and script.max_pixels == 64 * 28 * 28
        assert model.dtype == "float32"

    def test_seed_forms_colon_joined_paths_and_torch_dtype(self):
        script, _, model = parse_train_args(
            ["--config", str(RECIPE), "--data_file_paths", "a.jsonl:b.jsonl", "--image_folders", "x:y",
             "--torch_dtype", "bfloat16", "--dataset_name", "none", "--freeze_vision_modules", "true"]
        )  # fmt: skip
        assert script.data_file_paths == ["a.jsonl", "b.jsonl"] and script.image_folders == ["x", "y"]
        assert model.dtype == "bfloat16" and script.freeze_vision_modules is True

    def test_indivisible_global_batch_is_a_config_error_naming_the_numbers(self):
        with pytest.raises(ConfigError, match=r"= 3 is not divisible by num_generations \(2\)"):
            parse_train_args(["--config", str(RECIPE), "--per_device_train_batch_size", "3"])

    def test_min_pixels_above_max_pixels_is_rejected(self):
        with pytest.raises(ConfigError, match="min_pixels"):
            parse_train_args(["--config", str(RECIPE), "--min_pixels", "100000"])

    def test_missing_recipe_is_a_config_error(self, tmp_path):
        with pytest.raises(ConfigError, match="no such file"):
            parse_train_args(["--config", str(tmp_path / "nope.yaml")])


class TestShippedRecipes:
    @pytest.mark.parametrize(
        "recipe", sorted(set((ROOT / "recipes").glob("*.yaml")) - SFT_RECIPES), ids=lambda p: p.name
    )
    def test_every_recipe_parses(self, recipe):
        cpu = ["--deepspeed", "none", "--bf16", "false", "--use_cpu", "true", "--report_to", "none",
               "--use_vllm", "false", "--per_device_train_batch_size", "8"]  # fmt: skip
        script, training, _ = parse_train_args(["--config", str(recipe), *cpu])
        assert script.reward_funcs and script.data_file_paths and training.num_generations >= 2

    @pytest.mark.parametrize("recipe", sorted(SFT_RECIPES), ids=lambda p: p.name)
    def test_every_sft_recipe_parses(self, recipe):
        from gui_agent_rl.train.sft import parse_sft_args

        cpu = ["--deepspeed", "none", "--bf16", "false", "--use_cpu", "true", "--report_to", "none"]
        script, training, _ = parse_sft_args(["--config", str(recipe), *cpu])
        assert script.data_file_paths and training.max_length is None and training.completion_only_loss


class TestSplitJoined:
    def test_repeated_and_joined_values_flatten_in_order(self):
        assert split_joined(["a:b", "c"]) == ["a", "b", "c"]
        assert split_joined("x") == ["x"] and split_joined(None) == []


class TestDeepSpeedConfigs:
    @pytest.mark.parametrize("name", DEEPSPEED_CONFIGS)
    def test_shipped_configs_resolve_by_name_and_are_valid(self, name):
        config = json.loads(Path(resolve_deepspeed(name)).read_text())
        stage = config["zero_optimization"]["stage"]
        assert stage == (2 if name == "zero2" else 3)
        assert config["train_micro_batch_size_per_gpu"] == "auto"
        if name == "zero3_offload":
            assert config["zero_optimization"]["offload_param"]["device"] == "cpu"

    def test_invalid_json_fails_before_launch(self, tmp_path):
        bad = tmp_path / "ds.json"
        bad.write_text("{'stage': 3,}")
        with pytest.raises(ConfigError, match="not valid JSON"):
            resolve_deepspeed(str(bad))

    def test_unknown_name_lists_the_shipped_ones(self):
        with pytest.raises(ConfigError, match="zero2, zero3, zero3_offload"):
            resolve_deepspeed("zero4")

    def test_accelerate_configs_are_shipped(self):
        from importlib import resources

        names = {p.name for p in (resources.files("gui_agent_rl.train") / "configs").iterdir()}
        assert {"accelerate_1node_8gpu.yaml", "accelerate_multinode.yaml"} <= names


class TestResumeTarget:
    def test_true_without_checkpoints_is_an_error(self, tmp_path):
        with pytest.raises(ConfigError, match="no checkpoint"):
            resume_target("true", str(tmp_path))

    def test_false_and_paths(self, tmp_path):
        assert resume_target("false", str(tmp_path)) is None
        (tmp_path / "checkpoint-5").mkdir()
        assert resume_target("true", str(tmp_path)) is True
        assert resume_target(str(tmp_path / "checkpoint-5"), str(tmp_path)) == str(tmp_path / "checkpoint-5")
        with pytest.raises(ConfigError):
            resume_target(str(tmp_path / "checkpoint-9"), str(tmp_path))


class TestLoraTargets:
    def test_regex_matches_language_model_linears_only(self):
        import re

        assert re.fullmatch(LANGUAGE_MODEL_LORA_TARGETS, "model.language_model.layers.0.mlp.gate_proj")
        assert re.fullmatch(LANGUAGE_MODEL_LORA_TARGETS, "model.language_model.layers.3.self_attn.q_proj")
        assert not re.fullmatch(LANGUAGE_MODEL_LORA_TARGETS, "model.visual.blocks.0.mlp.gate_proj")
        assert not re.fullmatch(LANGUAGE_MODEL_LORA_TARGETS, "model.visual.merger.mlp.0")


class TestEarlyErrors:
    """``gui-agent-rl train`` stops with exit 2 and one line before any model is loaded."""

    @pytest.fixture
    def data(self, tmp_path):
        return write_tiny_dataset(tmp_path / "data", n_samples=2)

    def run(self, capsys, *args: str) -> str:
        argv = ["train", "--config", str(RECIPE), "--model_name_or_path", "unused", *args]
        assert cli_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        return err[0]

    def test_batch_not_divisible_by_generations(self, capsys, data):
        msg = self.run(capsys, "--data_file_paths", str(data), "--num_generations", "3")
        assert "not divisible by num_generations (3)" in msg

    def test_missing_image_folder(self, capsys, data, tmp_path):
        msg = self.run(capsys, "--data_file_paths", str(data), "--image_folders", str(tmp_path / "nope"))
        assert "image folder not found" in msg

    def test_missing_image_file_names_sample_and_path(self, capsys, data):
        (data.parent / "screens" / "1_cur.png").unlink()
        msg = self.run(capsys, "--data_file_paths", str(data), "--image_folders", str(data.parent))
        assert "1 image files not found" in msg and "id tiny-1" in msg and "1_cur.png" in msg

    def test_unknown_reward_name(self, capsys, data):
        msg = self.run(capsys, "--data_file_paths", str(data), "--reward_funcs", "format", "acuracy")
        assert "acuracy" in msg

    def test_empty_data(self, capsys, tmp_path):
        empty = tmp_path / "empty.jsonl"
        empty.write_text("\n")
        assert "no samples" in self.run(capsys, "--data_file_paths", str(empty))

    def test_invalid_deepspeed_json(self, capsys, data, tmp_path):
        bad = tmp_path / "ds.json"
        bad.write_text("{not json")
        msg = self.run(capsys, "--data_file_paths", str(data), "--deepspeed", str(bad))
        assert "not valid JSON" in msg

    def test_text_only_and_image_prompts_in_one_generation_batch(self, capsys, data, tmp_path):
        lines = data.read_text(encoding="utf-8").splitlines()
        text_only = json.loads(lines[0])
        del text_only["image"], text_only["image_sizes"]
        text_only["id"], text_only["conversations"][0]["value"] = "t", "没有图片"
        mixed = tmp_path / "mixed.jsonl"
        mixed.write_text(
            "\n".join([lines[1], json.dumps(text_only, ensure_ascii=False)]) + "\n", encoding="utf-8"
        )
        args = ["--data_file_paths", str(mixed), "--image_folders", str(data.parent)]
        msg = self.run(capsys, *args, "--per_device_train_batch_size", "4")
        assert "1 text-only and 1 image samples" in msg

    def test_bad_jsonl_line_names_file_and_line(self, capsys, tmp_path):
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"id": 1}\n{oops\n')
        msg = self.run(capsys, "--data_file_paths", str(bad))
        assert f"{bad}:1:" in msg

    def test_unknown_per_sample_accuracy_method(self, capsys, data, tmp_path):
        lines = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
        lines[-1]["accu_reward_method"] = "llm"
        odd = tmp_path / "odd.jsonl"
        odd.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        msg = self.run(capsys, "--data_file_paths", str(odd), "--image_folders", str(data.parent))
        assert "accu_reward_method 'llm'" in msg and "not an accuracy method" in msg

    def test_reward_weights_count_mismatch(self, capsys, data):
        msg = self.run(capsys, "--data_file_paths", str(data), "--reward_weights", "1.0")
        assert "1 reward_weights for 2 reward_funcs" in msg


class TestSizing:
    def test_zero3_partitions_optimizer_and_reference_over_ranks(self):
        from gui_agent_rl.train.sizing import SizingInputs, estimate_memory

        eight = estimate_memory(SizingInputs(zero_stage=3, num_gpus=8, reference_model=True)).parts_gib
        forty = estimate_memory(SizingInputs(zero_stage=3, num_gpus=40, reference_model=True)).parts_gib
        assert forty["optimizer"] == pytest.approx(eight["optimizer"] / 5)
        assert forty["reference"] < eight["reference"]

    def test_lora_and_frozen_vision_shrink_trainable_state(self):
        from gui_agent_rl.train.sizing import SizingInputs, estimate_memory

        full = estimate_memory(SizingInputs(freeze_vision=False)).parts_gib["optimizer"]
        frozen = estimate_memory(SizingInputs(freeze_vision=True)).parts_gib["optimizer"]
        lora = estimate_memory(SizingInputs(lora_fraction=0.01)).parts_gib["optimizer"]
        assert lora < frozen < full
