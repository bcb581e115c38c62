"""`eval --protocol`: the published matching rules, case by case from the reference implementations.

References (read in full; cited per test):
- AITW: google-research/google-research android_in_the_wild/action_matching.py
- Qwen2.5-VL's evaluator as published in OpenBMB/AgentCPM-GUI eval/utils/evaluator.py
- SeeClick's AITW text rule (aitw_test.py: equal, or one contains the other)
"""

from __future__ import annotations

import json

import pytest

from gui_agent_rl.cli._eval_options import PROTOCOL_CHOICES
from gui_agent_rl.evaluate import protocol_rules as R
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.protocols import PROTOCOL_NAMES, get_protocol
from gui_agent_rl.evaluate.scoring import evaluate
from gui_agent_rl.rewards import RewardSettings
from gui_agent_rl.schemas import Sample

ORIGINAL = RewardSettings(coordinate_frame="original")
W, H = 1000, 2000


def act(kind: str, value: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}}, ensure_ascii=False)


def make_sample(sid, truth, meta=None, prompt="<image>", sizes=((W, H),)) -> Sample:
    data = {
        "id": sid,
        "image": ["t/a.png"],
        "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": truth}],
        "image_sizes": [list(s) for s in sizes] if sizes else None,
        "task_id": "1",
        "step": sid,
        "output_format": "answer",
    }
    if meta is not None:
        data["meta"] = meta
    return Sample.model_validate(data)


def run(protocol, cases, settings=ORIGINAL, **kw):
    """``cases``: (truth action, predicted action or None, meta); returns the protocol block."""
    rows = [
        Scored(make_sample(i, t, m, **kw), None if p is None else f"<answer>{p}</answer>")
        for i, (t, p, m) in enumerate(cases)
    ]
    ev = evaluate(rows, settings=settings, reward_names=(), protocol=protocol)
    return ev.metrics["protocol"], [r.protocol for r in ev.results]


# A 400x100-pixel element at (300, 950)-(700, 1050) on a 1000x2000 screen; the truth tap at its centre.
# Normalised x: 0.3..0.7; AITW's 1.4 augment: 0.02..0.98; Qwen's 1.2: 0.26..0.74.
ELEMENT = [300, 950, 700, 1050]
TAP_META = {"screen_size": [W, H], "tap_point": [500, 1000], "elements": [ELEMENT]}
TRUTH_CLICK = act("click", ",".join(map(str, ELEMENT)))


