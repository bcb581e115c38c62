"""Type-gated action accuracy: 0 for a missing or wrong-type answer, else a parameter score in [0, 1].

Distances on the screen are *normalised screen distances* (AITW's convention): the Euclidean distance
after dividing x by the screen width and y by the screen height, so 1.0 is a full screen width (or
height) and the screen's diagonal is sqrt(2). Predicted coordinates are converted from the frame the
model answers in (``resized`` by default, see :mod:`gui_agent_rl.schemas.geometry`) to the truth's
original pixels first.

Box methods for ``click`` / ``long_click`` (the predicted box's centre is the tap point):

- ``default``: 1.0 when the tap point is inside the true box; outside it, near-miss credit
  ``NEAR_MISS_CREDIT * (1 - d / TAP_DISTANCE_THRESHOLD)`` where ``d`` is the normalised distance from
  the tap point to the nearest point of the box, reaching 0 at ``TAP_DISTANCE_THRESHOLD``. Dense near
  the target, nothing far away, and a clear step up for actually hitting it.
- ``iou``: intersection over union of the predicted and true boxes.
- ``center_in_box``: 1.0 when the tap point is inside the true box, else 0.
- ``distance``: AITW's tap match: 1.0 when the tap point is within ``TAP_DISTANCE_THRESHOLD`` of the true
  box's centre or inside the true box scaled by ``DISTANCE_BOX_SCALE`` about its centre, else 0.
- ``gaussian``: GUI-G²: ``exp(-((dx/sx)^2 + (dy/sy)^2) / 2)`` with ``(dx, dy)`` from the true centre to
  the tap point in pixels and ``sx, sy`` half the true box's width and height.

Other types: ``swipe`` 0 for the wrong direction, else ``SWIPE_DIRECTION_CREDIT`` plus the rest graded
by mean endpoint distance (0 at ``SWIPE_ENDPOINT_TOLERANCE``); text types by
:func:`~gui_agent_rl.rewards.text.text_similarity` under the ``text_match`` rule (default ``faithful``:
case and punctuation count); ``inquiry`` by ``INQUIRY_INDEX_WEIGHT`` for the
right answer index plus ``INQUIRY_QUESTION_WEIGHT`` times question similarity; ``wait``/``back`` 1.0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from gui_agent_rl.rewards.parsing import column, current_screen, predicted_action, row_label, truth_action
from gui_agent_rl.rewards.text import DEFAULT_TEXT_MATCH, check_text_match, text_similarity
from gui_agent_rl.schemas.actions import (
    Action,
    ClickAction,
    InquiryAction,
    LongClickAction,
    SwipeAction,
)
from gui_agent_rl.schemas.geometry import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    Box,
    CoordinateFrame,
    ImageFrame,
    Point,
    iou,
)

TAP_DISTANCE_THRESHOLD = 0.14  # normalised screen distance (AITW's _TAP_DISTANCE_THRESHOLD)
#: AITW's "1.4x" box augment adds 1.4x the width and height to a box, i.e. scales it by 2.4.
DISTANCE_BOX_SCALE = 2.4
NEAR_MISS_CREDIT = 0.5  # the default method's most credit for a tap just outside the true box
SWIPE_DIRECTION_CREDIT = 0.5  # a swipe in the right direction earns this much before endpoints count
SWIPE_ENDPOINT_TOLERANCE = 0.5  # mean normalised endpoint distance at which endpoint credit reaches 0
INQUIRY_INDEX_WEIGHT = 0.5  # so a wrong answer index can't score above 0.5
INQUIRY_QUESTION_WEIGHT = 0.5
#: Used only to normalise distances when a sample carries no image_sizes: the corpus' phone screen.
FALLBACK_SCREEN = ImageFrame(1080, 2400)

BoxScorer = Callable[[Box, Box, ImageFrame], float]


def screen_distance(a: Point, b: Point, screen: ImageFrame) -> float:
    """Normalised screen distance between two points in original pixels."""
    return math.hypot((a.x - b.x) / screen.width, (a.y - b.y) / screen.height)


def _distance_to_box(p: Point, box: Box, screen: ImageFrame) -> float:
    dx = max(box.x1 - p.x, 0.0, p.x - box.x2)
    dy = max(box.y1 - p.y, 0.0, p.y - box.y2)
    return math.hypot(dx / screen.width, dy / screen.height)


def _default(pred: Box, truth: Box, screen: ImageFrame) -> float:
    tap = pred.center
    if truth.contains(tap):
        return 1.0
    d = _distance_to_box(tap, truth, screen)
    return NEAR_MISS_CREDIT * max(0.0, 1.0 - d / TAP_DISTANCE_THRESHOLD)


def _iou(pred: Box, truth: Box, screen: ImageFrame) -> float:
    return iou(pred, truth)


def _center_in_box(pred: Box, truth: Box, screen: ImageFrame) -> float:
    return 1.0 if truth.contains(pred.center) else 0.0


def _distance(pred: Box, truth: Box, screen: ImageFrame) -> float:
    tap = pred.center
    if screen_distance(tap, truth.center, screen) <= TAP_DISTANCE_THRESHOLD:
        return 1.0
    return 1.0 if truth.scaled_about_center(DISTANCE_BOX_SCALE).contains(tap) else 0.0


def _gaussian(pred: Box, truth: Box, screen: ImageFrame) -> float:
    tap, centre = pred.center, truth.center
    zx = (tap.x - centre.x) / (truth.width / 2)
    zy = (tap.y - centre.y) / (truth.height / 2)
    return math.exp(-0.5 * (zx * zx + zy * zy))


BOX_METHODS: dict[str, BoxScorer] = {
    "default": _default,
    "iou": _iou,
    "center_in_box": _center_in_box,
    "distance": _distance,
    "gaussian": _gaussian,
}


def box_method(name: str | None) -> BoxScorer:
    """The scorer called ``name`` (None: ``default``); unknown names raise ``ValueError`` listing all."""
    scorer = BOX_METHODS.get("default" if name is None else name)
    if scorer is None:
        raise ValueError(f"unknown accuracy method {name!r}; expected one of {', '.join(BOX_METHODS)}")
    return scorer


def swipe_direction(start: Point, end: Point) -> str | None:
    """Direction of the finger's motion along its main axis; None for a zero-length swipe.

    Ties between the axes go to the vertical one (the common phone scroll).

    >>> swipe_direction(Point(500, 1800), Point(500, 600))
    'up'
    """
    dx, dy = end.x - start.x, end.y - start.y
    if dx == 0 and dy == 0:
        return None
    if abs(dy) >= abs(dx):
        return "down" if dy > 0 else "up"
    return "right" if dx > 0 else "left"


@lru_cache(maxsize=4096)
def _to_original_factors(frame: ImageFrame, src: CoordinateFrame) -> tuple[float, float]:
    sx, sy = frame.scale(src)
    return 1.0 / sx, 1.0 / sy


def pred_to_original(
    action: Action, frame: ImageFrame | None, src: CoordinateFrame | str
) -> tuple[Box | None, tuple[Point, Point] | None]:
    """The predicted box (click, long_click) or swipe endpoints in original pixels.

    Without a frame the coordinates are returned unchanged (frames are taken as equal).

    >>> from gui_agent_rl.schemas import parse_action
    >>> a = parse_action('{"action_type": "click", "action_parameter": {"click": "0,0,546,1204"}}')
    >>> pred_to_original(a, ImageFrame(1080, 2400), "resized")[0]
    Box(x1=0.0, y1=0.0, x2=540.0, y2=1200.0)
    """
    fx, fy = (1.0, 1.0) if frame is None else _to_original_factors(frame, CoordinateFrame(src))
    if isinstance(action, (ClickAction, LongClickAction)):
        b = action.box
        return Box(b.x1 * fx, b.y1 * fy, b.x2 * fx, b.y2 * fy), None
    if isinstance(action, SwipeAction):
        s, e = action.start, action.end
        return None, (Point(s.x * fx, s.y * fy), Point(e.x * fx, e.y * fy))
    return None, None


def _score_swipe(pred: tuple[Point, Point], truth: SwipeAction, screen: ImageFrame) -> float:
    (ps, pe), ts, te = pred, truth.start, truth.end
    if swipe_direction(ps, pe) != swipe_direction(ts, te):
        return 0.0
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
) -> float:
    """Accuracy of a predicted action against the true one, in [0, 1].

    ``frame`` is the current screen (None: coordinates are compared as they are, and distances are
    normalised by :data:`FALLBACK_SCREEN`); ``pred_frame`` is where the prediction's numbers live;
    ``method`` picks the box scorer (:data:`BOX_METHODS`); ``text_match`` the text rule
    (:data:`~gui_agent_rl.rewards.text.TEXT_MATCH_MODES`).
    """
    scorer = box_method(method)
    if pred.action_type != truth.action_type:
        return 0.0
    screen = frame or FALLBACK_SCREEN
    if isinstance(truth, (ClickAction, LongClickAction)):
        box, _ = pred_to_original(pred, frame, pred_frame)
        return min(1.0, max(0.0, scorer(box, truth.box, screen)))
    if isinstance(truth, SwipeAction):
        _, ends = pred_to_original(pred, frame, pred_frame)
        return _score_swipe(ends, truth, screen)
    if isinstance(truth, InquiryAction):
        return _score_inquiry(pred, truth, text_match)
    text = getattr(truth, "text", None)
    if text is not None:
        return text_similarity(pred.text, text, text_match)
    return 1.0  # wait, back: nothing to get wrong once the type is right


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
    ) -> None:
        self.coordinate_frame = CoordinateFrame(coordinate_frame)
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        box_method(method)  # fail at construction, not in the middle of training
        self.method = method
        self.text_match = check_text_match(text_match)

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
        options = {"pred_frame": self.coordinate_frame, "method": method, "text_match": self.text_match}
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
