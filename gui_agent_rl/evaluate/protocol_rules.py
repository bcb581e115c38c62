"""The published action-matching algorithms, transcribed, on normalised screen coordinates.

Everything here works in the references' own space: a point is ``(y, x)`` and a box is ``(top, left,
height, width)``, each coordinate divided by the screen's height (y) or width (x), so the screen is
``[0, 1] x [0, 1]``. Distances are the plain Euclidean norm of the normalised difference (x / width and
y / height weigh alike, as in the references). :mod:`.protocols` converts actions and sample metadata
into this space; these functions never see pixels.

Sources (read in full before transcription; line references are to the files named):

- AITW: google-research/google-research ``android_in_the_wild/action_matching.py``:
  ``_resize_annotation_bounding_boxes``, ``_yx_in_bounding_boxes``, ``is_tap_action``,
  ``_check_tap_actions_match``, ``_check_drag_actions_match``, ``check_actions_match``; constants
  ``_TAP_DISTANCE_THRESHOLD = 0.14``, ``ANNOTATION_*_AUGMENT_FRACTION = 1.4``,
  ``_SWIPE_DISTANCE_THRESHOLD = 0.04``. The augment grows a box BY the fraction (1.4: 2.4x as tall
  and wide), shifts its top-left corner by half the growth, clamps the corner at 0 and the height and
  width at 1 (so a box clamped at the top keeps its full height and reaches further down).
- Qwen2.5-VL's evaluation as published by OpenBMB/AgentCPM-GUI ``eval/utils/evaluator.py``
  ("Based on evaluator of Qwen 2.5 VL", QwenLM/Qwen2.5-VL issue 904): ``_resize_annotation_bounding_boxes``
  grows a box by ``(factor - 1)`` of its size (1.2: 1.2x, top-left shifted by 0.1x, same clamps),
  ``obtain_gt_bbox`` (the enlarged boxes that contain the truth point, or for AndroidControl the 5
  nearest enlarged boxes by centre distance, ``sorted`` so ties keep the element order),
  ``_get_direction`` (the axis with the larger change, ties vertical), thresholds
  ``_TAP_DISTANCE_THRESHOLD = 0.14`` and ``_TAP_DISTANCE_THRESHOLD_AC = 0.04``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

YX = tuple[float, float]
YXHW = tuple[float, float, float, float]

AITW_TAP_DISTANCE = 0.14  # action_matching._TAP_DISTANCE_THRESHOLD
AITW_AUGMENT = 1.4  # action_matching.ANNOTATION_WIDTH/HEIGHT_AUGMENT_FRACTION
SWIPE_DISTANCE = 0.04  # action_matching._SWIPE_DISTANCE_THRESHOLD: a shorter dual point is a tap
QWEN_FACTOR = 1.2  # evaluator.ANNOTATION_WIDTH/HEIGHT_AUGMENT_FRACTION ("aitz and qwen 2.5 vl")
QWEN_TAP_DISTANCE_AC = 0.04  # evaluator._TAP_DISTANCE_THRESHOLD_AC (AndroidControl)
QWEN_NEAREST = 5  # evaluator.obtain_gt_bbox: the 5 nearest boxes for AndroidControl

#: AITW action type integers (android_in_the_wild/action_type.py, ActionType)
TYPE, DUAL_POINT, PRESS_BACK, PRESS_HOME, PRESS_ENTER = 3, 4, 5, 6, 7
STATUS_TASK_COMPLETE, STATUS_TASK_IMPOSSIBLE = 10, 11


def norm(a: YX, b: YX) -> float:
    """``jnp.linalg.norm(a - b)`` of two normalised points."""
    return math.hypot(a[0] - b[0], a[1] - b[1])


def in_box(p: YX, box: YXHW) -> bool:
    """``_yx_in_bounding_boxes`` for one box: edges included."""
    y, x = p
    top, left, height, width = box
    return top <= y <= top + height and left <= x <= left + width


def aitw_resize(box: YXHW, augment: float = AITW_AUGMENT) -> YXHW:
    """``_resize_annotation_bounding_boxes`` (AITW): grow BY ``augment`` of the size.

    >>> [round(v, 6) for v in aitw_resize((0.5, 0.5, 0.1, 0.1))]
    [0.43, 0.43, 0.24, 0.24]
    """
    top, left, height, width = box
    dh, dw = augment * height, augment * width
    return (max(0.0, top - dh / 2), max(0.0, left - dw / 2), min(1.0, height + dh), min(1.0, width + dw))


def is_tap(touch: YX, lift: YX) -> bool:
    """``is_tap_action``: touch and lift within 0.04 (inclusive) make a tap."""
    return norm(touch, lift) <= SWIPE_DISTANCE


def aitw_taps_match(tap1: YX, tap2: YX, boxes: Sequence[YXHW], threshold: float, augment: float) -> bool:
    """``_check_tap_actions_match``: both in one enlarged box, or within ``threshold`` (inclusive)."""
    resized = [aitw_resize(b, augment) for b in boxes]
    both_in_box = any(in_box(tap1, b) and in_box(tap2, b) for b in resized)
    return both_in_box or norm(tap1, tap2) <= threshold


def main_axis(touch: YX, lift: YX) -> int:
    """``np.argmax(|lift - touch|)`` over (y, x): 0 vertical, 1 horizontal; a tie is 0 (argmax's first)."""
    dy, dx = abs(lift[0] - touch[0]), abs(lift[1] - touch[1])
    return 1 if dx > dy else 0


def aitw_actions_match(
    a: tuple[int | str, YX, YX],
    b: tuple[int | str, YX, YX],
    boxes: Sequence[YXHW],
    threshold: float = AITW_TAP_DISTANCE,
    augment: float = AITW_AUGMENT,
) -> bool:
    """``check_actions_match`` on ``(action type, touch_yx, lift_yx)`` triples.

    Not a dual point on either side: the types alone. A tap against a swipe: False. Two taps:
    :func:`aitw_taps_match`. Two swipes: the same :func:`main_axis` (the sign is not compared).
    """
    (type_a, touch_a, lift_a), (type_b, touch_b, lift_b) = a, b
    if type_a != DUAL_POINT or type_b != DUAL_POINT:
        return type_a == type_b
    tap_a, tap_b = is_tap(touch_a, lift_a), is_tap(touch_b, lift_b)
    if tap_a != tap_b:
        return False
    if tap_a:
        return aitw_taps_match(touch_a, touch_b, boxes, threshold, augment)
    return main_axis(touch_a, lift_a) == main_axis(touch_b, lift_b)


def qwen_resize(box: YXHW, factor: float = QWEN_FACTOR) -> YXHW:
    """The Qwen/AgentCPM ``_resize_annotation_bounding_boxes``: grow by ``factor - 1`` of the size.

    >>> [round(v, 6) for v in qwen_resize((0.5, 0.5, 0.1, 0.1))]
    [0.49, 0.49, 0.12, 0.12]
    """
    top, left, height, width = box
    dh, dw = (factor - 1) * height, (factor - 1) * width
    return (max(0.0, top - dh / 2), max(0.0, left - dw / 2), min(1.0, height + dh), min(1.0, width + dw))


def qwen_candidates(truth: YX, boxes: Sequence[YXHW], nearest: int | None) -> list[YXHW]:
    """``obtain_gt_bbox``: the boxes containing ``truth``, or (``nearest``) the nearest by centre."""
    if nearest is None:
        return [b for b in boxes if in_box(truth, b)]

    def centre_distance(b: YXHW) -> float:
        return norm((b[0] + b[2] / 2, b[1] + b[3] / 2), truth)

    return sorted(boxes, key=centre_distance)[:nearest]  # stable: ties keep the element order


def qwen_click_match(
    pred: YX,
    truth: YX,
    boxes: Sequence[YXHW],
    threshold: float,
    *,
    factor: float = QWEN_FACTOR,
    nearest: int | None = None,
) -> bool:
    """The evaluator's click/long_point rule: in a candidate enlarged box, else within ``threshold``."""
    candidates = qwen_candidates(truth, [qwen_resize(b, factor) for b in boxes], nearest)
    if any(in_box(pred, b) for b in candidates):
        return True
    return norm(pred, truth) <= threshold


def qwen_direction(touch: YX, lift: YX) -> str | None:
    """``_get_direction``: the finger's direction by the larger change; ties vertical; None: no move."""
    dy, dx = lift[0] - touch[0], lift[1] - touch[1]
    if dx == 0 and dy == 0:
        return None
    if abs(dx) > abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def contains_either(pred: str, truth: str) -> bool:
    """SeeClick's AITW text rule (``aitw_test.py``): equal, or one contains the other."""
    return pred == truth or pred in truth or truth in pred


def qwen_text_match(pred: str, truth: str) -> bool:
    """The Qwen/AgentCPM type rule: lower-cased and stripped, one contains the other."""
    p, t = pred.lower().strip(), truth.lower().strip()
    return p in t or t in p
