"""Type-gated accuracy: box methods, swipes, text, inquiry, coordinate frames, ground-truth errors."""

from __future__ import annotations

import json
import math
import pickle

import pytest

from gui_agent_rl.rewards.accuracy import (
    BOX_METHODS,
    DISTANCE_BOX_SCALE,
    NEAR_MISS_CREDIT,
    TAP_DISTANCE_THRESHOLD,
    AccuracyReward,
    pred_to_original,
    score_action,
    swipe_direction,
)
from gui_agent_rl.rewards.box_map import MapReward, boxes_in
from gui_agent_rl.schemas import Box, ImageFrame, Point, parse_action

SCREEN = ImageFrame(1080, 2400)
W, H = 1080, 2400


def wire(kind: str, param: str = "", **extra: str) -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: param}, **extra}, ensure_ascii=False)


def act(kind: str, param: str = ""):
    return parse_action(wire(kind, param))


def answer(kind: str, param: str = "") -> str:
    return f"<think>{{}}</think><answer>{wire(kind, param)}</answer>"


def inquiry(question: str, index: int) -> str:
    return json.dumps(
        {"Question": question, "CandidatesList": "['是', '否']", "PicDescribe": "", "AnswerIndex": index}
    )


def box_around(x: float, y: float, half: int = 5) -> str:
    return f"{round(x) - half},{round(y) - half},{round(x) + half},{round(y) + half}"


def score_original(pred, truth, method=None) -> float:
    return score_action(pred, truth, frame=SCREEN, pred_frame="original", method=method)


TRUTH = act("click", "400,1000,600,1100")  # centre (500, 1050), 200 x 100


class TestTypeGate:
    @pytest.mark.parametrize(
        "completion",
        [
            "",
            "<answer>not json</answer>",
            "<answer>[1, 2]</answer>",
            '<answer>{"action_type": "click", "action_parameter": {"click": "9,9,1,1"}}</answer>',
            "<think>x</think>",
        ],
    )
    def test_missing_unparsable_or_invalid_answer_scores_zero(self, completion):
        assert AccuracyReward()(completions=[completion], solution=[wire("wait")]) == [0.0]

    def test_other_action_type_scores_zero(self):
        assert score_action(act("long_click", "400,1000,600,1100"), TRUTH) == 0.0

    def test_wait_and_back_score_full_when_the_type_matches(self):
        assert score_action(act("wait"), act("wait")) == 1.0
        assert score_action(act("back"), act("back")) == 1.0


class TestDefaultBoxMethod:
    def test_true_box_scores_one(self):
        assert score_original(TRUTH, TRUTH) == 1.0

    def test_tap_point_anywhere_inside_the_box_scores_one(self):
        assert score_original(act("click", box_around(401, 1001, 1)), TRUTH) == 1.0

    def test_near_miss_earns_partial_credit_that_decays_with_distance(self):
        gaps = [0.01, 0.05, 0.1]
        scores = [score_original(act("click", box_around(600 + g * W, 1050)), TRUTH) for g in gaps]
        assert NEAR_MISS_CREDIT > scores[0] > scores[1] > scores[2] > 0.0
        assert scores[1] == pytest.approx(NEAR_MISS_CREDIT * (1 - 0.05 / TAP_DISTANCE_THRESHOLD), abs=0.01)

    def test_tap_beyond_the_threshold_scores_zero(self):
        assert score_original(act("click", box_around(600 + 0.15 * W, 1050)), TRUTH) == 0.0


class TestOtherBoxMethods:
    def test_every_method_gives_the_true_box_full_credit(self):
        for name in BOX_METHODS:
            assert score_original(TRUTH, TRUTH, name) == pytest.approx(1.0), name

    def test_iou_of_half_overlapping_boxes_is_a_third(self):
        assert score_original(act("click", "500,1000,700,1100"), TRUTH, "iou") == pytest.approx(1 / 3)

    def test_center_in_box_is_all_or_nothing(self):
        assert score_original(act("click", "300,1000,700,1100"), TRUTH, "center_in_box") == 1.0
        assert score_original(act("click", "590,1000,700,1100"), TRUTH, "center_in_box") == 0.0

    def test_distance_gives_full_credit_within_the_aitw_threshold_of_the_centre(self):
        inside = act("click", box_around(500 + 0.13 * W, 1050))
        outside = act("click", box_around(500, 1050 + 0.15 * H))
        assert score_original(inside, TRUTH, "distance") == 1.0
        assert score_original(outside, TRUTH, "distance") == 0.0

    def test_distance_gives_full_credit_inside_the_enlarged_box(self):
        tall = act("click", "0,0,100,1200")  # centre y 600; scaled by 2.4 it reaches y = 600 + 1440
        edge = 600 + DISTANCE_BOX_SCALE * 1200 / 2
        assert score_original(act("click", box_around(50, edge - 5, 1)), tall, "distance") == 1.0
        assert score_original(act("click", box_around(50, edge + 5, 1)), tall, "distance") == 0.0

    def test_gaussian_at_the_box_edge_is_exp_minus_half(self):
        pred = act("click", box_around(600, 1050, 2))  # dx = half the width
        assert score_original(pred, TRUTH, "gaussian") == pytest.approx(math.exp(-0.5))

    def test_sample_method_overrides_the_global_one(self):
        reward = AccuracyReward(coordinate_frame="original", method="center_in_box")
        completion = answer("click", box_around(610, 1050))
        per_sample = reward(
            completions=[completion] * 2, solution=[TRUTH.to_json()] * 2, accu_reward_method=[None, "default"]
        )
        assert per_sample[0] == 0.0
        assert 0.0 < per_sample[1] < NEAR_MISS_CREDIT

    def test_unknown_method_name_raises_naming_it(self):
        with pytest.raises(ValueError, match="'nearest'"):
            AccuracyReward()(
                completions=[answer("wait")], solution=[wire("wait")], accu_reward_method=["nearest"]
            )
        with pytest.raises(ValueError, match="'nearest'"):
            AccuracyReward(method="nearest")


