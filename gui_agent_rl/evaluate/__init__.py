"""Offline metrics that reuse the reward code, predictions, and pictures of actions.

>>> rows = join_predictions(read_samples("val.jsonl"), read_predictions("pred.jsonl"))  # doctest: +SKIP
>>> print(format_report(evaluate(rows, MatchRules(box_scale=1.2)).metrics))  # doctest: +SKIP
"""

from gui_agent_rl.evaluate.metrics import MatchRules, StepResult, judge_step, point_matches_box
from gui_agent_rl.evaluate.predictions import Scored, join_predictions, read_predictions
from gui_agent_rl.evaluate.report import format_report
from gui_agent_rl.evaluate.scoring import Evaluation, evaluate

__all__ = [
    "Evaluation",
    "MatchRules",
    "Scored",
    "StepResult",
    "evaluate",
    "format_report",
    "join_predictions",
    "judge_step",
    "point_matches_box",
    "read_predictions",
]
