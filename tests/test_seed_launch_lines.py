"""The seed's launch lines, pasted as they are, parse into what the seed meant.

The seed's three launches (its notes, "torchrun ... src/open_r1/grpo_jsonl.py \\ ..."; the two multi-node
ones with ``--reward_method llm``) are copied below verbatim from the script path on (torchrun's own
flags dropped; the notes lost the line breaks after each ``\\``). Each is parsed by ``gui-agent-rl
train``'s parser as one of its ranks would: inside the seed's working folder (``local_scripts/zero3.json``
there, as in VLM-R1's ``src/open-r1-multimodal``), under torchrun's variables, with a bf16 GPU stood in.
"""

from __future__ import annotations

import os
import shlex
import shutil
from importlib import resources
from pathlib import Path
from unittest import mock

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from gui_agent_rl.cli import main as cli_main  # noqa: E402
from gui_agent_rl.train.config import ConfigError, parse_train_args  # noqa: E402

pytestmark = pytest.mark.train
ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "tiny-cpu.yaml"
RUN_NAME = "Qwen2.5-VL-7B-GRPO-GUI_multi-image"

# seed notes, section 6 (2 nodes x 8 GPUs); its last flag has four dashes, as the notes print it
SEED_LAUNCH_2_NODES = r"""src/open_r1/grpo_jsonl.py \--deepspeed local_scripts/zero3.json \--output_dir /output_qwen25vl7b_xd/$RUN_NAME \--model_name_or_path /Qwen2.5-VL-7B-Instruct \--dataset_name none \--image_folders /tasks-json-ui-doctor/tasks_json \--data_file_paths /tasks-json-ui-doctor/ui_doctor_dataset.jsonl \--freeze_vision_modules true \--max_prompt_length 4096 \--num_generations 8 \--per_device_train_batch_size 1 \--gradient_accumulation_steps 1 \--logging_steps 1 \--bf16 \--torch_dtype bfloat16 \--data_seed 42 \--report_to "tensorboard" \--logging_dir "/mnt/cluster123" \--gradient_checkpointing true \--attn_implementation flash_attention_2 \--num_train_epochs 2 \--run_name $RUN_NAME \--save_steps 100 \--save_only_model true \----reward_method "llm" """  # noqa: E501
# seed notes, section 14 "new training command" (5 nodes x 8 GPUs)
SEED_LAUNCH_5_NODES = r"""src/open_r1/grpo_jsonl.py \--deepspeed local_scripts/zero3.json \--output_dir /output_qwen25vl7b_xd/$RUN_NAME \--model_name_or_path /Qwen2.5-VL-7B-Instruct \--dataset_name none \--image_folders /tasks-json-ui-doctor-small/tasks_json \--data_file_paths /tasks-json-ui-doctor-json/ui_doctor_dataset0411.jsonl \--freeze_vision_modules true \--max_prompt_length 8192 \--num_generations 4 \--per_device_train_batch_size 2 \--gradient_accumulation_steps 1 \--logging_steps 1 \--bf16 \--torch_dtype bfloat16 \--data_seed 42 \--report_to "tensorboard" \--logging_dir "/mnt/cluster1" \--gradient_checkpointing true \--attn_implementation flash_attention_2 \--num_train_epochs 2 \--run_name $RUN_NAME \--save_steps 100 \--save_only_model true \--reward_method "llm" """  # noqa: E501
# seed notes, section 5: its first launch (1 node x 5 GPUs, accuracy reward), for the bare --bf16 alone
SEED_LAUNCH_1_NODE = r"""src/open_r1/grpo_jsonl.py \--deepspeed local_scripts/zero3.json \--output_dir output/$RUN_NAME \--model_name_or_path /Qwen2.5-VL-7B-Instruct \--dataset_name none \--image_folders /tasks-json-ui-doctor \--data_file_paths /datasets/ui_doctor_dataset.jsonl \--freeze_vision_modules true \--max_prompt_length 4096 \--num_generations 5 \--per_device_train_batch_size 1 \--gradient_accumulation_steps 1 \--logging_steps 1 \--bf16 \--torch_dtype bfloat16 \--data_seed 42 \--report_to none \--gradient_checkpointing true \--attn_implementation flash_attention_2 \--num_train_epochs 1 \--run_name $RUN_NAME \--save_steps 100 \--save_only_model true"""  # noqa: E501

