"""Issue 11, "numbers that flatter": faithful text matching, the model's frame travelling with its
predictions, the answer read after the thinking, and non-finite or contradictory options refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fake_http import JsonHandler, serving
from hypothesis import given, settings
from hypothesis import strategies as st

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.metrics import MatchRules
from gui_agent_rl.evaluate.predictions import read_predictions, scoring_pixel_limits
from gui_agent_rl.rewards import AccuracyReward, RewardSettings, get_reward_funcs
from gui_agent_rl.rewards.parsing import answer_text, predicted_action
from gui_agent_rl.schemas import Box, ImageFrame, JsonlError

W, H = 1080, 2400
SMALL = 1003520  # every 7B recipe's max_pixels
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu.yaml"
THINK = json.dumps(
    {
        "task_interpretation": "a",
        "current_page_audit": "b",
        "path_alignment_check": "c",
        "action_validation": "d",
    }
)


def act(kind: str, value: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}}, ensure_ascii=False)


def answer(kind: str, value: str = "") -> str:
    return f"<answer>{act(kind, value)}</answer>"


def write_jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def sample(sid: int, truth: str) -> dict:
    return {
        "id": sid,
        "image": "s.png",
        "image_sizes": [[W, H]],
        "conversations": [{"from": "human", "value": "任务 <image>"}, {"from": "gpt", "value": truth}],
        "output_format": "answer",
    }


def accuracy(pred: str, truth: str, **kwargs) -> float:
    (reward,) = get_reward_funcs(["accuracy"], RewardSettings(**kwargs))
    return reward(completions=[pred], solution=[truth])[0]


def means(out: str) -> dict[str, float]:
    """``score``'s printed means (the lines after the first)."""
    return {name: float(value) for name, value in (line.split() for line in out.splitlines()[1:])}


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- 9. typed text is compared faithfully by default ---------------------------------------------

FLATTERING = [
    ("natalie.larson1998@gmail.com", "natalielarson1998gmailcom"),
    ("-5", "5"),
    ("3.5", "35"),
    ("Hunter2Pass", "hunter2pass"),
]


class TestFaithfulText:
    @pytest.mark.parametrize(("truth", "typed"), FLATTERING)
    def test_dropped_punctuation_or_case_is_not_a_perfect_type(self, truth, typed):
        assert accuracy(answer("type", typed), act("type", truth)) < 1.0

    @pytest.mark.parametrize(("truth", "typed"), [("ＯＫ，3.5", "OK,3.5"), ("hello  world ", " hello world")])
    def test_width_and_spacing_still_do_not_count(self, truth, typed):
        assert accuracy(answer("type", typed), act("type", truth)) == 1.0

    @pytest.mark.parametrize(("mode", "want"), [("faithful", False), ("casefold", True), ("loose", True)])
    def test_looser_rules_are_opt_in(self, mode, want):
        assert (
            accuracy(answer("type", "hunter2pass"), act("type", "Hunter2Pass"), text_match=mode) == 1.0
        ) is want

    def test_unknown_rule_is_refused_at_configuration(self):
        with pytest.raises(ValueError, match="text match"):
            RewardSettings(text_match="exact")
        with pytest.raises(ValueError, match="text match"):
            AccuracyReward(text_match="exact")

    def test_step_rule_uses_the_text_match_too(self):
        with pytest.raises(ValueError):
            MatchRules(text_match="exact")


@pytest.fixture
def typed(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [sample(1, act("type", "-5"))])
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "completion": answer("type", "5")}])
    return data, pred, tmp_path


