"""Offline evaluation: matching rules, aggregation, predictions join, and agreement with the rewards."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.evaluate.metrics import MatchRules, point_matches_box
from gui_agent_rl.evaluate.predictions import Scored, join_predictions, read_predictions
from gui_agent_rl.evaluate.scoring import evaluate, image_frame
from gui_agent_rl.rewards import RewardSettings, score_action
from gui_agent_rl.rewards.accuracy import TAP_DISTANCE_THRESHOLD
from gui_agent_rl.schemas import Box, ImageFrame, JsonlError, Point, Sample

THINK = json.dumps(
    {
        "task_interpretation": "t",
        "current_page_audit": "c",
        "path_alignment_check": "p",
        "action_validation": "a",
    }
)
INQUIRY = json.dumps(
    {
        "Question": "发哪一个?",
        "CandidatesList": "['黄色大笑脸', '手绘风格笑脸']",
        "PicDescribe": "p",
        "AnswerIndex": 0,
    },
    ensure_ascii=False,
)
ORIGINAL = RewardSettings(coordinate_frame="original")
SCREEN = (1000, 2000)  # width, height of every test screenshot


def act(kind: str, value: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}}, ensure_ascii=False)


def answer(action_json: str) -> str:
    return f"<think>{THINK}</think><answer>{action_json}</answer>"


def tap(x: int, y: int) -> str:
    """A click whose box centre is exactly (x, y)."""
    return act("click", f"{x - 1},{y - 1},{x + 1},{y + 1}")


def make_sample(sid: int, truth: str, task: str | None = None, step: int | None = None) -> Sample:
    return Sample.model_validate(
        {
            "id": sid,
            "image": ["t/a.png", "t/b.png"],
            "conversations": [
                {"from": "human", "value": "screens <image> <image>"},
                {"from": "gpt", "value": truth},
            ],
            "image_sizes": [list(SCREEN), list(SCREEN)],
            "task_id": task,
            "step": step,
        }
    )


#: one truth per action type, and a completion that is right under the default rules
RIGHT_PAIRS = [
    (act("click", "100,100,200,200"), tap(150, 150)),
    (act("long_click", "100,100,200,200"), act("long_click", "140,140,160,160")),
    (act("type", "无锡天气"), act("type", "无锡天气")),
    (act("open_app", "微信"), act("open_app", "微信")),
    (act("swipe", "500,1800,500,600"), act("swipe", "500,1800,500,600")),
    (act("inquiry", INQUIRY), act("inquiry", INQUIRY)),
    (act("task_completed", "已完成"), act("task_completed", "已完成")),
    (act("task_impossible", "没有网络"), act("task_impossible", "没有网络")),
    (act("wait"), act("wait")),
    (act("back"), act("back")),
]

#: right and wrong predictions of every kind
MIXED = [
    *RIGHT_PAIRS,
    (act("click", "100,100,200,200"), tap(260, 150)),
    (act("wait"), act("back")),
    (act("type", "无锡天气"), act("type", "无锡天汽")),
    (act("swipe", "500,1800,500,600"), act("swipe", "500,600,500,1800")),
    (act("swipe", "500,1800,500,600"), act("swipe", "400,1500,420,1000")),
    (act("task_completed", "已完成"), act("task_completed", "做完了")),
]


def run(pairs, rules=None, settings=ORIGINAL, **kw):
    rows = [Scored(make_sample(i, t), None if p is None else answer(p)) for i, (t, p) in enumerate(pairs, 1)]
    return evaluate(rows, rules, settings, **kw)


class TestAggregateFigures:
    def test_all_right_scores_one_everywhere(self):
        m = run(RIGHT_PAIRS).metrics
        assert m["count"] == 10
        assert (m["type_accuracy"], m["step_success"], m["grounding_accuracy"], m["format_rate"]) == (
            1,
            1,
            1,
            1,
        )
        assert m["grounding_count"] == 2
        assert m["rewards"] == {"format": 2.5, "accuracy": 1.0}
        assert all(v["step_success"] == 1 for v in m["per_type"].values())
        assert m["confusion"]["swipe"] == {"swipe": 1}

    def test_a_quarter_of_the_types_wrong(self):
        pairs = [(act("wait"), act("wait"))] * 6 + [(act("back"), act("back"))] * 2
        pairs[0] = (act("wait"), act("back"))
        pairs[6] = (act("back"), tap(5, 5))
        m = run(pairs).metrics
        assert m["type_accuracy"] == 0.75 and m["step_success"] == 0.75
        assert m["per_type"]["wait"] == {"count": 6, "type_accuracy": 5 / 6, "step_success": 5 / 6}
        assert m["per_type"]["back"] == {"count": 2, "type_accuracy": 0.5, "step_success": 0.5}
        assert m["confusion"] == {"back": {"back": 1, "click": 1}, "wait": {"back": 1, "wait": 5}}
        assert m["rewards"]["accuracy"] == 0.75
        assert m["grounding_accuracy"] is None and m["grounding_count"] == 0

    def test_missing_predictions_count_as_wrong_and_as_format_failures(self):
        pairs = [
            (act("wait"), act("wait")),
            (act("back"), None),
            (act("wait"), act("wait")),
            (act("back"), None),
        ]
        m = run(pairs).metrics
        assert m["step_success"] == 0.5 and m["format_rate"] == 0.5 and m["type_accuracy"] == 0.5
        assert m["confusion"]["back"] == {"invalid": 2}
        assert m["rewards"] == {"format": 1.25, "accuracy": 0.5}

    def test_unparsable_answer_is_a_format_failure_with_its_reason(self):
        rows = [Scored(make_sample(1, act("back")), "<answer>{not json</answer>")]
        ev = evaluate(rows, settings=ORIGINAL)
        assert ev.metrics["format_rate"] == 0 and ev.metrics["confusion"] == {"back": {"invalid": 1}}
        assert ev.results[0].reason == "answer is not valid JSON"

    def test_grounding_ignores_click_versus_long_click_but_step_success_does_not(self):
        m = run([(act("click", "100,100,200,200"), act("long_click", "140,140,160,160"))]).metrics
        assert m["grounding_accuracy"] == 1 and m["step_success"] == 0

    def test_bad_ground_truth_raises_naming_the_sample(self):
        rows = [Scored(make_sample(7, act("click", "5,5,1,1")), answer(act("back")))]
        with pytest.raises(ValueError, match="sample 7"):
            evaluate(rows)


class TestTolerances:
    TRUTH = act("click", "100,100,200,200")  # centre (150, 150) on a 1000x2000 screen

    @pytest.mark.parametrize(
        ("rules", "inside", "outside"),
        [
            (MatchRules(), (200, 150), (201, 150)),
            (MatchRules(box_scale=1.2), (210, 150), (211, 150)),
            (MatchRules(box_scale=2.4), (150, 270), (150, 271)),  # AITW's "1.4x"
            (MatchRules(tap_distance=0.14), (289, 150), (291, 150)),  # 0.139 / 0.141 of the width
            (MatchRules(tap_distance=0.14), (150, 429), (150, 431)),  # 0.1395 / 0.1405 of the height
        ],
    )
    def test_tap_just_inside_counts_and_just_outside_does_not(self, rules, inside, outside):
        ev = run([(self.TRUTH, tap(*inside)), (self.TRUTH, tap(*outside))], rules)
        assert [r.step_ok for r in ev.results] == [True, False]
        assert [r.grounding_ok for r in ev.results] == [True, False]

    def test_text_threshold_is_inclusive_and_configurable(self):
        pair = [(act("type", "无锡天气"), act("type", "无锡天汽"))]  # similarity 0.75
        assert run(pair).metrics["step_success"] == 0
        assert run(pair, MatchRules(text_threshold=0.75)).metrics["step_success"] == 1

    def test_swipe_matches_by_direction_only(self):
        up = act("swipe", "500,1800,500,600")
        m = run([(up, act("swipe", "10,300,12,200")), (up, act("swipe", "500,600,500,1800"))]).metrics
        assert m["step_success"] == 0.5 and m["type_accuracy"] == 1

    def test_inquiry_matches_by_answer_index(self):
        other = INQUIRY.replace('"AnswerIndex": 0', '"AnswerIndex": 1')
        m = run([(act("inquiry", INQUIRY), act("inquiry", other))]).metrics
        assert m["step_success"] == 0 and m["type_accuracy"] == 1

    def test_resized_frame_prediction_is_converted_before_matching(self):
        sample = make_sample(1, act("click", "530,1190,543,1202")).model_copy(
            update={"image_sizes": [(1080, 2400), (1080, 2400)]}
        )
        row = [Scored(sample, answer(act("click", "545,1203,547,1205")))]  # (546, 1204) resized
        assert evaluate(row, settings=RewardSettings()).results[0].step_ok  # -> (540, 1200) original
        assert not evaluate(row, settings=ORIGINAL).results[0].step_ok

    def test_rules_reject_nonsense(self):
        with pytest.raises(ValueError, match="box_scale"):
            MatchRules(box_scale=0)
        with pytest.raises(ValueError, match="text_threshold"):
            MatchRules(text_threshold=1.5)


class TestByTask:
    def test_episode_success_and_goal_progress(self):
        right, wrong = (act("wait"), act("wait")), (act("wait"), act("back"))
        steps = [("A", 2, right), ("A", 0, right), ("A", 1, wrong), ("B", 0, right), ("B", 1, right)]
        rows = [
            Scored(make_sample(i, t, task, step), answer(p))
            for i, (task, step, (t, p)) in enumerate(steps, 1)
        ]
        m = evaluate(rows, settings=ORIGINAL, by_task=True).metrics["by_task"]
        assert m == {
            "tasks": 2,
            "episode_success": 0.5,
            "goal_progress": pytest.approx((1 / 3 + 1) / 2),
            "missing_steps": 0,
            "lengths_from": {"dataset steps only (lengths unknown)": 2},
        }

    def test_a_sample_without_task_id_is_an_error(self):
        with pytest.raises(ValueError, match="task_id"):
            run([(act("wait"), act("wait"))], by_task=True)


class TestAgreementWithAccuracyReward:
    @pytest.mark.parametrize(
        "settings",
        [ORIGINAL, RewardSettings(), RewardSettings(coordinate_frame="norm1000", accuracy_method="iou")],
    )
    def test_per_sample_accuracy_reward_equals_score_action(self, settings):
        for r in run(MIXED, settings=settings).results:
            frame = ImageFrame(*SCREEN, settings.min_pixels, settings.max_pixels)
            expected = score_action(
                r.pred,
                r.truth,
                frame=frame,
                pred_frame=settings.coordinate_frame,
                method=settings.accuracy_method,
            )
            assert r.rewards["accuracy"] == pytest.approx(expected)

    def test_wrong_type_scores_zero_and_step_success_scores_above_zero(self):
        for r in run(MIXED).results:
            if not r.type_ok:
                assert r.rewards["accuracy"] == 0
            # task_completed/impossible succeed on type alone; the reward also grades their summary text
            if r.step_ok and r.truth.action_type not in ("task_completed", "task_impossible"):
                assert r.rewards["accuracy"] > 0

    def test_a_different_summary_still_completes_the_task(self):
        r = run(MIXED[-1:]).results[0]
        assert r.step_ok and r.rewards["accuracy"] < 0.5

    @given(x=st.integers(1, 998), y=st.integers(1, 1998))
    def test_click_step_success_is_the_center_in_box_reward(self, x, y):
        settings = RewardSettings(coordinate_frame="original", accuracy_method="center_in_box")
        r = run([(act("click", "100,100,400,300"), tap(x, y))], settings=settings).results[0]
        assert r.step_ok == (r.rewards["accuracy"] == 1.0)

    @given(x=st.integers(1, 998), y=st.integers(1, 1998))
    def test_aitw_rules_agree_with_the_distance_reward(self, x, y):
        settings = RewardSettings(coordinate_frame="original", accuracy_method="distance")
        rules = MatchRules(box_scale=2.4, tap_distance=TAP_DISTANCE_THRESHOLD)
        r = run([(act("click", "100,100,400,300"), tap(x, y))], rules, settings).results[0]
        assert r.step_ok == (r.rewards["accuracy"] == 1.0)


class TestPointMatchesBox:
    def test_distance_uses_the_rewards_fallback_screen_without_image_sizes(self):
        # FALLBACK_SCREEN is 1080 wide: 0.14 * 1080 = 151.2 px
        assert point_matches_box(Point(201, 50), Box(0, 0, 100, 100), None, MatchRules(tap_distance=0.14))
        assert not point_matches_box(Point(202, 50), Box(0, 0, 100, 100), None, MatchRules(tap_distance=0.14))

    def test_image_frame_is_the_last_image(self):
        sample = make_sample(1, act("back")).model_copy(update={"image_sizes": [(10, 20), (30, 60)]})
        assert image_frame(sample, ORIGINAL).width == 30


class TestPredictions:
    def write(self, tmp_path, *lines):
        path = tmp_path / "pred.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def test_reads_ids_as_text_and_chat_completions(self, tmp_path):
        chat = json.dumps(
            {"id": "2", "completion": [{"role": "assistant", "content": "无锡"}]}, ensure_ascii=False
        )
        path = self.write(tmp_path, '{"id": 1, "completion": "x", "extra": 0}', "", chat)
        assert {k: p.completion for k, p in read_predictions(path).items()} == {"1": "x", "2": "无锡"}

    def test_duplicate_id_names_both_lines(self, tmp_path):
        path = self.write(
            tmp_path,
            '{"id": 1, "completion": "a"}',
            '{"id": 2, "completion": "b"}',
            '{"id": "1", "completion": "c"}',
        )
        with pytest.raises(JsonlError, match=r"pred.jsonl:3: duplicate id '1' \(first on line 1\)"):
            read_predictions(path)

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            ("{bad", "not valid JSON"),
            ("[1, 2]", "expected an object"),
            ('{"completion": "x"}', "id: missing"),
            ('{"id": true, "completion": "x"}', "id: missing"),
            ('{"id": 1, "completion": 5}', "completion: missing"),
        ],
    )
    def test_bad_line_names_path_and_line(self, tmp_path, line, reason):
        path = self.write(tmp_path, '{"id": 1, "completion": "a"}', line)
        with pytest.raises(JsonlError, match=f"pred.jsonl:2: {reason}"):
            read_predictions(path)

    def test_join_keeps_dataset_order_and_warns_about_unknown_ids(self, caplog):
        samples = [make_sample(1, act("back")), make_sample(2, act("back"))]
        with caplog.at_level(logging.WARNING):
            rows = join_predictions(samples, {"2": "b", "9": "z"})
        assert [(r.sample.id, r.completion) for r in rows] == [(1, None), (2, "b")]
        assert "not in the dataset, ignored: 9" in caplog.text
        assert "1 of 2 samples have no prediction" in caplog.text

    def test_join_refuses_a_dataset_with_a_duplicate_id(self):
        with pytest.raises(ValueError, match="twice"):
            join_predictions([make_sample(1, act("back"))] * 2, {})
