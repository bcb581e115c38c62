"""The extended action space (issue 12): points, direction swipes, home, keys, long-press duration.

Schemas and rewards here; prompts, build, eval and pictures in ``test_action_space_data.py``. The
seed's ten actions keep their wire bytes (``test_actions.py`` covers them; a few checks repeat here).
"""

from __future__ import annotations

import json
import math
import re

import pytest

from gui_agent_rl.rewards import RewardSettings, get_reward_funcs
from gui_agent_rl.rewards.accuracy import (
    BOX_METHODS,
    DEFAULT_POINT_DISTANCE,
    AccuracyReward,
    score_action,
)
from gui_agent_rl.rewards.format import FormatReward, FormatStrictReward
from gui_agent_rl.schemas import (
    ACTION_TYPES,
    ALL_ACTION_TYPES,
    DIRECTIONS,
    KEY_NAMES,
    Box,
    ImageFrame,
    Point,
    action_json_schema,
    parse_action,
    render_completion,
)

SEED_TEN = (
    "open_app", "click", "long_click", "type", "swipe",
    "task_completed", "task_impossible", "inquiry", "wait", "back",
)  # fmt: skip
SCREEN = ImageFrame(1080, 2400)


def act(kind: str, value, **extra) -> dict:
    return {"action_type": kind, "action_parameter": {kind: value, **extra}}


def wire(kind: str, value, **extra) -> str:
    return json.dumps(act(kind, value, **extra), ensure_ascii=False)


class TestConstants:
    def test_seed_ten_unchanged_and_all_adds_home_and_key(self):
        assert ACTION_TYPES == SEED_TEN
        assert (*SEED_TEN, "home", "key") == ALL_ACTION_TYPES
        assert KEY_NAMES == ("enter", "app_switch", "delete", "search")
        assert DIRECTIONS == ("up", "down", "left", "right")


class TestPointClicks:
    @pytest.mark.parametrize("kind", ["click", "long_click"])
    def test_point_is_normalised_and_has_no_box(self, kind):
        a = parse_action(act(kind, " 540 , 1200 "))
        assert a.to_wire()["action_parameter"] == {kind: "540,1200"}
        assert a.point == Point(540, 1200) and a.box is None
        assert a.to_json() == json.dumps(a.to_wire(), ensure_ascii=False)

    def test_box_click_point_is_the_centre(self):
        a = parse_action(act("click", "0,0,100,50"))
        assert a.box == Box(0, 0, 100, 50) and a.point == Point(50, 25)

    @pytest.mark.parametrize(
        ("value", "needle"),
        [
            ("5,5,5,5", "'x,y'"),
            ("1,2,3", "'x,y'"),
            ("-1,5", "negative"),
            ("1.5,2", "four comma-separated"),
            ("", "'x,y'"),
        ],
    )
    def test_bad_targets_are_one_line_errors_naming_the_field(self, value, needle):
        with pytest.raises(ValueError) as info:
            parse_action(act("click", value))
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith("action_parameter.click") and needle in msg


class TestLongClickDuration:
    def test_duration_round_trips_in_json_dumps_layout(self):
        a = parse_action(act("long_click", "80,1400", duration=1500))
        assert a.duration == 1500
        assert a.to_wire() == act("long_click", "80,1400", duration=1500)
        assert a.to_json() == wire("long_click", "80,1400", duration=1500)
        assert parse_action(a.to_json()) == a

    def test_without_duration_the_wire_is_unchanged(self):
        a = parse_action(act("long_click", "1,2,30,40"))
        assert a.duration is None and a.to_json() == wire("long_click", "1,2,30,40")

    @pytest.mark.parametrize("bad", [0, -5, 1.5, "100", True, None])
    def test_duration_must_be_a_positive_integer(self, bad):
        with pytest.raises(ValueError) as info:
            parse_action(act("long_click", "1,2", duration=bad))
        assert "duration" in str(info.value) and "\n" not in str(info.value)

    @pytest.mark.parametrize(("kind", "extra"), [("click", {"duration": 5}), ("long_click", {"x": 1})])
    def test_only_long_click_may_carry_duration(self, kind, extra):
        with pytest.raises(ValueError, match="exactly one key"):
            parse_action(act(kind, "1,2", **extra))


class TestSwipes:
    @pytest.mark.parametrize("direction", DIRECTIONS)
    def test_direction_swipe(self, direction):
        a = parse_action(act("swipe", f" {direction} "))
        assert a.to_wire()["action_parameter"] == {"swipe": direction}
        assert a.direction == direction and a.start is None and a.end is None

    def test_endpoint_swipe_direction_is_the_primary_axis(self):
        assert parse_action(act("swipe", "540,1900,540,900")).direction == "up"
        assert parse_action(act("swipe", "100,1000,900,1100")).direction == "right"
        a = parse_action(act("swipe", "10,10,10,10"))
        assert a.direction is None and a.start == Point(10, 10)

    @pytest.mark.parametrize("bad", ["UP", "north", "1,2,3"])
    def test_bad_swipe_names_both_forms(self, bad):
        with pytest.raises(ValueError, match=r"swipe must be four .*up, down, left, right"):
            parse_action(act("swipe", bad))