class TestAitwRules:
    """action_matching.py, function by function, in normalised (y, x)."""

    def test_resize_grows_by_the_fraction_and_clamps_like_the_reference(self):
        """_resize_annotation_bounding_boxes: change = 1.4 x size, top-left moves by half of it."""
        assert [round(v, 9) for v in R.aitw_resize((0.5, 0.5, 0.1, 0.1))] == [0.43, 0.43, 0.24, 0.24]
        top, _, height, _ = R.aitw_resize((0.01, 0.2, 0.1, 0.1))
        assert (top, round(height, 9)) == (0.0, 0.24)  # clamped at 0, height NOT reduced: reaches 0.24
        assert R.aitw_resize((0.3, 0.3, 0.5, 0.5))[2:] == (1.0, 1.0)  # min(1, h + change)

    def test_box_edges_are_inside(self):
        """_yx_in_bounding_boxes: containment is inclusive of the edges."""
        box = (0.2, 0.2, 0.1, 0.1)
        assert R.in_box((0.2, 0.2), box) and R.in_box((0.3, 0.3), box)
        assert not R.in_box((0.3000001, 0.25), box)

    def test_tap_is_a_move_of_at_most_0_04(self):
        """is_tap_action: distance <= _SWIPE_DISTANCE_THRESHOLD (0.04), inclusive."""
        assert R.is_tap((0.0, 0.0), (0.04, 0.0))
        assert not R.is_tap((0.0, 0.0), (0.0401, 0.0))

    def test_taps_within_exactly_0_14_match(self):
        """_check_tap_actions_match: norm <= 0.14 (inclusive) without any box."""
        assert R.aitw_taps_match((0.0, 0.0), (0.14, 0.0), [], 0.14, 1.4)
        assert not R.aitw_taps_match((0.0, 0.0), (0.1401, 0.0), [], 0.14, 1.4)

    def test_taps_far_apart_match_in_the_same_enlarged_box_only(self):
        """both_in_box: one resized box must hold BOTH taps; one tap per box is not enough."""
        tall = (0.1, 0.45, 0.3, 0.1)  # resized: top 0.1 - 0.21 -> 0, height 0.72
        assert R.aitw_taps_match((0.05, 0.5), (0.7, 0.5), [tall], 0.14, 1.4)  # 0.65 apart, same box
        a, b = (0.1, 0.1, 0.05, 0.05), (0.8, 0.8, 0.05, 0.05)
        assert not R.aitw_taps_match((0.125, 0.125), (0.825, 0.825), [a, b], 0.14, 1.4)

    def test_enlarged_edge_is_inside_and_just_beyond_is_not(self):
        """Box (0.5, 0.5, 0.1, 0.1) grows to x in [0.43, 0.67]; with the other tap 0.2 away."""
        box = [(0.5, 0.5, 0.1, 0.1)]
        left, right = R.aitw_resize(box[0])[1], sum(R.aitw_resize(box[0])[1::2])
        assert R.aitw_taps_match((0.55, left), (0.55, right), box, 0.14, 1.4)
        assert not R.aitw_taps_match((0.55, left - 1e-9), (0.55, right), box, 0.14, 1.4)

    def test_swipes_match_on_the_main_axis_not_the_sign(self):
        """_check_drag_actions_match: argmax(|delta|) equal; up and down share an axis."""
        up = (R.DUAL_POINT, (0.8, 0.5), (0.2, 0.5))
        down = (R.DUAL_POINT, (0.2, 0.5), (0.8, 0.5))
        left = (R.DUAL_POINT, (0.5, 0.8), (0.5, 0.2))
        assert R.aitw_actions_match(up, down, [])
        assert not R.aitw_actions_match(up, left, [])

    def test_an_axis_tie_is_vertical(self):
        """np.argmax returns the first maximum: index 0, the y axis."""
        assert R.main_axis((0.5, 0.5), (0.7, 0.7)) == 0
        diagonal = (R.DUAL_POINT, (0.5, 0.5), (0.7, 0.7))
        assert R.aitw_actions_match(diagonal, (R.DUAL_POINT, (0.9, 0.5), (0.2, 0.5)), [])

    def test_tap_against_swipe_and_non_dual_point_types(self):
        """check_actions_match: different_dual_point_types -> False; a non-dual point -> type equality."""
        tap = (R.DUAL_POINT, (0.5, 0.5), (0.5, 0.5))
        swipe = (R.DUAL_POINT, (0.5, 0.5), (0.9, 0.5))
        assert not R.aitw_actions_match(tap, swipe, [(0.0, 0.0, 1.0, 1.0)])
        assert R.aitw_actions_match((R.TYPE, (0, 0), (0, 0)), (R.TYPE, (1, 1), (1, 1)), [])
        assert not R.aitw_actions_match((R.PRESS_BACK, (0, 0), (0, 0)), tap, [])