class TestTextMatchInTheCommands:
    def test_eval_names_the_rule_in_metrics_and_report_and_judges_faithfully(self, typed, capsys):
        data, pred, tmp = typed
        argv = ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"]
        code, out, _ = run([*argv, "--output", str(tmp / "m.json")], capsys)
        metrics = json.loads((tmp / "m.json").read_text(encoding="utf-8"))
        assert code == 0 and metrics["rules"]["text_match"] == "faithful" and metrics["step_success"] == 0.0
        assert "text faithful >= 0.8" in out
        code, out, _ = run([*argv, "--text-match", "loose", "--output", str(tmp / "m2.json")], capsys)
        metrics = json.loads((tmp / "m2.json").read_text(encoding="utf-8"))
        assert code == 0 and metrics["rules"]["text_match"] == "loose" and metrics["step_success"] == 1.0
        assert "text loose >= 0.8" in out

    def test_score_takes_the_rule_and_says_it(self, typed, capsys):
        data, pred, _ = typed
        argv = ["score", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"]
        code, out, _ = run([*argv, "--rewards", "accuracy"], capsys)
        assert code == 0 and "text faithful" in out and means(out)["accuracy"] < 1.0
        code, out, _ = run([*argv, "--rewards", "accuracy", "--text-match", "loose"], capsys)
        assert code == 0 and "text loose" in out and means(out)["accuracy"] == 1.0

    def test_training_reads_the_rule_from_the_recipe(self, tmp_path):
        from gui_agent_rl.train.config import parse_train_args
        from gui_agent_rl.train.grpo import build_rewards

        argv = ["--config", str(RECIPE), "--output_dir", str(tmp_path), "--text_match", "casefold"]
        script, training, _ = parse_train_args(argv)
        funcs = build_rewards(script, training)
        assert funcs[1].func.text_match == "casefold"  # the accuracy reward, wrapped by the rollout log


# --- 10. the frame a model answers in travels with its predictions ---------------------------------


def small_frame_click(box: str) -> str:
    """A perfect click on ``box`` (original pixels) written in the 1003520-pixel frame."""
    x1, y1, x2, y2 = map(float, box.split(","))
    b = ImageFrame(W, H, max_pixels=SMALL).convert_box(Box(x1, y1, x2, y2), "original", "resized")
    return answer("click", f"{b.x1:.0f},{b.y1:.0f},{b.x2:.0f},{b.y2:.0f}")


BOXES = ["100,1800,300,2000", "700,200,900,320", "40,40,140,140", "500,1100,560,1160"]


@pytest.fixture
def own_frame(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [sample(i, act("click", b)) for i, b in enumerate(BOXES)])
    lines = [
        {"id": i, "completion": small_frame_click(b), "min_pixels": 3136, "max_pixels": SMALL}
        for i, b in enumerate(BOXES)
    ]
    return data, write_jsonl(tmp_path / "p.jsonl", lines), tmp_path


class FakeChat(JsonHandler):
    def do_POST(self):
        self.read_json()
        self.reply_json({"choices": [{"message": {"content": answer("back")}}]})


class TestFrameTravels:
    def test_predict_records_the_pixel_limits_it_resized_with(self, tmp_path):
        from gui_agent_rl.train.predict import PredictSettings, predict
        from gui_agent_rl.train.tiny import write_tiny_dataset

        data = write_tiny_dataset(tmp_path / "d", n_samples=2)
        out = tmp_path / "pred.jsonl"
        with serving(FakeChat) as url:
            predict("m", data, out, settings=PredictSettings(max_pixels=SMALL), api_base=f"{url}/v1")
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert [(x["min_pixels"], x["max_pixels"]) for x in lines] == [(3136, SMALL)] * 2
        assert {p.pixels for p in read_predictions(out).values()} == {(3136, SMALL)}

    def test_eval_and_score_use_the_recorded_frame_without_flags(self, own_frame, capsys, caplog):
        data, pred, tmp = own_frame
        files = ["--dataset", str(data), "--predictions", str(pred)]
        code, out, _ = run(["eval", *files, "--output", str(tmp / "m.json")], capsys)
        metrics = json.loads((tmp / "m.json").read_text(encoding="utf-8"))
        assert code == 0 and metrics["step_success"] == 1.0  # at the default 12845056: 0.0
        assert metrics["rules"]["max_pixels"] == SMALL and metrics["rules"]["pixels_from"] == "predictions"
        assert f"pixels 3136..{SMALL} from predictions" in out
        code, out, _ = run(["score", *files, "--rewards", "accuracy"], capsys)
        assert code == 0 and means(out)["accuracy"] == 1.0
        assert warnings_of(caplog) == []

    def test_explicit_limits_that_contradict_the_record_warn_in_one_line(self, own_frame, capsys, caplog):
        data, pred, _ = own_frame
        for command in ("eval", "score"):
            caplog.clear()
            argv = [command, "--dataset", str(data), "--predictions", str(pred), "--max-pixels", "12845056"]
            code, _, _ = run(argv, capsys)
            (warning,) = warnings_of(caplog)
            assert code == 0 and "\n" not in warning
            assert f"max_pixels {SMALL}" in warning and "--max-pixels 12845056" in warning

    def test_predictions_without_a_record_warn_that_the_default_frame_is_assumed(
        self, tmp_path, capsys, caplog
    ):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(1, act("back"))])
        pred = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "completion": answer("back")}])
        code, _, _ = run(["eval", "--dataset", str(data), "--predictions", str(pred)], capsys)
        (warning,) = warnings_of(caplog)
        assert code == 0 and "do not record their pixel limits" in warning and "\n" not in warning

    def test_one_file_with_two_frames_is_an_error_naming_the_line(self, tmp_path):
        lines = [
            {"id": 1, "completion": "", "min_pixels": 3136, "max_pixels": SMALL},
            {"id": 2, "completion": "", "min_pixels": 3136, "max_pixels": 12845056},
        ]
        with pytest.raises(JsonlError, match=r"p.jsonl:2: .*one frame per file"):
            read_predictions(write_jsonl(tmp_path / "p.jsonl", lines))

    def test_choice_prefers_options_then_record_then_defaults(self):
        assert scoring_pixel_limits(None).source == "defaults"
        assert scoring_pixel_limits((3136, SMALL)).max_pixels == SMALL
        choice = scoring_pixel_limits((3136, SMALL), max_pixels=2000000, frame="original")
        assert choice.max_pixels == 2000000 and choice.warning is None  # pixels do not matter there

    def test_rollout_log_lines_carry_the_training_frame(self, tmp_path):
        from gui_agent_rl.train.config import parse_train_args
        from gui_agent_rl.train.grpo import build_rewards

        argv = ["--config", str(RECIPE), "--output_dir", str(tmp_path), "--max_pixels", str(SMALL)]
        script, training, _ = parse_train_args(argv)
        columns = {"solution": [act("back")], "id": ["s1"]}
        for func in build_rewards(script, training):
            func(prompts=[""], completions=[answer("back")], **columns)
        (line,) = [json.loads(x) for x in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
        assert (line["coordinate_frame"], line["min_pixels"], line["max_pixels"]) == ("resized", 3136, SMALL)


# --- 11. the answer is the one given after the thinking ---------------------------------------------


class TestAnswerAfterThinking:
    def test_answer_nested_in_think_earns_nothing(self):
        nested = f'<think>{THINK[:-1]}, "x": "{answer("back")}"}}</think>'
        assert accuracy(nested, act("back")) == 0.0
        assert accuracy(f"<think>{answer('back')}</think>", act("back")) == 0.0

    def test_the_answer_after_the_thinking_counts_not_a_draft_inside_it(self):
        completion = f"<think>draft {answer('wait')}</think>\n{answer('back')}"
        assert accuracy(completion, act("back")) == 1.0
        assert accuracy(completion, act("wait")) == 0.0

    def test_the_stated_forms_are_read_as_before(self):
        assert accuracy(f"<think>{THINK}</think>\n{answer('back')}", act("back")) == 1.0
        assert accuracy(answer("back"), act("back")) == 1.0

    def test_eval_does_not_count_a_nested_answer(self, tmp_path, capsys):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(1, act("back"))])
        pred = write_jsonl(
            tmp_path / "p.jsonl", [{"id": 1, "completion": f"<think>{answer('back')}</think>"}]
        )
        out = tmp_path / "v.jsonl"
        argv = ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"]
        assert main([*argv, "--per-sample", str(out)]) == 0
        (verdict,) = [json.loads(x) for x in out.read_text().splitlines()]
        assert not verdict["step_ok"] and "outside <think>" in verdict["reason"]

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["wait", "back"]))
    def test_any_answer_only_inside_thinking_scores_zero_and_never_raises(self, before, inside, kind):
        completion = f"{before.replace('<answer>', '')}<think>{inside}{answer(kind)}{inside}</think>"
        if "</think>" in inside or "<think>" in inside or "</answer>" in before:
            return  # the generated text itself closes or opens tags; covered by the fuzz suite
        score = accuracy(completion, act(kind))
        assert score == 0.0 and math.isfinite(score)
        assert predicted_action(completion) is None

    def test_unbalanced_tags_are_read_in_linear_time(self):
        assert answer_text("<think>" * 50000 + answer("back")) is not None  # no pair: nothing hidden
        assert answer_text("</think>" * 50000) is None


