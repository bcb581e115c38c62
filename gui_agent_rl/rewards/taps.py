"""Scoring where a tap lands: the box methods and the distance rule (the click/long_click part of the
accuracy reward, :mod:`gui_agent_rl.rewards.accuracy`).

Distances on the screen are *normalised screen distances* (AITW's convention): the Euclidean distance
after dividing x by the screen width and y by the screen height, so 1.0 is a full screen width (or
height) and the screen's diagonal is sqrt(2). Every point here is in the truth's original pixels
(:mod:`gui_agent_rl.rewards.places` converts predictions first).

Box methods for ``click`` / ``long_click`` against a true *box* (the tap point is the predicted
point, or the predicted box's centre; a point answer is scored as a zero-size box at it):

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

  (A point answer has no area, so ``iou`` gives it 0; every other method reads only the tap point.)

**The distance rule** for a true *point* (data that records only where the finger landed): ``d`` is the
normalised screen distance from the tap point (predicted point or box centre) to the true point, and
``point_distance`` (default :data:`DEFAULT_POINT_DISTANCE` = 0.04, the rule AndroidControl is scored
with in Qwen2.5-VL's evaluation) is the radius of full credit: ``d <= point_distance`` scores 1.0 under
every method. Beyond it: ``default`` gives the near-miss credit measured from that circle,
``NEAR_MISS_CREDIT * (1 - (d - point_distance) / TAP_DISTANCE_THRESHOLD)``; ``center_in_box`` and
``iou`` give 0; ``distance`` gives 1.0 up to AITW's ``TAP_DISTANCE_THRESHOLD`` (0.14); ``gaussian``
gives ``exp(-((d - point_distance) / point_distance)^2 / 2)``. Coordinates are converted from the
answer's frame exactly as boxes are (``smart_resize`` for ``resized``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gui_agent_rl.rewards.places import Geometry
from gui_agent_rl.schemas.geometry import Box, ImageFrame, Point, iou

TAP_DISTANCE_THRESHOLD = 0.14  # normalised screen distance (AITW's _TAP_DISTANCE_THRESHOLD)
#: AITW's "1.4x" box augment adds 1.4x the width and height to a box, i.e. scales it by 2.4.
DISTANCE_BOX_SCALE = 2.4
NEAR_MISS_CREDIT = 0.5  # the default method's most credit for a tap just outside the true box
#: Full credit within this normalised distance of a true point (AndroidControl as Qwen2.5-VL scores it).
DEFAULT_POINT_DISTANCE = 0.04
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


def check_point_distance(value: float) -> float:
    """``value`` when it is a finite number >= 0 (a normalised screen distance), else ``ValueError``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value >= 0)
    ):
        raise ValueError(f"point_distance must be a finite number >= 0 (a screen fraction), got {value!r}")
    return float(value)


def box_method(name: str | None) -> BoxScorer:
    """The scorer called ``name`` (None: ``default``); unknown names raise ``ValueError`` listing all."""
    scorer = BOX_METHODS.get("default" if name is None else name)
    if scorer is None:
        raise ValueError(f"unknown accuracy method {name!r}; expected one of {', '.join(BOX_METHODS)}")
    return scorer


def point_score(tap: Point, truth: Point, screen: ImageFrame, method: str | None, radius: float) -> float:
    """The distance rule for a true point (module docstring): 1.0 within ``radius``, then by method."""
    d = screen_distance(tap, truth, screen)
    if not d > radius:  # also NaN (never produced by finite inputs): no credit below
        return 1.0 if d <= radius else 0.0
    if method == "distance":
        return 1.0 if d <= TAP_DISTANCE_THRESHOLD else 0.0
    if method in ("center_in_box", "iou"):
        return 0.0
    if method == "gaussian":
        z = (d - radius) / radius if radius > 0 else math.inf
        return math.exp(-0.5 * z * z)  # z * z, not z ** 2: a huge z gives inf, not OverflowError
    return NEAR_MISS_CREDIT * max(0.0, 1.0 - (d - radius) / TAP_DISTANCE_THRESHOLD)


def score_target(
    pred: Geometry, truth: Geometry, screen: ImageFrame, method: str | None, radius: float
) -> float:
    """A click/long_click's score: the distance rule against a true point, else the box method."""
    if pred.point is None or truth.point is None:
        return 0.0
    if truth.box is None:
        return point_score(pred.point, truth.point, screen, method, radius)
    p = pred.point
    pred_box = pred.box if pred.box is not None else Box(p.x, p.y, p.x, p.y)
    return box_method(method)(pred_box, truth.box, screen)