class TestQwenRules:
    """AgentCPM-GUI eval/utils/evaluator.py (Qwen2.5-VL's evaluator)."""

    def test_resize_grows_by_factor_minus_one(self):
        """_resize_annotation_bounding_boxes: h_delta = (1.2 - 1) * h; same clamps as AITW."""
        assert [round(v, 9) for v in R.qwen_resize((0.5, 0.5, 0.1, 0.1))] == [0.49, 0.49, 0.12, 0.12]
        assert R.qwen_resize((0.001, 0.0, 0.1, 0.1))[0] == 0.0

    def test_click_in_a_box_holding_the_truth_or_within_0_14(self):
        """obtain_gt_bbox (common mode): enlarged boxes containing the truth; else the distance rule."""
        box = [(0.1, 0.1, 0.5, 0.1)]  # tall: truth near its top, prediction near its bottom
        assert R.qwen_click_match((0.55, 0.15), (0.12, 0.15), box, 0.14)
        assert not R.qwen_click_match((0.55, 0.15), (0.12, 0.15), [], 0.14)
        assert R.qwen_click_match((0.14, 0.0), (0.0, 0.0), [], 0.14)  # exactly 0.14: inclusive

    def test_androidcontrol_takes_the_five_nearest_boxes_ties_in_element_order(self):
        """obtain_gt_bbox (android control): sorted by centre distance, [:5]; sorted() is stable."""
        ring = [(0.5 - 0.01 + dy, 0.5 - 0.01 + dx, 0.02, 0.02) for dy, dx in
                [(0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1), (0.1, 0.0), (0.0, 0.1)]]  # fmt: skip
        picked = R.qwen_candidates((0.5, 0.5), ring, 5)
        assert picked == ring[:5]  # all six tie at 0.1: the sixth (a copy of the third) is dropped
        far = ring[5]
        assert not R.qwen_click_match((0.6, 0.6), (0.5, 0.5), [*ring[:5], far], 0.04, nearest=5)
        assert R.qwen_click_match((0.6, 0.5), (0.5, 0.5), ring[:5], 0.04, nearest=5)  # in the 1st box

    def test_direction_ties_are_vertical(self):
        """_get_direction: abs(vx) > abs(vy) is horizontal, else vertical."""
        assert R.qwen_direction((0.5, 0.5), (0.6, 0.6)) == "down"
        assert R.qwen_direction((0.5, 0.5), (0.5, 0.3)) == "left"
        assert R.qwen_direction((0.5, 0.5), (0.5, 0.5)) is None

    def test_text_rules(self):
        """Qwen: lower().strip() containment either way; SeeClick AITW: case-sensitive containment."""
        assert R.qwen_text_match(" Weather Wuxi ", "weather")
        assert R.qwen_text_match("", "anything")  # the reference's own quirk: "" is in every string
        assert R.contains_either("Wuxi weather", "Wuxi") and not R.contains_either("wuxi", "Wuxi")