class TestSwipe:
    @pytest.mark.parametrize(
        ("start", "end", "direction"),
        [
            ((500, 1800), (500, 600), "up"),
            ((500, 600), (520, 1800), "down"),
            ((900, 1000), (100, 1100), "left"),
            ((100, 1000), (900, 900), "right"),
            ((5, 5), (5, 5), None),
        ],
    )
    def test_direction_is_the_finger_motion_on_the_main_axis(self, start, end, direction):
        assert swipe_direction(Point(*start), Point(*end)) == direction

    def test_wrong_direction_scores_zero_however_close_the_endpoints(self):
        assert score_original(act("swipe", "500,1210,500,1190"), act("swipe", "500,1190,500,1210")) == 0.0

    def test_exact_swipe_scores_one_and_farther_endpoints_score_less(self):
        truth = act("swipe", "500,1800,500,600")
        near, far = act("swipe", "500,1700,500,700"), act("swipe", "100,1300,100,1200")
        assert score_original(truth, truth) == 1.0
        assert 1.0 > score_original(near, truth) > score_original(far, truth) >= 0.5


class TestTextAndInquiry:
    def test_one_wrong_character_in_four_scores_high(self):
        assert score_action(act("type", "无锡天汽"), act("type", "无锡天气")) == pytest.approx(0.75)

    def test_unrelated_text_scores_low(self):
        assert score_action(act("open_app", "微信"), act("open_app", "支付宝")) < 0.2

    def test_width_and_spacing_do_not_count_but_case_and_punctuation_do(self):
        # faithful (the default): NFKC and whitespace only
        assert score_action(act("type", "ＯＫ  3.5"), act("type", "OK 3.5")) == 1.0
        assert score_action(act("task_completed", "Done，ＯＫ!"), act("task_completed", "done ok")) < 1.0

    def test_loose_text_match_ignores_case_width_and_punctuation(self):
        pred, truth = act("task_completed", "Done，ＯＫ!"), act("task_completed", "done ok")
        assert score_action(pred, truth, text_match="loose") == 1.0

    def test_inquiry_with_right_index_and_question_scores_one(self):
        truth = act("inquiry", inquiry("是否继续？", 0))
        assert score_action(act("inquiry", inquiry("是否继续？", 0)), truth) == 1.0
        assert score_action(act("inquiry", inquiry("是否继续", 0)), truth, text_match="loose") == 1.0

    def test_inquiry_with_wrong_index_cannot_exceed_a_half(self):
        truth = act("inquiry", inquiry("是否继续？", 0))
        assert score_action(act("inquiry", inquiry("是否继续？", 1)), truth) == 0.5


class TestCoordinateFrames:
    @pytest.mark.parametrize(("max_pixels", "resized"), [(1003520, (672, 1484)), (None, (1092, 2408))])
    def test_true_box_written_in_the_resized_frame_scores_one(self, max_pixels, resized):
        kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}
        frame = ImageFrame(W, H, **kwargs)
        assert frame.resized_size() == resized
        truth = act("click", "100,1800,300,2000")
        sx, sy = resized[0] / W, resized[1] / H
        in_resized = act(
            "click", f"{round(100 * sx)},{round(1800 * sy)},{round(300 * sx)},{round(2000 * sy)}"
        )
        assert score_action(in_resized, truth, frame=frame, pred_frame="resized", method="iou") > 0.95
        if max_pixels is not None:  # read as original pixels the same numbers miss the target
            assert score_action(in_resized, truth, frame=frame, pred_frame="original") == 0.0

    def test_norm1000_frame_is_converted(self):
        truth = act("click", "108,240,216,480")
        assert (
            score_action(act("click", "100,100,200,200"), truth, frame=SCREEN, pred_frame="norm1000") == 1.0
        )

    def test_without_sizes_frames_are_taken_as_equal(self):
        assert pred_to_original(TRUTH, None, "resized") == (Box(400, 1000, 600, 1100), None)

    def test_swipe_endpoints_are_converted(self):
        frame = ImageFrame(W, H, max_pixels=1003520)
        _, ends = pred_to_original(act("swipe", "336,1113,336,371"), frame, "resized")
        assert ends[0].x == pytest.approx(540) and ends[0].y == pytest.approx(1800)
        assert ends[1].y == pytest.approx(600)

    def test_reward_reads_the_last_image_as_the_current_screen(self):
        reward = AccuracyReward(max_pixels=1003520)
        truth = act("click", "500,1750,580,1850")
        completion = answer("click", "312,1082,360,1145")  # the truth in the 672 x 1484 frame
        sizes = [[[100, 100], [W, H]]]
        assert reward(completions=[completion], solution=[truth.to_json()], image_sizes=sizes) == [1.0]


