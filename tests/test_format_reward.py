"""The graded format reward: SPEC §6 values, the seed's search semantics, the two fixes."""

from __future__ import annotations

import json
import pickle
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui_agent_rl.rewards.extra import SchemaReward, ThinkFieldsReward
from gui_agent_rl.rewards.format import FormatReward, FormatStrictReward, format_score
from gui_agent_rl.schemas.think import THINK_FIELDS

THINK = json.dumps({f: "内容" for f in THINK_FIELDS}, ensure_ascii=False)
ANSWER = (
    '{"action_type": "click", "action_parameter": {"click": "49,721,1368,1008"}, '
    '"action_description": "点击剑来"}'
)

TOKENS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "{}",
    "[1",
    "]",
    " ",
    '"task_interpretation"',
    "5",
    "x",
    "\n",
    ":",
    ",",
    '"',
    "NaN",
    THINK,
]


def seed_format_score(content: str) -> float:
    """The seed's format_reward body (SPEC §6) with the two fixes, as the reference."""
    score = 0.0
    think_match = re.search(r"<think>(.*?)</think>", content, re.DOTALL)
    if think_match:
        score += 0.5
        try:
            think_json = json.loads(think_match.group(1).strip())
            score += 0.5
            if isinstance(think_json, dict) and all(f in think_json for f in THINK_FIELDS):
                score += 0.5
        except (json.JSONDecodeError, RecursionError):
            pass
    answer_match = re.search(r"<answer>(.*?)</answer>", content, re.DOTALL)
    if answer_match:
        score += 0.5
        try:
            json.loads(answer_match.group(1).strip())
            score += 0.5
        except (json.JSONDecodeError, RecursionError):
            pass
    return score


class TestFormatScore:
    def test_full_think_and_answer_score_the_maximum(self):
        assert format_score(f"<think>{THINK}</think>\n<answer>{ANSWER}</answer>") == 2.5

    def test_spec_example_with_text_around_the_tags_still_scores_full(self):
        assert format_score(f"好的。<think> {THINK} </think> 然后 <answer>\n{ANSWER}\n</answer> 完") == 2.5

    def test_no_tags_score_zero(self):
        assert format_score(ANSWER) == 0.0

    def test_unclosed_think_tag_scores_only_the_answer_half(self):
        assert format_score(f"<think>{THINK}<answer>{ANSWER}</answer>") == 1.0

    def test_non_json_think_earns_only_the_tag(self):
        assert format_score(f"<think>I should click</think><answer>{ANSWER}</answer>") == 1.5

    def test_think_object_missing_a_field_gets_no_field_credit(self):
        partial = json.dumps({f: "x" for f in THINK_FIELDS[:3]})
        assert format_score(f"<think>{partial}</think><answer>{ANSWER}</answer>") == 2.0

    def test_number_think_does_not_crash_and_gets_no_field_credit(self):
        assert format_score("<think>5</think>") == 1.0

    def test_null_think_is_json_without_field_credit(self):
        assert format_score("<think>null</think><answer>{}</answer>") == 2.0

    @pytest.mark.parametrize(
        "container", [json.dumps(" ".join(THINK_FIELDS)), json.dumps(list(THINK_FIELDS))]
    )
    def test_string_or_list_naming_the_fields_gets_no_field_credit(self, container):
        assert format_score(f"<think>{container}</think>") == 1.0

    def test_first_pair_counts_even_when_a_later_pair_is_valid(self):
        assert format_score(f"<answer>oops</answer><answer>{ANSWER}</answer>") == 0.5

    def test_non_greedy_pair_ends_at_the_first_closing_tag(self):
        assert format_score("<answer>{}</answer>junk</answer>") == 1.0

    def test_tags_are_case_sensitive(self):
        assert format_score(f"<ANSWER>{ANSWER}</ANSWER>") == 0.0

    def test_invalid_answer_json_earns_only_the_tag(self):
        assert format_score('<answer>{"action_type": "click",}</answer>') == 0.5

    def test_json_nan_earns_credit_as_the_seed_json_loads_gave(self):
        assert format_score("<answer>NaN</answer>") == 1.0

    def test_deep_nesting_scores_instead_of_raising(self):
        assert format_score("<answer>" + "[" * 100_000 + "]" * 100_000 + "</answer>") == 0.5

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
    def test_tag_soup_scores_as_the_fixed_seed(self, text):
        assert format_score(text) == seed_format_score(text)