class TestPresets:
    def test_names_and_the_cli_choices_agree(self):
        assert tuple(PROTOCOL_CHOICES) == PROTOCOL_NAMES
        assert get_protocol("androidcontrol") == get_protocol("qwen-androidcontrol")
        with pytest.raises(ValueError, match="aitw, aitz"):
            get_protocol("mind2web")

    @pytest.mark.parametrize(
        ("protocol", "x", "right"),
        [
            ("aitw", 800, True),  # 0.3 away, inside the 2.4x box with the truth
            ("aitw", 990, False),  # beyond the 2.4x box (0.98) and 0.49 away
            ("aitz", 800, False),  # beyond the 1.2x box (0.74) and 0.3 > 0.14
            ("aitz", 720, True),  # 0.22 away, inside the 1.2x box holding the truth
            ("qwen-androidcontrol", 720, True),  # inside the (only, so nearest) 1.2x box
            ("qwen-androidcontrol", 760, False),  # beyond it and 0.26 > 0.04
        ],
    )
    def test_one_tap_under_each_preset(self, protocol, x, right):
        block, verdicts = run(protocol, [(TRUTH_CLICK, act("click", f"{x},1000"), TAP_META)])
        assert verdicts[0]["step_ok"] is right, verdicts[0]["reason"]
        assert block["name"] == get_protocol(protocol).name and block["step_success"] == float(right)

    def test_androidcontrol_accepts_a_near_element_that_does_not_hold_the_truth(self):
        """obtain_gt_bbox: AndroidControl mode takes the nearest boxes, the common mode containing ones."""
        meta = {**TAP_META, "elements": [[0, 0, 100, 100], [600, 950, 700, 1050]]}
        case = [(TRUTH_CLICK, act("click", "650,1000"), meta)]  # 0.15 from the truth
        assert run("qwen-androidcontrol", case)[0]["step_success"] == 1.0
        assert run("aitz", case)[0]["step_success"] == 0.0

    def test_the_truth_is_the_original_tap_point_not_the_element_centre(self):
        """meta.tap_point is the reference's touch point: the distance is measured from it."""
        meta = {**TAP_META, "tap_point": [455, 955], "elements": []}  # tap at the element's corner
        _, verdicts = run("qwen-androidcontrol", [(TRUTH_CLICK, act("click", "470,980"), meta)])
        assert verdicts[0]["step_ok"]  # 0.015 and 0.0125 from the tap point: within 0.04
        _, verdicts = run("qwen-androidcontrol", [(TRUTH_CLICK, act("click", "540,1040"), meta)])
        assert not verdicts[0]["step_ok"]  # 0.085 from the tap point, though near the box centre

    def test_prediction_frame_is_converted_before_normalising(self):
        """A resized-frame answer maps to original pixels first (as the rewards do)."""
        settings = RewardSettings(coordinate_frame="norm1000")
        _, verdicts = run("qwen-androidcontrol", [(TRUTH_CLICK, act("click", "500,500"), TAP_META)], settings)
        assert verdicts[0]["step_ok"]  # norm1000 (500, 500) is (500, 1000) on 1000x2000

    def test_long_press_is_its_own_type_for_qwen_and_a_tap_for_aitw(self):
        truth = act("long_click", ",".join(map(str, ELEMENT)))
        block, _ = run("aitz", [(truth, act("click", "500,1000"), TAP_META)])
        assert (block["type_accuracy"], block["step_success"]) == (0.0, 0.0)
        block, _ = run("aitw", [(truth, act("click", "500,1000"), TAP_META)])
        assert block["step_success"] == 1.0

    def test_swipes_scrolls_presses_stops(self):
        swipe = act("swipe", "500,1800,500,600")  # finger up
        cases = [
            (swipe, act("swipe", "500,600,500,1800"), None),  # down: AITW axis match, Qwen no
            (act("task_impossible", "x"), act("task_completed", "y"), None),  # both "stop" for Qwen
            (act("back"), act("wait"), None),
        ]
        aitw, _ = run("aitw", cases)
        qwen, _ = run("aitz", cases)
        assert aitw["per_type"]["swipe"]["step_success"] == 1.0
        assert qwen["per_type"]["swipe"]["step_success"] == 0.0
        assert aitw["per_type"]["task_impossible"]["step_success"] == 0.0  # 10 vs 11
        assert qwen["per_type"]["task_impossible"]["step_success"] == 1.0
        assert aitw["per_type"]["back"]["type_accuracy"] == qwen["per_type"]["back"]["type_accuracy"] == 0.0

    def test_typed_text(self):
        cases = [(act("type", "Wuxi weather"), act("type", "wuxi"), None)]
        assert run("aitw", cases)[0]["step_success"] == 0.0  # case-sensitive containment
        assert run("aitz", cases)[0]["step_success"] == 1.0  # lower-cased containment

    def test_a_missing_prediction_is_wrong(self):
        block, verdicts = run("aitw", [(TRUTH_CLICK, None, TAP_META)])
        assert block["step_success"] == 0.0 and verdicts[0]["reason"] == "no prediction"