class TestAccuracyReward:
    def test_broken_truth_raises_naming_row_and_field(self):
        bad = '{"action_type": "click", "action_parameter": {"click": "9,9,1,1"}}'
        with pytest.raises(ValueError, match=r"^solution\[1\] \(id 8\): action_parameter\.click: "):
            AccuracyReward()(completions=["", ""], solution=[wire("wait"), bad], id=[7, 8])

    def test_answer_wrapped_truth_is_tolerated(self):
        assert AccuracyReward()(
            completions=[answer("back")], solution=[f"<answer>{wire('back')}</answer>"]
        ) == [1.0]

    def test_broken_image_sizes_raise_naming_the_row(self):
        with pytest.raises(ValueError, match=r"image_sizes\[0\]"):
            AccuracyReward()(completions=[answer("back")], solution=[wire("back")], image_sizes=[[[0, "x"]]])

    def test_per_type_means_go_to_log_metric(self):
        logged = {}
        AccuracyReward()(
            completions=[answer("back"), "", answer("wait")],
            solution=[wire("back")] * 2 + [wire("wait")],
            log_metric=logged.__setitem__,
            log_extra=print,
            trainer_state=None,
            images=[],
        )
        assert logged == {"accuracy/back": 0.5, "accuracy/wait": 1.0}

    def test_pickled_reward_keeps_its_settings(self):
        clone = pickle.loads(pickle.dumps(AccuracyReward("norm1000", method="iou")))
        assert clone.__name__ == "accuracy" and clone.method == "iou" and clone.coordinate_frame == "norm1000"


class TestMapReward:
    def test_all_true_boxes_found_score_one(self):
        truth = json.dumps([{"bbox_2d": [0, 0, 100, 100]}, {"bbox_2d": [200, 200, 300, 300]}])
        pred = f"<answer>{truth}</answer>"
        assert MapReward("original")(completions=[pred], solution=[truth]) == [1.0]

    def test_half_the_boxes_found_scores_about_half(self):
        truth = json.dumps([{"bbox_2d": [0, 0, 100, 100]}, {"bbox_2d": [200, 200, 300, 300]}])
        pred = '<answer>[{"bbox_2d": [0, 0, 100, 100]}, {"bbox_2d": [600, 600, 700, 700]}]</answer>'
        (score,) = MapReward("original")(completions=[pred], solution=[truth])
        assert 0.4 < score < 0.6

    def test_click_answer_counts_as_one_box_in_the_resized_frame(self):
        truth = act("click", "100,1800,300,2000")
        pred = answer("click", "62,1113,187,1237")  # the truth in the 672 x 1484 frame
        reward = MapReward(max_pixels=1003520)
        assert reward(completions=[pred], solution=[truth.to_json()], image_sizes=[[[W, H]]]) == [1.0]

    def test_truth_without_boxes_scores_zero_and_no_answer_scores_zero(self):
        assert MapReward()(completions=[answer("back")], solution=[wire("back")]) == [0.0]
        assert MapReward()(completions=["none"], solution=[TRUTH.to_json()]) == [0.0]

    def test_non_json_truth_raises_naming_the_row(self):
        with pytest.raises(ValueError, match=r"solution\[0\]"):
            MapReward()(completions=["x"], solution=["not json"])

    def test_malformed_or_out_of_range_boxes_are_skipped(self):
        truth = json.dumps([{"bbox_2d": [0, 0, 100, 100]}])
        bad = [{"bbox_2d": [5, 5, 1, 1]}, {"bbox_2d": "0,0,9,9"}, {"bbox_2d": [0, 0, 1e308, True]}]
        pred = f"<answer>{json.dumps(bad)}</answer>"
        assert MapReward("original")(completions=[pred], solution=[truth]) == [0.0]
        assert boxes_in({"bbox_2d": [0, 0, 10**400, 5]}) == []