class TestFormatReward:
    def test_conversational_and_plain_completions_score_alike(self):
        text = f"<think>{THINK}</think><answer>{ANSWER}</answer>"
        conv = [{"role": "assistant", "content": text}]
        assert FormatReward()(prompts=["p", "p"], completions=[text, conv]) == [2.5, 2.5]

    def test_normalize_divides_by_two_and_a_half(self):
        texts = [f"<think>{THINK}</think><answer>{ANSWER}</answer>", "<answer>x</answer>", ""]
        assert FormatReward(normalize=True)(completions=texts) == [1.0, 0.2, 0.0]

    def test_unknown_keyword_columns_are_ignored(self):
        reward = FormatReward()
        out = reward(
            prompts=["p"],
            completions=["<answer>{}</answer>"],
            completion_ids=[[1]],
            solution=["s"],
            images=[None],
            trainer_state=object(),
            log_extra=print,
            log_metric=print,
        )
        assert out == [1.0]

    def test_pickles_with_its_setting_and_name(self):
        clone = pickle.loads(pickle.dumps(FormatReward(normalize=True)))
        assert clone.__name__ == "format"
        assert clone(completions=["<answer>{}</answer>"]) == [0.4]


class TestThinkFieldsReward:
    def test_valid_think_block_scores_one(self):
        assert ThinkFieldsReward()(completions=[f"<think>{THINK}</think>"]) == [1.0]

    @pytest.mark.parametrize(
        "think",
        [
            "5",
            json.dumps(list(THINK_FIELDS)),
            json.dumps(" ".join(THINK_FIELDS)),
            "not json",
            json.dumps({**{f: "x" for f in THINK_FIELDS}, "task_interpretation": "  "}),
            json.dumps({**{f: "x" for f in THINK_FIELDS}, "extra": "x"}),
        ],
    )
    def test_anything_but_four_non_blank_fields_scores_zero(self, think):
        assert ThinkFieldsReward()(completions=[f"<think>{think}</think>"]) == [0.0]

    def test_missing_think_scores_zero(self):
        assert ThinkFieldsReward()(completions=[f"<answer>{ANSWER}</answer>"]) == [0.0]


class TestSchemaReward:
    def test_valid_action_scores_one(self):
        assert SchemaReward()(completions=[f"<answer>{ANSWER}</answer>"]) == [1.0]

    @pytest.mark.parametrize(
        "answer",
        [
            "{}",
            '{"action_type": "fly", "action_parameter": {"fly": ""}}',
            '{"action_type": "click", "action_parameter": {"click": "1,2,3"}}',
            "[]",
            ANSWER[:-1],
        ],
    )
    def test_invalid_action_scores_zero(self, answer):
        assert SchemaReward()(completions=[f"<answer>{answer}</answer>"]) == [0.0]


