"""Rewards: pure functions of (completion, truth) -> float, callable by TRL. Never imports torch."""

from gui_agent_rl.rewards.accuracy import AccuracyReward, score_action
from gui_agent_rl.rewards.format import FormatReward, FormatStrictReward, format_score
from gui_agent_rl.rewards.registry import REWARD_NAMES, RewardSettings, get_reward_funcs, reward_help

__all__ = [
    "REWARD_NAMES",
    "AccuracyReward",
    "FormatReward",
    "FormatStrictReward",
    "RewardSettings",
    "format_score",
    "get_reward_funcs",
    "reward_help",
    "score_action",
]