LAUNCHES = {
    "2-nodes": (SEED_LAUNCH_2_NODES, 16, dict(image_folders=["/tasks-json-ui-doctor/tasks_json"],
        data_file_paths=["/tasks-json-ui-doctor/ui_doctor_dataset.jsonl"], max_prompt_length=4096,
        logging_dir="/mnt/cluster123"), dict(num_generations=8, per_device_train_batch_size=1)),
    "5-nodes": (SEED_LAUNCH_5_NODES, 40, dict(image_folders=["/tasks-json-ui-doctor-small/tasks_json"],
        data_file_paths=["/tasks-json-ui-doctor-json/ui_doctor_dataset0411.jsonl"], max_prompt_length=8192,
        logging_dir="/mnt/cluster1"), dict(num_generations=4, per_device_train_batch_size=2)),
}  # fmt: skip


def pasted_args(line: str) -> list[str]:
    """The flags after the script path, as the shell hands them over (line breaks back, $RUN_NAME set)."""
    words = shlex.split(line.replace(" \\--", " --").replace("$RUN_NAME", RUN_NAME))
    assert words[0] == "src/open_r1/grpo_jsonl.py"
    return words[1:]


@pytest.fixture
def seed_folder(tmp_path, monkeypatch):
    """The seed's working folder: VLM-R1's local_scripts/zero3.json (here: the shipped zero3) beside it."""
    (tmp_path / "local_scripts").mkdir()
    shutil.copy(resources.files("gui_agent_rl.train") / "configs" / "zero3.json", tmp_path / "local_scripts")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()


def parse_as_rank(argv: list[str], world_size: int):
    """``parse_train_args(argv)`` as the last rank of a torchrun launch of ``world_size`` GPU processes."""
    from transformers import TrainingArguments

    env = dict(RANK=str(world_size - 1), LOCAL_RANK="7", WORLD_SIZE=str(world_size), LOCAL_WORLD_SIZE="8",
               MASTER_ADDR="127.0.0.1", MASTER_PORT="29500", PATH=os.environ.get("PATH", ""))  # fmt: skip
    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch("transformers.training_args.is_torch_bf16_gpu_available", return_value=True),
        mock.patch.object(TrainingArguments, "_setup_devices", property(lambda self: torch.device("cpu"))),
        mock.patch.object(TrainingArguments, "world_size", property(lambda self: world_size)),
    ):
        return parse_train_args(argv)


class TestSeedLaunchLines:
    @pytest.mark.parametrize("name", list(LAUNCHES))
    def test_pasted_launch_parses_into_what_the_seed_ran(self, name, seed_folder):
        line, world_size, script_expected, training_expected = LAUNCHES[name]
        script, training, model = parse_as_rank(pasted_args(line), world_size)
        for key, value in script_expected.items():
            assert getattr(script, key) == value, key
        for key, value in training_expected.items():
            assert getattr(training, key) == value, key
        assert script.freeze_vision_modules is True and script.dataset_name == "none"
        assert script.reward_method == "llm" and script.reward_funcs == ["format", "llm_judge"]
        assert training.bf16 is True and training.gradient_checkpointing is True
        assert training.save_only_model is True and training.save_steps == 100
        assert training.num_train_epochs == 2 and training.data_seed == 42 and training.logging_steps == 1
        assert training.report_to == ["tensorboard"] and training.run_name == RUN_NAME
        assert training.output_dir == f"/output_qwen25vl7b_xd/{RUN_NAME}"
        assert training.deepspeed == "local_scripts/zero3.json"
        assert model.model_name_or_path == "/Qwen2.5-VL-7B-Instruct"
        assert model.dtype == "bfloat16" and model.attn_implementation == "flash_attention_2"

    def test_the_first_launch_keeps_the_accuracy_reward(self, seed_folder):
        script, training, model = parse_as_rank(pasted_args(SEED_LAUNCH_1_NODE), 5)
        assert script.reward_method is None and script.reward_funcs == ["format", "accuracy"]
        assert training.bf16 is True and training.num_generations == 5 and training.report_to == []
        assert script.data_file_paths == ["/datasets/ui_doctor_dataset.jsonl"] and model.dtype == "bfloat16"

    def test_the_four_dash_flag_is_read_with_a_warning(self, seed_folder, caplog):
        parse_as_rank(pasted_args(SEED_LAUNCH_2_NODES), 16)
        assert "----reward_method read as --reward_method" in caplog.text

    def test_extra_dashes_before_an_unknown_name_stay_an_error(self, capsys):
        # as HfArgumentParser answered the seed's own ----reward_method: "not used" (one line, exit 2)
        assert cli_main(["train", "--config", str(RECIPE), "----no_such_option", "1"]) == 2
        assert "not used by the HfArgumentParser: ['----no_such_option', '1']" in capsys.readouterr().err