class TestHomeAndKey:
    def test_home(self):
        a = parse_action(act("home", ""))
        assert a.to_json() == wire("home", "")
        with pytest.raises(ValueError, match=r"^action_parameter\.home"):
            parse_action(act("home", "x"))

    @pytest.mark.parametrize("key", KEY_NAMES)
    def test_every_key_name(self, key):
        a = parse_action(act("key", key))
        assert a.key == key and a.to_json() == wire("key", key)

    @pytest.mark.parametrize("bad", ["Enter", "back", "", "home"])
    def test_unknown_key_lists_the_names(self, bad):
        with pytest.raises(ValueError, match=r"^action_parameter\.key: .*enter, app_switch, delete, search"):
            parse_action(act("key", bad))

    def test_unknown_type_lists_all_twelve(self):
        with pytest.raises(ValueError, match=r"expected one of open_app, .*, back, home, key$"):
            parse_action(act("tap", ""))


class TestJsonSchema:
    def test_schema_covers_every_type_and_form(self):
        schema = action_json_schema()
        assert set(schema["discriminator"]["mapping"]) == set(ALL_ACTION_TYPES)
        defs = schema["$defs"]
        target = defs["ClickParameter"]["properties"]["click"]["pattern"]
        assert re.match(target, "540,1200") and re.match(target, "1,2,3,4") and not re.match(target, "1,2,3")
        swipe = defs["SwipeParameter"]["properties"]["swipe"]["pattern"]
        assert re.match(swipe, "up") and re.match(swipe, "1,2,3,4") and not re.match(swipe, "north")
        assert defs["KeyParameter"]["properties"]["key"]["enum"] == list(KEY_NAMES)
        duration = defs["LongClickParameter"]["properties"]["duration"]
        assert "integer" in json.dumps(duration) and "long_click" in defs["LongClickParameter"]["required"]
        assert defs["HomeParameter"]["properties"]["home"]["const"] == ""


# ---------------------------------------------------------------------------------------------- rewards


def score(pred: str, truth: str, **kw) -> float:
    kw.setdefault("frame", SCREEN)
    kw.setdefault("pred_frame", "original")
    return score_action(parse_action(pred), parse_action(truth), **kw)


class TestPointRewards:
    def test_default_point_distance_is_androidcontrols(self):
        assert DEFAULT_POINT_DISTANCE == 0.04

    @pytest.mark.parametrize("method", ["default", "center_in_box", "distance", "gaussian", None])
    def test_point_inside_the_true_box_scores_one(self, method):
        truth = wire("click", "100,100,300,200")
        assert score(wire("click", "200,150"), truth, method=method) == 1.0

    def test_point_outside_the_box_gets_the_near_miss_credit_by_default(self):
        truth = wire("click", "100,100,300,200")
        near = score(wire("click", "310,150"), truth)
        assert 0 < near < 0.5
        assert score(wire("click", "310,150"), truth, method="center_in_box") == 0.0

    def test_iou_needs_a_predicted_box(self):
        assert score(wire("click", "200,150"), wire("click", "100,100,300,200"), method="iou") == 0.0

    @pytest.mark.parametrize("method", [*BOX_METHODS, None])
    def test_point_truth_scores_one_within_the_distance(self, method):
        truth = wire("click", "540,1200")
        # 0.03 of the width away: inside 0.04
        assert score(wire("click", "572,1200"), truth, method=method) == 1.0
        # a box whose centre is that point, too
        assert score(wire("click", "500,1100,644,1300"), truth, method=method) == 1.0

    def test_point_truth_beyond_the_distance(self):
        truth = wire("click", "540,1200")
        far = wire("click", "540,1344")  # 0.06 of the height away
        assert 0 < score(far, truth) < 0.5  # the near-miss credit, measured from the 0.04 circle
        assert score(far, truth, method="center_in_box") == 0.0
        assert score(far, truth, method="iou") == 0.0
        assert score(far, truth, method="distance") == 1.0  # AITW's 0.14
        assert score(far, truth, method="center_in_box", point_distance=0.1) == 1.0
        assert score(wire("click", "540,2400"), truth) == 0.0

    def test_points_are_converted_from_the_resized_frame(self):
        truth = wire("long_click", "540,1200")
        assert (
            score(wire("long_click", "546,1204"), truth, pred_frame="resized", method="center_in_box") == 1.0
        )
        assert (
            score(wire("long_click", "500,500"), truth, pred_frame="norm1000", method="center_in_box") == 1.0
        )

    def test_duration_does_not_count(self):
        truth = wire("long_click", "540,1200", duration=2000)
        assert score(wire("long_click", "540,1200"), truth) == 1.0

    def test_point_distance_setting_is_checked_and_reaches_the_reward(self):
        for bad in (-0.1, math.nan, math.inf):
            with pytest.raises(ValueError, match="point_distance"):
                RewardSettings(point_distance=bad)
            with pytest.raises(ValueError, match="point_distance"):
                AccuracyReward(point_distance=bad)
        settings = RewardSettings(
            coordinate_frame="original", accuracy_method="center_in_box", point_distance=0.1
        )
        (reward,) = get_reward_funcs(["accuracy"], settings)
        comp = render_completion(wire("click", "540,1344"), "answer")
        got = reward(completions=[comp], solution=[wire("click", "540,1200")], image_sizes=[[[1080, 2400]]])
        assert got == [1.0]


