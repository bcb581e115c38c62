"""Type-gated action accuracy: 0 for a missing or wrong-type answer, else a parameter score in [0, 1].

Distances on the screen are *normalised screen distances* (AITW's convention): the Euclidean distance
after dividing x by the screen width and y by the screen height, so 1.0 is a full screen width (or
height) and the screen's diagonal is sqrt(2). Predicted coordinates are converted from the frame the
model answers in (``resized`` by default, see :mod:`gui_agent_rl.schemas.geometry`) to the truth's
original pixels first.

Click and long_click are scored by :mod:`gui_agent_rl.rewards.taps` (the tap point is the predicted
point, or the predicted box's centre): a *box method* against a true box (``default``: 1.0 inside,
near-miss credit just outside; ``iou``; ``center_in_box``; ``distance``: AITW's tap match;
``gaussian``: GUI-G²), and *the distance rule* against a true point: full credit within
``point_distance`` (default :data:`DEFAULT_POINT_DISTANCE` = 0.04, AndroidControl's rule as
Qwen2.5-VL evaluates it), then by method.

Other types: ``swipe`` 0 for the wrong finger direction (a direction word as given; endpoints by their
main axis); against a true *direction*, the right direction scores 1.0 whatever form the answer takes;
against true *endpoints*, a direction answer earns ``SWIPE_DIRECTION_CREDIT`` and endpoints earn that
plus the rest graded by mean endpoint distance (0 at ``SWIPE_ENDPOINT_TOLERANCE``). Text types by
:func:`~gui_agent_rl.rewards.text.text_similarity` under the ``text_match`` rule (default ``faithful``:
case and punctuation count); ``inquiry`` by ``INQUIRY_INDEX_WEIGHT`` for the
right answer index plus ``INQUIRY_QUESTION_WEIGHT`` times question similarity; ``key`` 1.0 for the
same key name, else 0; ``wait``/``back``/``home`` 1.0. A long_click's ``duration`` is not scored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from gui_agent_rl.rewards.parsing import column, current_screen, predicted_action, row_label, truth_action
from gui_agent_rl.rewards.places import Geometry, action_geometry, pred_to_original  # noqa: F401 - re-exported
from gui_agent_rl.rewards.taps import (  # noqa: F401 - the tap rules' names are re-exported from here
    BOX_METHODS,
    DEFAULT_POINT_DISTANCE,
    DISTANCE_BOX_SCALE,
    FALLBACK_SCREEN,
    NEAR_MISS_CREDIT,
    TAP_DISTANCE_THRESHOLD,
    BoxScorer,
    box_method,
    check_point_distance,
    point_score,
    score_target,
    screen_distance,
)
from gui_agent_rl.rewards.text import (
    DEFAULT_TEXT_MATCH,
    check_text_match,
    check_text_threshold,
    text_similarity,
)
from gui_agent_rl.schemas.actions import (
    Action,
    ClickAction,
    InquiryAction,
    KeyAction,
    LongClickAction,
    SwipeAction,
)
from gui_agent_rl.schemas.geometry import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    CoordinateFrame,
    ImageFrame,
    swipe_direction,  # noqa: F401 - re-exported: its home was here before the schemas needed it
)

SWIPE_DIRECTION_CREDIT = 0.5  # a swipe in the right direction earns this much before endpoints count
SWIPE_ENDPOINT_TOLERANCE = 0.5  # mean normalised endpoint distance at which endpoint credit reaches 0
INQUIRY_INDEX_WEIGHT = 0.5  # so a wrong answer index can't score above 0.5
INQUIRY_QUESTION_WEIGHT = 0.5


def _score_swipe(pred: Geometry, truth: Geometry, screen: ImageFrame) -> float:
    if pred.direction != truth.direction:
        return 0.0
    if truth.ends is None:
        return 1.0  # the truth says only the direction
    if pred.ends is None:
        return SWIPE_DIRECTION_CREDIT  # the endpoints the truth has were not given
    (ps, pe), (ts, te) = pred.ends, truth.ends
    d = (screen_distance(ps, ts, screen) + screen_distance(pe, te, screen)) / 2
    graded = max(0.0, 1.0 - d / SWIPE_ENDPOINT_TOLERANCE)
    return SWIPE_DIRECTION_CREDIT + (1.0 - SWIPE_DIRECTION_CREDIT) * graded


def _score_inquiry(pred: InquiryAction, truth: InquiryAction, text_match: str) -> float:
    p, t = pred.inquiry, truth.inquiry
    index = 1.0 if p.answer_index == t.answer_index else 0.0
    question = text_similarity(p.question, t.question, text_match)
    return INQUIRY_INDEX_WEIGHT * index + INQUIRY_QUESTION_WEIGHT * question


def score_action(
    pred: Action,
    truth: Action,
    *,
    frame: ImageFrame | None = None,
    pred_frame: CoordinateFrame | str = "resized",
    method: str | None = None,
    text_match: str = DEFAULT_TEXT_MATCH,
    point_distance: float = DEFAULT_POINT_DISTANCE,
    text_threshold: float | None = None,
) -> float:
    """Accuracy of a predicted action against the true one, in [0, 1].

    ``frame`` is the current screen (None: coordinates are compared as they are, and distances are
    normalised by :data:`FALLBACK_SCREEN`); ``pred_frame`` is where the prediction's numbers live;
    ``method`` picks the box scorer (:data:`BOX_METHODS`); ``text_match`` the text rule
    (:data:`~gui_agent_rl.rewards.text.TEXT_MATCH_MODES`); ``point_distance`` the radius of full
    credit around a true point (the distance rule, module docstring); ``text_threshold`` makes a
    text's credit all or nothing (1.0 when its similarity reaches the threshold, else 0.0), as
    ``eval``'s step success counts it; None keeps the similarity itself.
    """
    box_method(method)
    if pred.action_type != truth.action_type:
        return 0.0
    screen = frame or FALLBACK_SCREEN
    if isinstance(truth, (ClickAction, LongClickAction, SwipeAction)):
        got = action_geometry(pred, frame, pred_frame)
        want = action_geometry(truth, None, CoordinateFrame.ORIGINAL)
        if isinstance(truth, SwipeAction):
            score = _score_swipe(got, want, screen)
        else:
            score = score_target(got, want, screen, method, point_distance)
        return 0.0 if math.isnan(score) else min(1.0, max(0.0, score))  # NaN: no credit
    if isinstance(truth, InquiryAction):
        return _score_inquiry(pred, truth, text_match)
    if isinstance(truth, KeyAction):
        return 1.0 if pred.key == truth.key else 0.0
    text = getattr(truth, "text", None)
    if text is not None:
        similarity = text_similarity(pred.text, text, text_match)
        if text_threshold is None:
            return similarity
        return 1.0 if similarity >= text_threshold else 0.0
    return 1.0  # wait, back, home: nothing to get wrong once the type is right


class AccuracyReward:
    """TRL reward: :func:`score_action` per completion against the ``solution`` column.

    Reads ``image_sizes`` (the last image is the current screen) and ``accu_reward_method`` (a box
    method name per sample, overriding ``method``) when present; compares texts under ``text_match``;
    logs the mean per action type as ``accuracy/<type>`` through TRL's ``log_metric`` when the trainer
    passes it.

    >>> r = AccuracyReward()
    >>> r(completions=['<answer>{"action_type": "wait", "action_parameter": {"wait": ""}}</answer>'],
    ...   solution=['{"action_type": "wait", "action_parameter": {"wait": ""}}'])
    [1.0]
    """

    __name__ = "accuracy"

    def __init__(
        self,
        coordinate_frame: CoordinateFrame | str = CoordinateFrame.RESIZED,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        method: str | None = None,
        text_match: str = DEFAULT_TEXT_MATCH,
        *,
        point_distance: float = DEFAULT_POINT_DISTANCE,
        text_threshold: float | None = None,
    ) -> None:
        self.coordinate_frame = CoordinateFrame(coordinate_frame)
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        box_method(method)  # fail at construction, not in the middle of training
        self.method = method
        self.text_match = check_text_match(text_match)
        self.point_distance = check_point_distance(point_distance)
        self.text_threshold = check_text_threshold(text_threshold)

    def score_row(self, completion: Any, columns: dict[str, Any], i: int) -> tuple[str, float]:
        """``(true action type, score)`` of row ``i`` of a batch."""
        truth = truth_action(columns["solution"][i], row_label(columns, "solution", i))
        sizes = columns.get("image_sizes")
        frame = None
        if sizes is not None:
            where = row_label(columns, "image_sizes", i)
            frame = current_screen(sizes[i], where, self.min_pixels, self.max_pixels)
        methods = columns.get("accu_reward_method")
        method = (methods[i] if methods is not None else None) or self.method
        pred = predicted_action(completion)
        if pred is None:
            box_method(method)
            return truth.action_type, 0.0
        options = {
            "pred_frame": self.coordinate_frame,
            "method": method,
            "text_match": self.text_match,
            "point_distance": self.point_distance,
            "text_threshold": self.text_threshold,
        }
        score = score_action(pred, truth, frame=frame, **options)
        return truth.action_type, score

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        completions = list(completions or [])
        n = len(completions)
        if n and columns.get("solution") is None:
            raise ValueError("the accuracy reward needs a 'solution' column (the true action per sample)")
        for name in ("solution", "image_sizes", "accu_reward_method"):
            column(columns, name, n)  # length check
        by_type: dict[str, list[float]] = defaultdict(list)
        scores = []
        for i, completion in enumerate(completions):
            kind, score = self.score_row(completion, columns, i)
            by_type[kind].append(score)
            scores.append(score)
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            for kind, values in sorted(by_type.items()):
                log_metric(f"accuracy/{kind}", sum(values) / len(values))
        return scores
