"""The ten actions: SPEC §3 examples, every rejection the foundation issue lists, round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.schemas import (
    ACTION_TYPES,
    Box,
    ClickAction,
    Inquiry,
    InquiryAction,
    Point,
    SwipeAction,
    action_json_schema,
    parse_action,
)

INQUIRY_TEXT = (
    '{\n  "Question": "搜索笑脸后有多个表情包,请问您想发送哪一个?",\n'
    "  \"CandidatesList\": \"['黄色大笑脸', '手绘风格笑脸']\",\n"
    '  "PicDescribe": "聊天界面中显示了表情搜索结果,包含多个笑脸表情包。",\n  "AnswerIndex": 0\n}'
)

SPEC_EXAMPLES = [
    {"action_type": "open_app", "action_parameter": {"open_app": "微信"}},
    {
        "action_type": "click",
        "action_parameter": {"click": "49,721,1368,1008"},
        "action_description": "点击剑来",
    },
    {"action_type": "click", "action_parameter": {"click": "37,378,227,633"}},
    {"action_type": "long_click", "action_parameter": {"long_click": "763,2183,1151,2706"}},
    {"action_type": "type", "action_parameter": {"type": "无锡"}},
    {"action_type": "swipe", "action_parameter": {"swipe": "158,1557,122,1253"}},
    {
        "action_type": "task_completed",
        "action_parameter": {"task_completed": "任务已完成,已在视频号中搜索。"},
    },
    {"action_type": "task_impossible", "action_parameter": {"task_impossible": "找不到该商品"}},
    {"action_type": "inquiry", "action_parameter": {"inquiry": INQUIRY_TEXT}},
    {"action_type": "wait", "action_parameter": {"wait": ""}, "action_description": "等待"},
    {"action_type": "back", "action_parameter": {"back": ""}},
]


class TestValidActions:
    @pytest.mark.parametrize("wire", SPEC_EXAMPLES, ids=lambda w: w["action_type"])
    def test_spec_example_round_trips_exactly(self, wire):
        action = parse_action(wire)
        assert action.action_type == wire["action_type"]
        assert action.to_wire() == wire
        assert parse_action(action.to_json()) == action

    def test_all_ten_types_are_covered_by_the_examples(self):
        assert {w["action_type"] for w in SPEC_EXAMPLES} == set(ACTION_TYPES)

    def test_wire_key_order_is_type_parameter_description(self):
        wire = SPEC_EXAMPLES[1]
        assert list(parse_action(wire).to_wire()) == ["action_type", "action_parameter", "action_description"]

    @pytest.mark.parametrize("wire", SPEC_EXAMPLES, ids=lambda w: w["action_type"])
    def test_to_json_is_the_json_dumps_layout(self, wire):
        assert parse_action(wire).to_json() == json.dumps(wire, ensure_ascii=False)

    def test_to_json_escapes_quotes_controls_and_line_separators_as_json_dumps_does(self):
        wire = {"action_type": "type", "action_parameter": {"type": 'say "hi"\\ \n\t\x01 \u2028 😀'}}
        assert parse_action(wire).to_json() == json.dumps(wire, ensure_ascii=False)

    @given(text=st.text(min_size=1).filter(str.strip), description=st.none() | st.text())
    def test_to_json_escapes_any_text_as_json_dumps_does(self, text, description):
        action = parse_action(
            {"action_type": "type", "action_parameter": {"type": text}, "action_description": description}
        )
        assert action.to_json() == json.dumps(action.to_wire(), ensure_ascii=False)

    def test_json_keeps_chinese_unescaped(self):
        assert "点击剑来" in parse_action(SPEC_EXAMPLES[1]).to_json()

    def test_box_view_is_four_numbers(self):
        action = parse_action(SPEC_EXAMPLES[1])
        assert isinstance(action, ClickAction)
        assert action.box == Box(49, 721, 1368, 1008)

    def test_whitespace_inside_a_box_string_is_normalised(self):
        action = parse_action({"action_type": "click", "action_parameter": {"click": " 1, 2 ,30,40 "}})
        assert action.to_wire()["action_parameter"] == {"click": "1,2,30,40"}

    def test_swipe_view_is_two_points(self):
        action = parse_action(SPEC_EXAMPLES[5])
        assert isinstance(action, SwipeAction)
        assert (action.start, action.end) == (Point(158, 1557), Point(122, 1253))

    def test_inquiry_view_parses_the_python_style_candidate_list(self):
        action = parse_action(SPEC_EXAMPLES[8])
        assert isinstance(action, InquiryAction)
        inq = action.inquiry
        assert inq.candidates == ("黄色大笑脸", "手绘风格笑脸")
        assert inq.answer_index == 0
        assert inq.question.startswith("搜索笑脸")

    def test_inquiry_to_text_reads_back_equal(self):
        inq = parse_action(SPEC_EXAMPLES[8]).inquiry
        assert Inquiry.from_text(inq.to_text()) == inq

    @pytest.mark.parametrize("form", ["dict", "str", "bytes"])
    def test_parse_accepts_dict_str_and_bytes(self, form):
        wire = SPEC_EXAMPLES[4]
        text = json.dumps(wire, ensure_ascii=False)
        obj = {"dict": wire, "str": text, "bytes": text.encode()}[form]
        assert parse_action(obj).to_wire() == wire


def _inquiry(**overrides) -> str:
    obj = {"Question": "哪一个?", "CandidatesList": "['a', 'b']", "PicDescribe": "图", "AnswerIndex": 1}
    obj.update(overrides)
    return json.dumps({k: v for k, v in obj.items() if v is not ...}, ensure_ascii=False)


INVALID = [
    # (case id, input, substring the one-line error must contain)
    (
        "unknown type",
        {"action_type": "tap", "action_parameter": {"tap": "1,2,3,4"}},
        "unknown action type 'tap'",
    ),
    ("missing type", {"action_parameter": {"click": "1,2,3,4"}}, "action_type: missing"),
    ("key differs", {"action_type": "click", "action_parameter": {"tap": "1,2,3,4"}}, "equal to action_type"),
    (
        "two keys",
        {"action_type": "click", "action_parameter": {"click": "1,2,3,4", "x": "1"}},
        "exactly one key",
    ),
    ("no parameter", {"action_type": "click"}, "action_parameter: missing"),
    ("three ints", {"action_type": "click", "action_parameter": {"click": "1,2,3"}}, "four comma-separated"),
    (
        "five ints",
        {"action_type": "click", "action_parameter": {"click": "1,2,3,4,5"}},
        "four comma-separated",
    ),
    (
        "float box",
        {"action_type": "click", "action_parameter": {"click": "1.5,2,3,4"}},
        "four comma-separated",
    ),
    ("words box", {"action_type": "long_click", "action_parameter": {"long_click": "a,b,c,d"}}, "long_click"),
    (
        "box as list",
        {"action_type": "click", "action_parameter": {"click": [1, 2, 3, 4]}},
        "action_parameter.click",
    ),
    ("inverted x", {"action_type": "click", "action_parameter": {"click": "30,2,10,40"}}, "x1 < x2"),
    ("inverted y", {"action_type": "click", "action_parameter": {"click": "1,40,30,2"}}, "y1 < y2"),
    ("empty box", {"action_type": "click", "action_parameter": {"click": "1,2,1,40"}}, "x1 < x2"),
    ("negative box", {"action_type": "click", "action_parameter": {"click": "-1,2,30,40"}}, "negative"),
    ("swipe three", {"action_type": "swipe", "action_parameter": {"swipe": "1,2,3"}}, "swipe must be four"),
    ("negative swipe", {"action_type": "swipe", "action_parameter": {"swipe": "1,-2,3,4"}}, "negative"),
    (
        "empty app",
        {"action_type": "open_app", "action_parameter": {"open_app": "  "}},
        "open_app: must not be empty",
    ),
    ("wait text", {"action_type": "wait", "action_parameter": {"wait": "等待"}}, "action_parameter.wait"),
    ("extra top key", {"action_type": "back", "action_parameter": {"back": ""}, "x": 1}, "x: unexpected key"),
    ("inquiry not json", {"action_type": "inquiry", "action_parameter": {"inquiry": "哪个?"}}, "JSON"),
    ("inquiry list", {"action_type": "inquiry", "action_parameter": {"inquiry": "[1]"}}, "JSON object"),
    (
        "inquiry no question",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(Question=...)}},
        "lacks Question",
    ),
    (
        "inquiry index high",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(AnswerIndex=2)}},
        "out of range",
    ),
    (
        "inquiry index negative",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(AnswerIndex=-1)}},
        "out of range",
    ),
    (
        "inquiry index str",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(AnswerIndex="1")}},
        "AnswerIndex",
    ),
    (
        "inquiry extra",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(Extra=1)}},
        "Extra",
    ),
    (
        "inquiry code",
        {
            "action_type": "inquiry",
            "action_parameter": {"inquiry": _inquiry(CandidatesList="__import__('os')")},
        },
        "not a list literal",
    ),
    (
        "inquiry not list",
        {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(CandidatesList="'a'")}},
        "list of strings",
    ),
    ("not an object", [1, 2], "JSON object"),
    ("not json", "{oops", "not valid JSON"),
]


class TestInvalidActions:
    @pytest.mark.parametrize(("case", "obj", "needle"), INVALID, ids=[c[0] for c in INVALID])
    def test_rejected_with_a_one_line_message_naming_the_problem(self, case, obj, needle):
        with pytest.raises(ValueError) as info:
            parse_action(obj)
        message = str(info.value)
        assert needle in message
        assert "\n" not in message

    def test_inquiry_candidates_are_never_evaluated(self, tmp_path):
        marker = tmp_path / "pwned"
        code = f"open({str(marker)!r}, 'w')"
        with pytest.raises(ValueError):
            parse_action(
                {"action_type": "inquiry", "action_parameter": {"inquiry": _inquiry(CandidatesList=code)}}
            )
        assert not marker.exists()


coords = st.integers(min_value=0, max_value=5000)
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).filter(lambda s: s.strip())


@st.composite
def boxes(draw) -> str:
    x1, y1 = draw(coords), draw(coords)
    return f"{x1},{y1},{x1 + draw(st.integers(1, 2000))},{y1 + draw(st.integers(1, 2000))}"


@st.composite
def inquiries(draw) -> str:
    cands = draw(st.lists(st.text(), min_size=1, max_size=5))
    return json.dumps(
        {
            "Question": draw(st.text()),
            "CandidatesList": repr(cands),
            "PicDescribe": draw(st.text()),
            "AnswerIndex": draw(st.integers(0, len(cands) - 1)),
        },
        ensure_ascii=draw(st.booleans()),
    )


PARAMS = {
    "open_app": text,
    "click": boxes(),
    "long_click": boxes(),
    "type": text,
    "swipe": st.tuples(coords, coords, coords, coords).map(lambda t: ",".join(map(str, t))),
    "task_completed": st.text(),
    "task_impossible": st.text(),
    "inquiry": inquiries(),
    "wait": st.just(""),
    "back": st.just(""),
}


@st.composite
def wire_actions(draw) -> dict:
    kind = draw(st.sampled_from(ACTION_TYPES))
    wire = {"action_type": kind, "action_parameter": {kind: draw(PARAMS[kind])}}
    if draw(st.booleans()):
        wire["action_description"] = draw(st.text())
    return wire


class TestRoundTrip:
    @given(wire_actions())
    def test_wire_to_model_to_wire_is_lossless(self, wire):
        action = parse_action(wire)
        assert action.to_wire() == wire
        assert parse_action(action.to_json()) == action

    @given(wire_actions())
    def test_json_text_round_trip(self, wire):
        assert parse_action(json.dumps(wire, ensure_ascii=False)).to_wire() == wire


class TestJsonSchema:
    def test_schema_lists_all_twelve_variants(self):  # the seed's ten plus home and key (issue 12)
        schema = action_json_schema()
        tags = set(schema["discriminator"]["mapping"])
        assert tags == {*ACTION_TYPES, "home", "key"}

    def test_box_parameter_carries_a_pattern_for_constrained_decoders(self):
        defs = action_json_schema()["$defs"]
        assert "pattern" in defs["ClickParameter"]["properties"]["click"]
