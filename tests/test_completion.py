"""parse_completion: the seed's tag semantics, and everything odd a model can write."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.schemas import completion_text, parse_completion

ACTION = '{"action_type": "click", "action_parameter": {"click": "1,2,30,40"}}'
THINK = (
    '{"task_interpretation": "a", "current_page_audit": "b", "path_alignment_check": "c", '
    '"action_validation": "d"}'
)


class TestParseCompletion:
    def test_well_formed_output(self):
        p = parse_completion(f"<think>{THINK}</think>\n<answer>{ACTION}</answer>")
        assert p.think_is_json and p.think_object["current_page_audit"] == "b"
        assert p.action is not None and p.action.action_type == "click"
        assert p.error is None

    def test_text_around_the_tags_is_allowed(self):
        p = parse_completion(f"Sure! <think>{THINK}</think> then <answer>{ACTION}</answer> done.")
        assert p.action is not None

    def test_missing_answer(self):
        p = parse_completion(f"<think>{THINK}</think>")
        assert p.action is None and p.answer_text is None and "no <answer>" in p.error

    def test_missing_think_still_parses_the_answer(self):
        p = parse_completion(f"<answer>{ACTION}</answer>")
        assert p.think_text is None and not p.think_is_json and p.action is not None

    def test_first_pair_wins_when_duplicated(self):
        p = parse_completion(
            '<answer>{"action_type": "back", "action_parameter": {"back": ""}}</answer>'
            f"<answer>{ACTION}</answer>"
        )
        assert p.action.action_type == "back"

    def test_nested_tags_take_the_first_closing_tag(self):
        p = parse_completion("<think>a<think>b</think>c</think>")
        assert p.think_text == "a<think>b"

    def test_upper_case_tags_do_not_count(self):
        p = parse_completion(f"<THINK>{THINK}</THINK><ANSWER>{ACTION}</ANSWER>")
        assert p.think_text is None and p.answer_text is None

    def test_unicode_whitespace_around_json_is_stripped(self):
        p = parse_completion(f"<think>\u3000\u00a0{THINK}\n\t</think><answer>\u2003{ACTION}\u3000</answer>")
        assert p.think_is_json and p.action is not None

    def test_truncated_output(self):
        full = f"<think>{THINK}</think><answer>{ACTION}</answer>"
        p = parse_completion(full[: full.index("</answer>") - 3])
        assert p.answer_text is None and p.action is None and p.think_is_json

    def test_scalar_think_json_is_json_but_not_an_object(self):
        p = parse_completion("<think>5</think>")
        assert p.think_is_json and p.think == 5 and p.think_object is None

    def test_answer_that_is_json_but_not_an_action(self):
        p = parse_completion('<answer>{"action_type": "fly"}</answer>')
        assert p.answer_is_json and p.action is None and "unknown action type" in p.error

    def test_answer_that_is_a_json_list(self):
        p = parse_completion("<answer>[1, 2]</answer>")
        assert p.answer_is_json and p.action is None and "list" in p.error

    def test_invalid_json_answer(self):
        p = parse_completion("<answer>{click}</answer>")
        assert not p.answer_is_json and p.error == "answer is not valid JSON"

    def test_trl_conversational_completion(self):
        p = parse_completion([{"role": "assistant", "content": f"<answer>{ACTION}</answer>"}])
        assert p.action is not None

    @pytest.mark.parametrize("odd", [None, 5, [], [{}], [{"content": None}], {"a": 1}])
    def test_non_text_input_is_treated_as_empty(self, odd):
        p = parse_completion(odd)
        assert p.action is None and p.think_text is None

    def test_completion_text_joins_multimodal_parts(self):
        c = [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
        assert completion_text(c) == "ab"

    @given(st.text())
    def test_never_raises(self, text):
        parse_completion(text)

    def test_100kb_of_unclosed_tags_parses_in_linear_time(self):
        def cost(n: int) -> float:
            text = "<think>" * n + "<answer>" * n
            start = time.perf_counter()
            for _ in range(3):
                parse_completion(text)
            return time.perf_counter() - start

        small, big = cost(2_000), cost(20_000)  # ~30 KB vs ~300 KB
        assert big < 0.5  # a quadratic search takes many seconds here
        assert big < 40 * max(small, 1e-4)
