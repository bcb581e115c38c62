"""The graded format reward: SPEC §6 values, the seed's search semantics, the two fixes."""

from __future__ import annotations

import json
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui_agent_rl.rewards.extra import SchemaReward, ThinkFieldsReward
from gui_agent_rl.rewards.format import FormatReward, format_score
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