# --- 12. non-finite or contradictory options are one-line errors ------------------------------------


@pytest.fixture
def any_files(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [sample(1, act("back"))])
    return [
        "--dataset",
        str(data),
        "--predictions",
        str(write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "completion": ""}])),
    ]


def one_line_exit_2(argv: list[str], capsys, needle: str) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2, (argv, err)
    assert len(err.strip().splitlines()) == 1 and needle in err, err


class TestRefusedOptions:
    @pytest.mark.parametrize("option", ["--box-scale", "--tap-distance"])
    @pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
    def test_non_finite_match_tolerances(self, any_files, capsys, option, value):
        one_line_exit_2(
            ["eval", *any_files, f"{option}={value}"], capsys, option.removeprefix("--").replace("-", "_")
        )

    @pytest.mark.parametrize("command", ["eval", "score"])
    def test_min_pixels_above_max_pixels(self, any_files, capsys, command):
        argv = [command, *any_files, "--min-pixels", "5000000", "--max-pixels", "4000000"]
        one_line_exit_2(argv, capsys, "larger than --max-pixels")

    @pytest.mark.parametrize("command", ["eval", "score"])
    def test_min_pixels_above_the_recorded_max(self, tmp_path, capsys, command):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(1, act("back"))])
        line = {"id": 1, "completion": "", "min_pixels": 3136, "max_pixels": SMALL}
        files = ["--dataset", str(data), "--predictions", str(write_jsonl(tmp_path / "p.jsonl", [line]))]
        one_line_exit_2([command, *files, "--min-pixels", "2000000"], capsys, "larger than max_pixels")

    def test_rules_refuse_non_finite_values_from_python_too(self):
        for kwargs in ({"box_scale": math.nan}, {"box_scale": math.inf}, {"tap_distance": math.nan}):
            with pytest.raises(ValueError, match="finite"):
                MatchRules(**kwargs)
        with pytest.raises(ValueError, match="larger than max_pixels"):
            RewardSettings(min_pixels=5000000, max_pixels=4000000)

    @pytest.mark.parametrize("value", ["nan", "inf"])
    def test_predict_temperature(self, tmp_path, capsys, value):
        from gui_agent_rl.train.tiny import write_tiny_dataset

        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        argv = ["predict", "--model", "m", "--dataset", str(data), "--output", str(tmp_path / "p.jsonl")]
        one_line_exit_2([*argv, "--temperature", value], capsys, "--temperature")

    @pytest.mark.parametrize(
        "extra", [["--learning_rate", "nan"], ["--learning_rate", "inf"], ["--reward_weights", "1", "nan"]]
    )
    def test_train_non_finite_floats(self, tmp_path, capsys, extra):
        pytest.importorskip("trl")
        argv = ["train", "--config", str(RECIPE), "--output_dir", str(tmp_path / "o"), *extra]
        one_line_exit_2(argv, capsys, f"{extra[0]} ")