class TestAnswerForm:
    def test_answer_pair_and_json_score_the_maximum_of_one(self):
        assert format_score(f"<answer>{ANSWER}</answer>", "answer") == 1.0

    def test_think_block_earns_nothing_extra(self):
        assert format_score(f"<think>{THINK}</think><answer>{ANSWER}</answer>", "answer") == 1.0
        assert format_score(f"<think>{THINK}</think>", "answer") == 0.0

    def test_invalid_answer_json_earns_only_the_tag(self):
        assert format_score("<answer>{oops</answer>", "answer") == 0.5

    def test_default_form_is_think(self):
        text = f"<answer>{ANSWER}</answer>"
        assert format_score(text) == format_score(text, "think") == 1.0

    def test_reward_reads_the_output_format_column_and_normalizes_per_form(self):
        text = f"<answer>{ANSWER}</answer>"
        reward = FormatReward(normalize=True)
        assert reward(completions=[text, text, text], output_format=["answer", "think", None]) == [
            1.0,
            0.4,
            0.4,
        ]
        assert FormatReward()(completions=[text, text], output_format=["answer", None]) == [1.0, 1.0]

    def test_absent_column_means_think(self):
        assert FormatReward(normalize=True)(completions=[f"<answer>{ANSWER}</answer>"]) == [0.4]

    def test_forced_form_overrides_the_column(self):
        reward = FormatReward(normalize=True, output_format="answer")
        assert reward(completions=[f"<answer>{ANSWER}</answer>"], output_format=["think"]) == [1.0]

    def test_unknown_form_in_the_column_raises_naming_the_row(self):
        with pytest.raises(ValueError, match=r"output_format\[0\] \(id 7\).*'bare'"):
            FormatReward()(completions=["x"], output_format=["bare"], id=[7])

    def test_pickles_with_its_forced_form(self):
        clone = pickle.loads(pickle.dumps(FormatReward(normalize=True, output_format="answer")))
        assert clone(completions=[f"<answer>{ANSWER}</answer>"]) == [1.0]


GOOD_THINK = f"<think>{THINK}</think>\n<answer>{ANSWER}</answer>"
GOOD_ANSWER = f"<answer>{ANSWER}</answer>"


def strict(text, form: str | None = None) -> float:
    return FormatStrictReward()(completions=[text], output_format=[form])[0]


