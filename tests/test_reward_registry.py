"""The registry: names, settings, user rewards by import path; every reward pickles and takes any kwargs."""

from __future__ import annotations

import math
import pickle

import pytest

from gui_agent_rl.rewards import REWARD_NAMES, RewardSettings, get_reward_funcs, reward_help
from gui_agent_rl.rewards.llm_judge import LLMJudgeReward

SOLUTION = '{"action_type": "click", "action_parameter": {"click": "100,100,300,300"}}'
COMPLETIONS = [
    '<think>{"task_interpretation": "a", "current_page_audit": "b", "path_alignment_check": "c", '
    '"action_validation": "d"}</think>'
    '<answer>{"action_type": "click", "action_parameter": {"click": "100,100,300,300"}}</answer>',
    [{"role": "assistant", "content": "no tags at all"}],
]
TRL_EXTRAS = {
    "images": [[None], [None]],
    "trainer_state": object(),
    "log_extra": lambda column, values: None,
    "log_metric": lambda name, value: None,
    "task_id": ["t", "t"],
    "completion_ids": [[1, 2], [3]],
}


@pytest.fixture(autouse=True)
def judge_endpoint(monkeypatch):
    # the network side of llm_judge is tested in test_llm_judge.py against a local server
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setattr(LLMJudgeReward, "_post", lambda self, url, key, body: "10")


class TestGetRewardFuncs:
    def test_functions_come_back_in_order_with_their_names(self):
        funcs = get_reward_funcs(["accuracy", "format"])
        assert [f.__name__ for f in funcs] == ["accuracy", "format"]

    def test_unknown_name_lists_the_valid_ones(self):
        with pytest.raises(ValueError, match=r"unknown reward 'formt'.*format, accuracy"):
            get_reward_funcs(["formt"])

    def test_settings_reach_the_rewards(self):
        fmt, acc = get_reward_funcs(
            ["format", "accuracy"],
            RewardSettings(
                normalize_format=True, coordinate_frame="norm1000", accuracy_method="iou", max_pixels=1003520
            ),
        )
        assert fmt.normalize is True
        assert (acc.coordinate_frame, acc.method, acc.max_pixels) == ("norm1000", "iou", 1003520)

    def test_settings_with_a_typo_fail_at_construction(self):
        with pytest.raises(ValueError, match="'gausian'"):
            RewardSettings(accuracy_method="gausian")
        with pytest.raises(ValueError):
            RewardSettings(coordinate_frame="pixels")

    def test_user_reward_loads_by_import_path(self, tmp_path, monkeypatch):
        (tmp_path / "my_rewards.py").write_text(
            "def length_reward(completions, **kw):\n    return [float(len(c)) for c in completions]\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        (func,) = get_reward_funcs(["my_rewards:length_reward"])
        assert func(completions=["abc"]) == [3.0]

    @pytest.mark.parametrize("path", ["no_such_module_xyz:f", "gui_agent_rl.rewards:nope", ":f", "math:pi"])
    def test_bad_import_paths_raise_value_error(self, path):
        with pytest.raises(ValueError):
            get_reward_funcs([path])

    def test_help_text_names_every_reward(self):
        text = reward_help()
        assert all(name in text for name in REWARD_NAMES)
        assert "package.module" in text or "pkg.mod:fn" in text


@pytest.mark.parametrize("name", REWARD_NAMES)
class TestEveryRegisteredReward:
    def test_name_is_the_registry_key(self, name):
        assert get_reward_funcs([name])[0].__name__ == name

    def test_pickles_and_scores_the_same_after(self, name):
        func = get_reward_funcs([name])[0]
        clone = pickle.loads(pickle.dumps(func))
        assert clone.__name__ == name
        kwargs = {"solution": [SOLUTION] * 2, "image_sizes": [[[1080, 2400]]] * 2}
        assert clone(prompts=["p", "p"], completions=COMPLETIONS, **kwargs) == func(
            prompts=["p", "p"], completions=COMPLETIONS, **kwargs
        )

    def test_accepts_unknown_keyword_columns_and_returns_one_float_each(self, name):
        func = get_reward_funcs([name])[0]
        out = func(
            prompts=["p", "p"],
            completions=COMPLETIONS,
            solution=[SOLUTION] * 2,
            image_sizes=[[[1080, 2400]]] * 2,
            accu_reward_method=[None, None],
            **TRL_EXTRAS,
        )
        assert len(out) == 2
        assert all(isinstance(v, float) and math.isfinite(v) for v in out)
        assert out[1] == 0.0


class TestSpecExample:
    """SPEC §5's model output against its own action as the truth, on a 1080 x 2400 screen."""

    THINK = (
        '{"task_interpretation": "打开剑来", "current_page_audit": "书架页", '
        '"path_alignment_check": "第一步", "action_validation": "点击书名"}'
    )
    TRUTH = (
        '{"action_type": "click", "action_parameter": {"click": "49,721,1368,1008"}, '
        '"action_description": "点击剑来"}'
    )
    OUTPUT = f"<think>{THINK}</think>\n<answer>{TRUTH}</answer>"

    def test_every_local_reward_gives_full_marks_in_the_original_frame(self):
        funcs = get_reward_funcs(
            ["format", "accuracy", "think_fields", "schema", "map"],
            RewardSettings(coordinate_frame="original"),
        )
        scores = {
            f.__name__: f(completions=[self.OUTPUT], solution=[self.TRUTH], image_sizes=[[[1440, 2560]]])
            for f in funcs
        }
        assert scores == {
            "format": [2.5],
            "accuracy": [1.0],
            "think_fields": [1.0],
            "schema": [1.0],
            "map": [1.0],
        }