CPU = ["--config", str(RECIPE), "--deepspeed", "none", "--use_cpu", "true", "--report_to", "none"]


class TestBareBooleanFlags:
    @pytest.mark.parametrize(("flag", "expected"), [([], None), (["true"], True), (["false"], False)])
    def test_bf16_alone_means_true_and_takes_a_value(self, flag, expected):
        # --bf16 then another option: the pasted form; true/false: the recipe form
        _, training, _ = parse_train_args([*CPU, "--bf16", *flag, "--max_steps", "1"])
        assert training.bf16 is (True if expected is None else expected)

    def test_bf16_alone_at_the_end_of_the_line(self):
        _, training, _ = parse_train_args([*CPU, "--bf16"])
        assert training.bf16 is True

    def test_sft_takes_a_bare_bf16_too(self):
        from gui_agent_rl.train.sft import parse_sft_args

        recipe = ROOT / "recipes" / "tiny-cpu-sft.yaml"
        _, training, _ = parse_sft_args(["--config", str(recipe), *CPU[2:], "--bf16", "--tf32", "false"])
        assert training.bf16 is True and training.tf32 is False

    def test_a_bad_boolean_value_is_still_an_argparse_error(self, capsys):
        with pytest.raises(SystemExit) as exc:
            cli_main(["train", *CPU, "--bf16", "maybe"])
        assert exc.value.code == 2 and "Truthy value expected" in capsys.readouterr().err


class TestRewardMethod:
    def test_llm_replaces_accuracy_by_the_llm_judge(self):
        script, _, _ = parse_train_args([*CPU, "--reward_method", "llm"])
        assert script.reward_funcs == ["format", "llm_judge"]

    def test_map_replaces_accuracy_by_map_and_default_keeps_it(self):
        for method, funcs in (("map", ["format", "map"]), ("default", ["format", "accuracy"])):
            assert parse_train_args([*CPU, "--reward_method", method])[0].reward_funcs == funcs

    def test_reward_weights_keep_their_places(self):
        weighted = ["--reward_funcs", "accuracy", "format", "--reward_weights", "2", "1"]
        script, training, _ = parse_train_args([*CPU, *weighted, "--reward_method", "llm"])
        assert script.reward_funcs == ["llm_judge", "format"] and training.reward_weights == [2.0, 1.0]

    def test_without_an_accuracy_reward_to_replace_it_is_a_config_error(self):
        with pytest.raises(ConfigError, match="replaces the accuracy reward"):
            parse_train_args([*CPU, "--reward_funcs", "format", "--reward_method", "llm"])

    def test_a_vlm_r1_method_without_an_equivalent_exits_2(self, capsys):
        with pytest.raises(SystemExit) as exc:  # mcq, yes_no, math: not GUI actions
            cli_main(["train", *CPU, "--reward_method", "mcq"])
        assert exc.value.code == 2 and "invalid choice: 'mcq'" in capsys.readouterr().err

    def test_help_says_what_llm_does(self, capsys):
        with pytest.raises(SystemExit) as exc:
            cli_main(["train", "--help"])
        assert exc.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "--reward_method {default,llm,map}" in text
        assert "llm replaces the accuracy reward by llm_judge" in text