class TestFormatStrictReward:
    @pytest.mark.parametrize(
        ("text", "form"),
        [
            (GOOD_ANSWER, "answer"),
            (f"  \n{GOOD_ANSWER}\n ", "answer"),
            (f"<answer>\n{ANSWER}\n</answer>", "answer"),
            (GOOD_THINK, "think"),
            (GOOD_THINK, None),
            (f"<think>{THINK}</think><answer>{ANSWER}</answer>", "think"),
            (f"\n{GOOD_THINK}\n", "think"),
        ],
    )
    def test_exactly_the_stated_form_scores_one(self, text, form):
        assert strict(text, form) == 1.0

    @pytest.mark.parametrize(
        ("text", "form"),
        [
            (f"{GOOD_ANSWER} 好的", "answer"),  # trailing junk
            (f"好的:{GOOD_ANSWER}", "answer"),  # leading text
            (f"{GOOD_THINK}\n以上。", "think"),
            (f"Sure. {GOOD_THINK}", "think"),
            (f"{GOOD_ANSWER}{GOOD_ANSWER}", "answer"),  # two answer blocks
            (f"<answer><answer>{ANSWER}</answer></answer>", "answer"),  # nested
            (f"<answer>{ANSWER}</answer></answer>", "answer"),  # a repeated closing tag
            (f"<answer>{ANSWER}", "answer"),  # missing </answer>
            (f"<think>{THINK}</think>\n<answer>{ANSWER}", "think"),
            (f"<answer>{ANSWER}</answer>", "think"),  # think form missing think
            (GOOD_THINK, "answer"),  # answer form with a think block
            (f"<think>{THINK}</think><think>{THINK}</think><answer>{ANSWER}</answer>", "think"),
            (f"<think>{THINK}<answer>{ANSWER}</answer>", "think"),  # unclosed think
            (f"<think>我应该点击</think><answer>{ANSWER}</answer>", "think"),  # think not JSON
            (f"<think>{json.dumps(list(THINK_FIELDS))}</think><answer>{ANSWER}</answer>", "think"),
            (f"<think>{json.dumps({f: 'x' for f in THINK_FIELDS[:3]})}</think>{GOOD_ANSWER}", "think"),
            ("<answer>[1, 2]</answer>", "answer"),  # JSON, but not an object
            ("<answer>NaN</answer>", "answer"),
            ('<answer>{"a": 1,}</answer>', "answer"),
            ('<answer>{"a": "<answer>"}</answer>', "answer"),  # a tag inside the JSON
            (f"<ANSWER>{ANSWER}</ANSWER>", "answer"),
            ("", "answer"),
            ("", "think"),
            (ANSWER, "answer"),  # the bare JSON the old plain prompt asked for
        ],
    )
    def test_anything_else_scores_zero(self, text, form):
        assert strict(text, form) == 0.0

    def test_conversational_completion_is_read(self):
        conv = [{"role": "assistant", "content": GOOD_ANSWER}]
        assert FormatStrictReward("answer")(completions=[conv]) == [1.0]

    @pytest.mark.parametrize(
        "completion",
        [None, 5, 2.5, b"<answer>{}</answer>", [], [5], [{"content": 5}], [{"content": [{"text": 5}]}]],
    )
    def test_non_string_completions_score_zero(self, completion):
        assert FormatStrictReward("answer")(completions=[completion]) == [0.0]

    @pytest.mark.parametrize(
        "text",
        [
            "<answer>" * 125_000,
            "<think>" * 140_000,
            "<think>" + "</think>" * 120_000,
            "<answer>" + "{" * 1_000_000 + "</answer>",
            "<answer>" + "[" * 500_000 + "]" * 500_000 + "</answer>",
            "<think>" + "x" * 1_000_000 + "</think><answer>{}</answer>",
            "<answer>{" + '"a": 1,' * 140_000 + '"b": 2}</answer>',
        ],
    )
    @pytest.mark.parametrize("form", ["answer", "think"])
    def test_a_megabyte_of_tags_is_linear_and_scores_zero(self, text, form):
        start = time.perf_counter()
        score = strict(text, form)
        assert time.perf_counter() - start < 2.0  # ~ms; a quadratic scan takes minutes
        assert score == (1.0 if text.startswith('<answer>{"a"') and form == "answer" else 0.0)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from([*TOKENS, ANSWER, "<answer>", "</answer>"]), max_size=30).map("".join),
        st.sampled_from(["answer", "think", None]),
    )
    def test_tag_soup_never_raises_and_scores_zero_or_one(self, text, form):
        assert strict(text, form) in (0.0, 1.0)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200), st.sampled_from(["answer", "think"]))
    def test_any_text_never_raises_and_scores_zero_or_one(self, text, form):
        assert strict(text, form) in (0.0, 1.0)
        assert strict(f"<answer>{text}</answer>", form) in (0.0, 1.0)

    @settings(max_examples=100, deadline=None)
    @given(
        st.recursive(
            st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
        )
    )
    def test_any_completion_object_never_raises(self, completion):
        assert FormatStrictReward()(completions=[completion]) in ([0.0], [1.0])

    def test_column_absent_means_think(self):
        assert FormatStrictReward()(completions=[GOOD_THINK, GOOD_ANSWER]) == [1.0, 0.0]

    def test_forced_form_overrides_the_column(self):
        reward = FormatStrictReward(output_format="answer")
        assert reward(completions=[GOOD_ANSWER], output_format=["think"]) == [1.0]

    def test_unknown_keyword_columns_are_ignored(self):
        out = FormatStrictReward()(
            prompts=["p"],
            completions=[GOOD_THINK],
            completion_ids=[[1]],
            solution=["s"],
            images=[None],
            trainer_state=object(),
            log_extra=print,
            log_metric=print,
        )
        assert out == [1.0]

    def test_pickles_with_its_setting_and_name(self):
        clone = pickle.loads(pickle.dumps(FormatStrictReward(output_format="answer")))
        assert clone.__name__ == "format_strict"
        assert clone(completions=[GOOD_ANSWER, GOOD_THINK]) == [1.0, 0.0]

    def test_registered_with_the_settings_form(self):
        from gui_agent_rl.rewards import RewardSettings, get_reward_funcs

        (func,) = get_reward_funcs(["format_strict"], RewardSettings(output_format="answer"))
        assert func.__name__ == "format_strict" and func(completions=[GOOD_ANSWER]) == [1.0]
        with pytest.raises(ValueError, match="unknown output format"):
            RewardSettings(output_format="bare")