class TestSwipeHomeKeyRewards:
    def test_direction_against_direction_is_an_exact_match(self):
        assert score(wire("swipe", "up"), wire("swipe", "up")) == 1.0
        assert score(wire("swipe", "down"), wire("swipe", "up")) == 0.0

    def test_endpoints_against_a_direction_compare_the_primary_axis(self):
        assert score(wire("swipe", "540,1900,560,900"), wire("swipe", "up")) == 1.0
        assert score(wire("swipe", "540,900,540,1900"), wire("swipe", "up")) == 0.0
        assert score(wire("swipe", "5,5,5,5"), wire("swipe", "up")) == 0.0

    def test_a_direction_against_endpoints_earns_the_direction_credit(self):
        truth = wire("swipe", "540,1900,540,900")
        assert score(wire("swipe", "up"), truth) == 0.5
        assert score(wire("swipe", "left"), truth) == 0.0

    def test_home_and_key(self):
        assert score(wire("home", ""), wire("home", "")) == 1.0
        assert score(wire("back", ""), wire("home", "")) == 0.0
        assert score(wire("key", "enter"), wire("key", "enter")) == 1.0
        assert score(wire("key", "search"), wire("key", "enter")) == 0.0


NEW_FORMS = [
    wire("click", "540,1200"),
    wire("long_click", "540,1200", duration=800),
    wire("swipe", "left"),
    wire("home", ""),
    wire("key", "app_switch"),
]
THINK = {
    "task_interpretation": "a",
    "current_page_audit": "b",
    "path_alignment_check": "c",
    "action_validation": "d",
}


class TestFormatRewardsAcceptNewTypes:
    @pytest.mark.parametrize("answer", NEW_FORMS)
    @pytest.mark.parametrize("form", ["answer", "think"])
    def test_gold_in_the_stated_form_scores_full(self, answer, form):
        comp = render_completion(answer, form, THINK)
        assert FormatReward(normalize=True)(completions=[comp], output_format=[form]) == [1.0]
        assert FormatStrictReward()(completions=[comp], output_format=[form]) == [1.0]
        (acc,) = get_reward_funcs(["accuracy"], RewardSettings(coordinate_frame="original"))
        assert acc(completions=[comp], solution=[answer], image_sizes=[[[1080, 2400]]]) == [1.0]


class TestPointDistanceOptions:
    def _files(self, tmp_path) -> tuple[str, str]:
        human = {"from": "human", "value": "任务 <image>"}
        row = {
            "id": 1,
            "image": "s.png",
            "image_sizes": [[1080, 2400]],
            "conversations": [human, {"from": "gpt", "value": wire("click", "540,1200")}],
        }
        pred = {"id": 1, "completion": f"<answer>{wire('click', '540,1344')}</answer>"}  # 0.06 away
        data, preds = tmp_path / "d.jsonl", tmp_path / "p.jsonl"
        data.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        preds.write_text(json.dumps(pred, ensure_ascii=False) + "\n", encoding="utf-8")
        return str(data), str(preds)

    def test_score_point_distance(self, tmp_path, capsys):
        from gui_agent_rl.cli import main

        data, preds = self._files(tmp_path)
        base = ["score", "--dataset", data, "--predictions", preds, "--frame", "original"]
        base += ["--rewards", "accuracy", "--method", "center_in_box"]
        assert main(base) == 0
        assert "accuracy/click 0.0000" in " ".join(capsys.readouterr().out.split())
        assert main([*base, "--point-distance", "0.1"]) == 0
        assert "accuracy/click 1.0000" in " ".join(capsys.readouterr().out.split())
        assert main([*base, "--point-distance", "-1"]) == 2
        assert "point_distance must be a finite number >= 0" in capsys.readouterr().err

    def test_recipe_field(self):
        from gui_agent_rl.train.config import GuiScriptArguments

        assert GuiScriptArguments.__dataclass_fields__["point_distance"].default == DEFAULT_POINT_DISTANCE
