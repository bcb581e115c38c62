"""Where an action lands on the screen, in original pixels: the geometry every coordinate rule reads.

A click or long_click has a tap point (the point answered, or the box's centre) and, when answered
with one, a box; a swipe has the finger's direction and, when answered with them, endpoints. Numbers are
converted from the frame the model answers in (``resized``: Qwen2.5-VL's ``smart_resize``;
``norm1000``; ``original``) with the screen's :class:`~gui_agent_rl.schemas.ImageFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gui_agent_rl.schemas.actions import Action, ClickAction, LongClickAction, SwipeAction
from gui_agent_rl.schemas.geometry import Box, CoordinateFrame, ImageFrame, Point, swipe_direction

__all__ = ["Geometry", "action_geometry", "pred_to_original"]


@lru_cache(maxsize=4096)
def _to_original_factors(frame: ImageFrame, src: CoordinateFrame) -> tuple[float, float]:
    sx, sy = frame.scale(src)
    return 1.0 / sx, 1.0 / sy


@dataclass(frozen=True, slots=True)
class Geometry:
    """An action's places on the screen, in original pixels (all None for a type without any)."""

    box: Box | None = None  # click/long_click answered with a box
    point: Point | None = None  # click/long_click: the point answered, or the box's centre
    ends: tuple[Point, Point] | None = None  # swipe endpoints (None for a swipe by direction)
    direction: str | None = None  # swipe: the finger's direction (endpoints: their main axis)


def action_geometry(action: Action, frame: ImageFrame | None, src: CoordinateFrame | str) -> Geometry:
    """:class:`Geometry` of an action whose numbers live in frame ``src``, converted to original pixels.

    Without a frame the coordinates are returned unchanged (frames are taken as equal).

    >>> from gui_agent_rl.schemas import parse_action
    >>> a = parse_action('{"action_type": "click", "action_parameter": {"click": "546,1204"}}')
    >>> action_geometry(a, ImageFrame(1080, 2400), "resized").point
    Point(x=540.0, y=1200.0)
    """
    fx, fy = (1.0, 1.0) if frame is None else _to_original_factors(frame, CoordinateFrame(src))
    if isinstance(action, (ClickAction, LongClickAction)):
        b, p = action.box, action.point
        box = None if b is None else Box(b.x1 * fx, b.y1 * fy, b.x2 * fx, b.y2 * fy)
        return Geometry(box=box, point=Point(p.x * fx, p.y * fy))
    if isinstance(action, SwipeAction):
        s, e = action.start, action.end
        if s is None or e is None:
            return Geometry(direction=action.direction)
        ends = (Point(s.x * fx, s.y * fy), Point(e.x * fx, e.y * fy))
        return Geometry(ends=ends, direction=swipe_direction(*ends))
    return Geometry()


def pred_to_original(
    action: Action, frame: ImageFrame | None, src: CoordinateFrame | str
) -> tuple[Box | None, tuple[Point, Point] | None]:
    """The predicted box (click, long_click) or swipe endpoints in original pixels.

    A point answer comes back as the zero-size box at the point (its centre is the tap point); a swipe
    by direction has no endpoints (None). :func:`action_geometry` tells the forms apart.

    >>> from gui_agent_rl.schemas import parse_action
    >>> a = parse_action('{"action_type": "click", "action_parameter": {"click": "0,0,546,1204"}}')
    >>> pred_to_original(a, ImageFrame(1080, 2400), "resized")[0]
    Box(x1=0.0, y1=0.0, x2=540.0, y2=1200.0)
    """
    g = action_geometry(action, frame, src)
    if g.box is None and g.point is not None:
        return Box(g.point.x, g.point.y, g.point.x, g.point.y), None
    return g.box, g.ends