class TestMissingMeta:
    def test_without_elements_taps_are_judged_by_distance_and_the_fallback_is_counted(self):
        meta = {"screen_size": [W, H], "tap_point": [500, 1000]}
        block, verdicts = run("aitw", [(TRUTH_CLICK, act("click", "650,1000"), meta)])
        assert not verdicts[0]["step_ok"]  # 0.15 > 0.14 and no box to share
        assert block["fallbacks"] == {"no meta.elements": 1}

    def test_without_any_meta_the_truth_point_and_image_size_stand_in(self):
        block, verdicts = run("aitw", [(TRUTH_CLICK, act("click", "600,1100"), None)])
        assert verdicts[0]["step_ok"]  # centre (500, 1000) -> 0.11 away
        assert block["fallbacks"] == {
            "no meta.elements": 1,
            "no meta.tap_point (the truth's point or box centre)": 1,
            "screen size from image_sizes": 1,
        }

    def test_no_screen_size_at_all_is_an_error_naming_the_sample(self):
        with pytest.raises(ValueError, match=r"sample 0: --protocol needs the screen size"):
            run("aitw", [(act("back"), act("back"), None)], sizes=None)

    def test_malformed_elements_are_an_error_naming_the_field(self):
        meta = {**TAP_META, "elements": [[1, 2, 3]]}
        with pytest.raises(ValueError, match=r"meta.elements\[0\] must be 4 numbers"):
            run("aitw", [(TRUTH_CLICK, act("click", "500,1000"), meta)])


class TestSetting:
    def test_low_high_and_unknown_from_the_imported_instruction(self):
        meta = {"goal": "Book a taxi", "step_instruction": "Tap the taxi icon"}
        low = make_sample(0, act("back"), meta, prompt='<image> {"task_content":"Tap the taxi icon"}')
        high = make_sample(1, act("back"), meta, prompt='<image> {"task_content":"Book a taxi"}')
        rows = [
            Scored(low, f"<answer>{act('back')}</answer>"),
            Scored(high, f"<answer>{act('wait')}</answer>"),
        ]
        block = evaluate(rows, settings=ORIGINAL, reward_names=(), protocol="aitw").metrics["protocol"]
        assert block["setting"] == "mixed"
        assert block["settings"]["low"]["step_success"] == 1.0
        assert block["settings"]["high"]["step_success"] == 0.0
        only, _ = run("aitw", [(act("back"), act("back"), None)])
        assert only["setting"] == "unknown"


class TestCli:
    def test_eval_protocol_prints_and_writes_its_name_and_numbers_beside_the_default(self, tmp_path, capsys):
        from gui_agent_rl.cli import main

        truths = [(TRUTH_CLICK, TAP_META), (act("back"), None)]
        samples = [
            make_sample(i, t, m).model_dump(by_alias=True, exclude_none=True)
            for i, (t, m) in enumerate(truths)
        ]
        data = tmp_path / "data.jsonl"
        data.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
        preds = [
            {"id": 0, "completion": f"<answer>{act('click', '800,1000')}</answer>"},
            {"id": 1, "completion": ""},
        ]
        pred = tmp_path / "pred.jsonl"
        pred.write_text("".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8")
        out = tmp_path / "m.json"
        args = ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"]
        assert main([*args, "--protocol", "aitw", "--output", str(out)]) == 0
        m = json.loads(out.read_text(encoding="utf-8"))
        assert m["step_success"] == 0.0  # the default rule: (800, 1000) is outside the box
        assert m["protocol"]["name"] == "aitw" and m["protocol"]["step_success"] == 0.5
        assert "action_matching.py" in m["protocol"]["source"]
        text = capsys.readouterr().out
        assert "protocol aitw (google-research" in text
        assert "step_success" in text and "50.00%" in text

    def test_an_unknown_protocol_exits_2(self, tmp_path, capsys):
        from gui_agent_rl.cli import main

        with pytest.raises(SystemExit) as exc:
            main(["eval", "--dataset", "x", "--predictions", "y", "--protocol", "nope"])
        assert exc.value.code == 2
