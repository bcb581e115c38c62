"""All-or-nothing text credit (``text_threshold``): a partly right word earns nothing.

With the similarity itself as the reward, GRPO on the ``make learn`` text task drifted towards one
string that is half right for every word (``"tes"`` for cat, tea, pen...): a thresholded reward pays
only a text that eval's step rule would count.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.rewards.accuracy import AccuracyReward
from gui_agent_rl.rewards.registry import RewardSettings, get_reward_funcs
from gui_agent_rl.rewards.text import check_text_threshold


def _answer(kind: str, value: str) -> str:
    return "<answer>" + json.dumps({"action_type": kind, "action_parameter": {kind: value}}) + "</answer>"


def _solution(kind: str, value: str) -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}})


WORDS = ["cup", "sup", "cups", "xyz"]


class TestThreshold:
    def test_default_pays_the_similarity(self):
        scores = AccuracyReward()(
            completions=[_answer("type", w) for w in WORDS], solution=[_solution("type", "cup")] * 4
        )
        assert scores[0] == 1.0 and 0.6 < scores[1] < 0.7 and 0.8 < scores[2] < 0.9 and scores[3] == 0.0

    def test_threshold_pays_all_or_nothing(self):
        reward = AccuracyReward(text_threshold=0.8)
        scores = reward(
            completions=[_answer("type", w) for w in WORDS], solution=[_solution("type", "cup")] * 4
        )
        assert scores == [1.0, 0.0, 1.0, 0.0]

    @pytest.mark.parametrize("kind", ["open_app", "task_completed", "task_impossible"])
    def test_every_text_action_is_thresholded(self, kind):
        reward = AccuracyReward(text_threshold=1.0)
        scores = reward(
            completions=[_answer(kind, "mail"), _answer(kind, "mails")],
            solution=[_solution(kind, "mail")] * 2,
        )
        assert scores == [1.0, 0.0]

    def test_wrong_type_still_scores_zero(self):
        reward = AccuracyReward(text_threshold=0.5)
        assert reward(completions=[_answer("open_app", "cup")], solution=[_solution("type", "cup")]) == [0.0]

    @given(st.text(max_size=30), st.text(min_size=1, max_size=30).filter(str.strip))
    def test_scores_are_zero_or_one(self, got, want):
        reward = AccuracyReward(text_threshold=0.8)
        (score,) = reward(completions=[_answer("type", got)], solution=[_solution("type", want)])
        assert score in (0.0, 1.0)


class TestChecks:
    @pytest.mark.parametrize("bad", [0, -0.1, 1.5, math.nan, math.inf, True, "0.8"])
    def test_bad_thresholds_are_refused(self, bad):
        with pytest.raises(ValueError, match="text_threshold"):
            check_text_threshold(bad)

    def test_settings_carry_it_to_the_reward(self):
        (reward,) = get_reward_funcs(["accuracy"], RewardSettings(text_threshold=0.8))
        assert reward.text_threshold == 0.8

    def test_settings_refuse_a_bad_one(self):
        with pytest.raises(ValueError, match="text_threshold"):
            RewardSettings(text_threshold=2)


class TestRecipe:
    def test_train_flag_reaches_the_script_arguments(self, tmp_path):
        from gui_agent_rl.train.config import parse_train_args

        argv = ["--model_name_or_path", "m", "--data_file_paths", "d.jsonl", "--output_dir", str(tmp_path)]
        argv += ["--use_cpu", "true", "--bf16", "false"]
        script, _, _ = parse_train_args([*argv, "--text_threshold", "0.8"])
        assert script.text_threshold == 0.8
        script, _, _ = parse_train_args(argv)
        assert script.text_threshold is None
