"""SFT warm start: targets in the stated form, completion-only loss, a checkpoint GRPO and predict take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from gui_agent_rl.cli import main as cli_main  # noqa: E402
from gui_agent_rl.rewards import get_reward_funcs  # noqa: E402
from gui_agent_rl.schemas import THINK_FIELDS, ThinkBlock, parse_completion  # noqa: E402
from gui_agent_rl.train.data import DataError  # noqa: E402
from gui_agent_rl.train.sft import (  # noqa: E402
    SftRowTransform,
    build_sft_dataset,
    parse_sft_args,
    sft_target,
    template_think,
    train_sft,
)
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset  # noqa: E402

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu-sft.yaml"
BACK = '{"action_type": "back", "action_parameter": {"back": ""}, "action_description": "返回"}'
GOLD = {f: f"gold {f}" for f in THINK_FIELDS}
HUMAN = 'Prefix {"task_content": "打开设置", "history_path_all": ["打开APP"], "screen_path2": "<image>"}'


def record(**kw) -> dict:
    base = {"id": 1, "human": HUMAN, "solution": BACK, "output_format": "answer", "think": None}
    return base | kw


class TestTargets:
    def test_answer_mode_target_is_the_bare_answer_pair(self):
        assert sft_target(record(), "auto") == f"<answer>{BACK}</answer>"

    def test_think_mode_uses_the_gold_think_block(self):
        target = sft_target(record(output_format="think", think=json.dumps(GOLD)), "auto")
        assert parse_completion(target).think == GOLD
        assert target.endswith(f"<answer>{BACK}</answer>")

    def test_think_mode_without_gold_assembles_a_valid_block_from_the_sample(self):
        target = sft_target(record(output_format="think"), "auto")
        think = parse_completion(target).think
        ThinkBlock.model_validate(think)  # four non-blank fields
        assert think["task_interpretation"] == "打开设置"
        assert "打开APP" in think["path_alignment_check"]
        assert "返回" in think["action_validation"]

    def test_absent_output_format_means_think_as_in_vlm_r1(self):
        assert sft_target(record(output_format=None), "auto").startswith("<think>{")

    def test_gold_source_refuses_a_sample_without_a_think_block(self):
        with pytest.raises(DataError, match="id 7: no gold think block"):
            sft_target(record(id=7, output_format="think"), "gold")

    def test_template_source_ignores_the_gold_block(self):
        target = sft_target(record(output_format="think", think=json.dumps(GOLD)), "template")
        assert parse_completion(target).think["task_interpretation"] == "打开设置"

    @pytest.mark.parametrize("fmt", ["answer", "think"])
    def test_targets_earn_full_format_and_accuracy(self, fmt):
        target = sft_target(record(output_format=fmt), "auto")
        cols = {"solution": [BACK], "output_format": [fmt]}
        fmt_r, strict, acc = get_reward_funcs(["format", "format_strict", "accuracy"])
        assert strict(completions=[target], **cols) == [1.0]
        assert acc(completions=[target], **cols) == [1.0]
        assert fmt_r(completions=[target], **cols)[0] == (2.5 if fmt == "think" else 1.0)

    def test_template_reads_a_prompt_without_an_input_object(self):
        think = template_think("no json here", BACK)
        assert think["task_interpretation"] and think["path_alignment_check"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    model = build_tiny_model(root / "model")
    data = write_tiny_dataset(root / "data", n_samples=4)
    return model, data


def sft_argv(tiny, out: Path, *overrides: str) -> list[str]:
    model, data = tiny
    return [
        "--config", str(RECIPE), "--model_name_or_path", str(model), "--data_file_paths", str(data),
        "--image_folders", str(data.parent), "--output_dir", str(out), *overrides,
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.train
class TestSftRun:
    def test_labels_cover_the_completion_only(self, tiny, tmp_path):
        script, _, _ = parse_sft_args(sft_argv(tiny, tmp_path / "o"))
        from gui_agent_rl.train.data import load_records, pair_sources

        records = load_records(pair_sources(script.data_file_paths, script.image_folders))
        dataset = build_sft_dataset(records, "auto", script.max_pixels, script.min_pixels)
        assert isinstance(dataset._format_kwargs.get("transform"), SftRowTransform)
        from transformers import AutoProcessor
        from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

        processor = AutoProcessor.from_pretrained(tiny[0])
        collator = DataCollatorForVisionLanguageModeling(processor, completion_only_loss=True)
        batch = collator([dataset[0]])
        labelled = batch["labels"][0][batch["labels"][0] != -100]
        text = processor.tokenizer.decode(labelled)
        assert text.startswith("<think>") and "</answer><|im_end|>" in text
        assert "<|image_pad|>" not in text and "任务" not in text  # no prompt token is a target

    def test_loss_falls_and_the_checkpoint_feeds_grpo_and_predict(self, tiny, tmp_path):
        out = tmp_path / "sft"
        trainer = train_sft(*parse_sft_args(sft_argv(tiny, out, "--max_steps", "12")))
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        assert losses[-1] < losses[0] - 0.5, losses
        assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
        assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 12
        data = tiny[1]
        grpo = [
            "train", "--config", str(RECIPE.with_name("tiny-cpu.yaml")), "--model_name_or_path", str(out),
            "--data_file_paths", str(data), "--image_folders", str(data.parent),
            "--output_dir", str(tmp_path / "grpo"), "--max_steps", "1",
        ]  # fmt: skip
        assert cli_main(grpo) == 0
        pred = tmp_path / "pred.jsonl"
        predict = ["predict", "--model", str(out), "--dataset", str(data), "--output", str(pred)]
        assert cli_main([*predict, "--max-new-tokens", "8"]) == 0
        assert len(pred.read_text().splitlines()) == 4

    def test_lora_adapter_is_merged_into_full_weights(self, tiny, tmp_path):
        out = tmp_path / "lora"
        train_sft(*parse_sft_args(sft_argv(tiny, out, "--max_steps", "1", "--use_peft", "true")))
        assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
        from transformers import AutoModelForImageTextToText

        AutoModelForImageTextToText.from_pretrained(out)


class TestSftCli:
    def test_missing_data_is_one_line(self, tmp_path, capsys):
        code = cli_main(["sft", "--config", str(RECIPE), "--data_file_paths", str(tmp_path / "no.jsonl")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "data file not found" in err[0]

    def test_unknown_think_source_is_refused(self, capsys):
        with pytest.raises(SystemExit) as exc:
            parse_sft_args(["--config", str(RECIPE), "--think_source", "bogus"])
        assert exc.value.code == 2

    def test_missing_recipe_is_one_line(self, tmp_path, capsys):
        assert cli_main(["sft", "--config", str(tmp_path / "none.yaml")]) == 2
        assert "no such file" in capsys.readouterr().err


def test_module_entry_point_is_what_torchrun_starts(tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-m", "gui_agent_rl.sft", "--config", str(RECIPE)]
    argv += ["--data_file_paths", str(tmp_path / "x.jsonl")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("gui_agent_rl.sft: error:")


def test_a_step_files_gold_think_block_reaches_the_sft_target(corpus, tmp_path):
    from gui_agent_rl.datagen.build import build_dataset
    from gui_agent_rl.datagen.prompts import load_prompt
    from gui_agent_rl.train.data import load_records, pair_sources

    step = corpus.step("7", 0)
    record = json.loads(step.read_text(encoding="utf-8"))
    step.write_text(json.dumps(record | {"think": GOLD}, ensure_ascii=False), encoding="utf-8")
    corpus.step("7", 1)  # no think block
    bad = corpus.step("7", 2)
    bad.write_text(json.dumps(record | {"think": {"task_interpretation": "x"}}), encoding="utf-8")
    out = tmp_path / "d.jsonl"
    summary = build_dataset(corpus.root, out, prompt=load_prompt(think=True))
    assert dict(summary.rejected) == {"schema": 1}  # an incomplete think block is reported
    first, second = load_records(pair_sources([out], [corpus.root]))
    assert parse_completion(sft_target(first, "gold")).think == GOLD
    assert second["think"] is None
    with pytest.raises(DataError, match="no gold think block"):
        sft_target(second, "gold")
