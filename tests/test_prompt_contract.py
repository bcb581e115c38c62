"""The contract between a prompt and the rewards: a model that writes exactly what its prompt states
scores full marks on ``format``, ``format_strict`` and ``accuracy``; builds record that form per sample
(``output_format``), and ``score`` / ``eval`` / training pass it to the rewards."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import gui_agent_rl.cli as cli
from gui_agent_rl.cli import data as data_cli
from gui_agent_rl.cli import score as score_cli
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import (
    ANSWER_FORMAT_INSTRUCTION,
    append_answer_format,
    load_prompt,
    prompt_output_format,
)
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.scoring import evaluate, reward_columns
from gui_agent_rl.rewards import RewardSettings, get_reward_funcs
from gui_agent_rl.schemas import (
    THINK_FIELDS,
    Sample,
    iter_jsonl,
    matches_output_format,
    read_samples,
    render_completion,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
THINK = {field: f"{field} 的内容" for field in THINK_FIELDS}
BACK = '{"action_type": "back", "action_parameter": {"back": ""}, "action_description": "返回"}'
ORIGINAL = RewardSettings(coordinate_frame="original", normalize_format=True)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def only_data_and_score(monkeypatch):
    """Parse with the build and score subcommands only, so other command modules cannot break these."""
    monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli, score_cli])


def columns_of(samples: list[Sample]) -> dict[str, list]:
    return {
        "solution": [s.solution for s in samples],
        "image_sizes": [[list(wh) for wh in s.image_sizes or []] for s in samples],
        "output_format": [s.output_format for s in samples],
        "id": [s.id for s in samples],
    }


class TestPackagedPromptsRoundTrip:
    @pytest.mark.parametrize(("think", "form"), [(False, "answer"), (True, "think")])
    def test_gold_action_in_the_stated_form_scores_one_on_every_reward(self, tmp_path, think, form):
        out = tmp_path / "d.jsonl"
        build_dataset(EXAMPLES / "corpus", out, prompt=load_prompt(think=think))
        samples = list(read_samples(out))
        assert len(samples) == 30 and {s.output_format for s in samples} == {form}
        completions = [render_completion(s.solution, s.output_format, THINK) for s in samples]
        funcs = get_reward_funcs(["format", "format_strict", "accuracy"], ORIGINAL)
        for func in funcs:
            scores = func(prompts=[s.prompt for s in samples], completions=completions, **columns_of(samples))
            assert scores == [1.0] * 30, func.__name__

    @pytest.mark.parametrize("think", [False, True])
    def test_the_resized_frame_scores_one_too_when_coordinates_are_resized(self, tmp_path, think):
        from gui_agent_rl.schemas import ImageFrame, parse_action
        from gui_agent_rl.schemas.geometry import Box

        out = tmp_path / "d.jsonl"
        build_dataset(EXAMPLES / "corpus", out, prompt=load_prompt(think=think))
        samples = [s for s in read_samples(out) if parse_action(s.solution).action_type == "click"]
        assert samples
        completions = []
        for s in samples:
            action = json.loads(s.solution)
            frame = ImageFrame(*s.image_sizes[-1])
            box = Box(*map(int, action["action_parameter"]["click"].split(",")))
            resized = frame.convert_box(box, "original", "resized")
            action["action_parameter"]["click"] = ",".join(str(round(v)) for v in resized.as_tuple())
            completions.append(
                render_completion(json.dumps(action, ensure_ascii=False), s.output_format, THINK)
            )
        (accuracy,) = get_reward_funcs(["accuracy"])
        assert accuracy(completions=completions, **columns_of(samples)) == [1.0] * len(samples)

    def test_the_shipped_example_dataset_states_the_answer_form(self):
        assert {s.output_format for s in read_samples(EXAMPLES / "corpus.jsonl")} == {"answer"}

    def test_a_completion_in_the_other_form_fails_strict(self):
        answer_form = render_completion(BACK, "answer")
        think_form = render_completion(BACK, "think", THINK)
        assert matches_output_format(answer_form, "answer") and matches_output_format(think_form, "think")
        assert not matches_output_format(answer_form, "think")
        assert not matches_output_format(think_form, "answer")


class TestRenderCompletion:
    def test_answer_form_is_the_answer_block_alone_and_ignores_a_think(self):
        assert render_completion(BACK, "answer", THINK) == f"<answer>{BACK}</answer>"

    def test_think_form_dumps_a_dict_and_keeps_json_text(self):
        rendered = render_completion(BACK, "think", THINK)
        assert rendered.startswith("<think>{") and rendered.endswith(f"</think>\n<answer>{BACK}</answer>")
        assert json.loads(rendered[len("<think>") : rendered.index("</think>")]) == THINK
        assert render_completion("{}", "think", '{"a": 1}') == '<think>{"a": 1}</think>\n<answer>{}</answer>'

    def test_think_form_without_a_think_raises(self):
        with pytest.raises(ValueError, match="think"):
            render_completion(BACK, "think")
        with pytest.raises(ValueError, match="think"):
            render_completion(BACK)  # think is the default form

    def test_unknown_form_raises(self):
        with pytest.raises(ValueError, match="unknown output format 'json'"):
            render_completion(BACK, "json", THINK)


class TestPromptHelpers:
    def test_output_format_follows_the_think_tag(self):
        assert prompt_output_format("请在 <answer></answer> 中回答") == "answer"
        assert prompt_output_format("先 <think> 再 <answer>") == "think"
        assert prompt_output_format(append_answer_format("你好")) == "think"

    def test_instruction_is_vlm_r1_sentence_on_its_own_line(self):
        assert ANSWER_FORMAT_INSTRUCTION == (
            "First output the thinking process in <think> </think> tags and then output the final answer "
            "in <answer> </answer> tags."
        )
        assert append_answer_format("前缀:") == f"前缀:\n{ANSWER_FORMAT_INSTRUCTION}\n"
        assert append_answer_format("前缀:\n") == f"前缀:\n{ANSWER_FORMAT_INSTRUCTION}\n"

    def test_build_rejects_an_unknown_output_format(self, tmp_path):
        with pytest.raises(ValueError, match="unknown output format"):
            build_dataset(EXAMPLES / "corpus", tmp_path / "d.jsonl", prompt="p", output_format="bare")


@pytest.mark.usefixtures("only_data_and_score")
class TestBuildCommand:
    @pytest.mark.parametrize(("flag", "form"), [((), "answer"), (("--think",), "think")])
    def test_packaged_prompts_record_their_form(self, tmp_path, capsys, flag, form):
        out = tmp_path / "d.jsonl"
        code, _, _ = run_cli(capsys, "build", EXAMPLES / "corpus", "-o", out, *flag)
        assert code == 0
        assert {s.output_format for s in read_samples(out)} == {form}

    def test_append_answer_format_appends_the_sentence_and_states_think(self, tmp_path, capsys, caplog):
        prefix = tmp_path / "p.txt"
        prefix.write_text("你是手机助手。输入:", encoding="utf-8")
        out = tmp_path / "d.jsonl"
        with caplog.at_level(logging.WARNING):
            argv = ["build", EXAMPLES / "corpus", "-o", out, "--prompt", prefix, "--append-answer-format"]
            code, _, _ = run_cli(capsys, *argv)
        assert code == 0 and not [r for r in caplog.records if "never mentions" in r.getMessage()]
        samples = list(read_samples(out))
        assert {s.output_format for s in samples} == {"think"}
        expected = f"你是手机助手。输入:\n{ANSWER_FORMAT_INSTRUCTION}\n{{"
        assert all(s.prompt.startswith(expected) for s in samples)

    def test_a_prefix_without_answer_tags_warns_once_naming_the_file(self, tmp_path, capsys, caplog):
        prefix = tmp_path / "bare.txt"
        prefix.write_text("只输出一个 JSON 对象:", encoding="utf-8")
        with caplog.at_level(logging.WARNING):
            code, _, _ = run_cli(capsys, "build", EXAMPLES / "corpus", "-o", tmp_path / "d.jsonl",
                                 "--prompt", prefix)  # fmt: skip
        assert code == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and str(prefix) in warnings[0] and "<answer>" in warnings[0]
        assert "\n" not in warnings[0]
        assert {s.output_format for s in read_samples(tmp_path / "d.jsonl")} == {"answer"}

    def test_a_prefix_stating_the_answer_block_does_not_warn(self, tmp_path, capsys, caplog):
        prefix = tmp_path / "p.txt"
        prefix.write_text("输出 <answer>{动作}</answer>:", encoding="utf-8")
        with caplog.at_level(logging.WARNING):
            code, _, _ = run_cli(capsys, "build", EXAMPLES / "corpus", "-o", tmp_path / "d.jsonl",
                                 "--prompt", prefix)  # fmt: skip
        assert code == 0 and not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def test_append_answer_format_needs_a_prompt_file(self, tmp_path, capsys):
        code, _, err = run_cli(
            capsys, "build", EXAMPLES / "corpus", "-o", tmp_path / "d.jsonl", "--append-answer-format"
        )
        assert code == 2 and "--append-answer-format needs --prompt" in err and "Traceback" not in err


def _answer_sample(sid: int, form: str | None) -> Sample:
    return Sample.model_validate(
        {
            "id": sid,
            "conversations": [{"from": "human", "value": "任务"}, {"from": "gpt", "value": BACK}],
            **({"output_format": form} if form else {}),
        }
    )


class TestScoringPassesTheForm:
    def test_reward_columns_carry_output_format(self):
        rows = [Scored(_answer_sample(1, "answer"), ""), Scored(_answer_sample(2, None), "")]
        assert reward_columns(rows)["output_format"] == ["answer", None]

    def test_eval_format_rate_and_rewards_follow_each_samples_form(self):
        answer_only = render_completion(BACK, "answer")
        with_think = render_completion(BACK, "think", THINK)
        rows = [
            Scored(_answer_sample(1, "answer"), answer_only),  # well-formed
            Scored(_answer_sample(2, "answer"), with_think),  # a think block the prompt did not ask for
            Scored(_answer_sample(3, None), with_think),  # no key: think form, well-formed
            Scored(_answer_sample(4, "think"), answer_only),  # think missing
        ]
        settings = RewardSettings(normalize_format=True)
        ev = evaluate(rows, settings=settings, reward_names=["format", "format_strict"])
        assert ev.metrics["format_rate"] == 0.5 and ev.metrics["step_success"] == 1.0
        assert [r.rewards["format_strict"] for r in ev.results] == [1.0, 0.0, 1.0, 0.0]
        assert [r.rewards["format"] for r in ev.results] == [1.0, 1.0, 1.0, 0.4]

    def test_forced_form_overrides_the_samples(self):
        rows = [Scored(_answer_sample(1, "think"), render_completion(BACK, "answer"))]
        ev = evaluate(rows, settings=RewardSettings(output_format="answer"), reward_names=["format_strict"])
        assert ev.metrics["format_rate"] == 1.0 and ev.results[0].rewards["format_strict"] == 1.0

    @pytest.mark.usefixtures("only_data_and_score")
    def test_score_command_passes_each_samples_form(self, tmp_path, capsys):
        data = tmp_path / "d.jsonl"
        build_dataset(EXAMPLES / "corpus", data, prompt=load_prompt())
        samples = list(read_samples(data))
        preds = tmp_path / "p.jsonl"
        lines = [{"id": s.id, "completion": render_completion(s.solution, "answer")} for s in samples]
        preds.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        out = tmp_path / "scores.jsonl"
        argv = ["score", "--dataset", data, "--predictions", preds, "--output", out, "--frame", "original"]
        code, stdout, _ = run_cli(
            capsys, *argv, "--rewards", "format", "format_strict", "accuracy", "--normalize-format"
        )
        assert code == 0, stdout
        for _, row in iter_jsonl(out):
            assert (row["format"], row["format_strict"], row["accuracy"]) == (1.0, 1.0, 1.0)
        code, _, _ = run_cli(capsys, *argv, "--rewards", "format_strict", "--output-format", "think")
        assert code == 0
        assert {row["format_strict"] for _, row in iter_jsonl(out)} == {0.0}


class TestTrainingRows:
    def test_rows_carry_output_format_to_the_rewards(self, tmp_path):
        pytest.importorskip("datasets")
        from gui_agent_rl.train.data import build_train_dataset, load_records, pair_sources

        data = tmp_path / "d.jsonl"
        build_dataset(EXAMPLES / "corpus", data, prompt=load_prompt(think=True))
        records = load_records(pair_sources([data], [EXAMPLES / "corpus"]))
        row = build_train_dataset(records[:1], max_pixels=64 * 28 * 28)[0]
        assert row["output_format"] == "think"
