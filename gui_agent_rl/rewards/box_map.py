"""``map``: COCO mAP of the boxes in an answer against the true boxes, as VLM-R1's ``map_reward``.

Boxes are read from a click/long_click action, from ``{"bbox_2d": [x1, y1, x2, y2], ...}`` objects (the
VLM-R1 detection format), or from a JSON list of either. Labels are ignored (one category). The
predicted boxes keep the model's order as confidence (first = most confident) and are converted from
the configured coordinate frame to original pixels like the accuracy reward's. The score is
pycocotools' AP averaged over IoU 0.50:0.95 (``stats[0]``); pycocotools prints, so its stdout is
swallowed. A truth without boxes scores 0.0 for every completion: constant across a GRPO group, it
adds no advantage, so the reward can run on mixed data.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

from gui_agent_rl.rewards.parsing import answer_text, column, current_screen, row_label
from gui_agent_rl.schemas.completion import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    find_tagged,
    loads_or_missing,
)
from gui_agent_rl.schemas.geometry import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    Box,
    CoordinateFrame,
    ImageFrame,
)

MAX_DETECTIONS = 100  # COCO's maxDets: more predicted boxes than this are cut off
_BOX_TYPES = ("click", "long_click")


def _box_from_numbers(values: Any) -> Box | None:
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in values)
    except OverflowError:  # a Python int beyond float range
        return None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x1 >= x2 or y1 >= y2:
        return None
    return Box(x1, y1, x2, y2)


def _box_from_text(text: Any) -> Box | None:
    if not isinstance(text, str):
        return None
    try:
        return _box_from_numbers([float(v) for v in text.split(",")])
    except ValueError:
        return None


def boxes_in(value: Any) -> list[Box]:
    """Every well-formed box in a JSON value (see the module docstring); malformed ones are skipped.

    >>> click = {"action_type": "click", "action_parameter": {"click": "1,1,5,5"}}
    >>> boxes_in([{"bbox_2d": [0, 0, 10, 10]}, click])
    [Box(x1=0.0, y1=0.0, x2=10.0, y2=10.0), Box(x1=1.0, y1=1.0, x2=5.0, y2=5.0)]
    """
    items = value if isinstance(value, list) else [value]
    boxes = []
    for item in items:
        if not isinstance(item, dict):
            continue
        box = _box_from_numbers(item.get("bbox_2d"))
        params = item.get("action_parameter")
        if box is None and item.get("action_type") in _BOX_TYPES and isinstance(params, dict):
            box = _box_from_text(params.get(item["action_type"]))
        if box is not None:
            boxes.append(box)
    return boxes


def _json_of(text: str) -> Any:
    inner = find_tagged(text, ANSWER_OPEN, ANSWER_CLOSE)
    return loads_or_missing((text if inner is None else inner).strip())


def coco_map(pred: list[Box], truth: list[Box]) -> float:
    """pycocotools' mAP@[.50:.95] of ranked predicted boxes against true boxes, in [0, 1]."""
    if not pred or not truth:
        return 0.0
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def ann(i: int, b: Box) -> dict[str, Any]:
        return {
            "id": i + 1,
            "image_id": 1,
            "category_id": 1,
            "iscrowd": 0,
            "area": b.area,
            "bbox": [b.x1, b.y1, b.width, b.height],
        }

    gt = COCO()
    gt.dataset = {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "target"}],
        "annotations": [ann(i, b) for i, b in enumerate(truth)],
    }
    ranked = pred[:MAX_DETECTIONS]
    dets = [{**ann(i, b), "score": 1.0 - i / len(ranked)} for i, b in enumerate(ranked)]
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(dets), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return min(1.0, max(0.0, round(float(evaluator.stats[0]), 9)))  # AP of a perfect match is 1 - 2e-16


class MapReward:
    """TRL reward: :func:`coco_map` of the completion's answer boxes against the solution's boxes."""

    __name__ = "map"

    def __init__(
        self,
        coordinate_frame: CoordinateFrame | str = CoordinateFrame.RESIZED,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.coordinate_frame = CoordinateFrame(coordinate_frame)
        self.min_pixels, self.max_pixels = min_pixels, max_pixels

    def _truth_boxes(self, solution: Any, where: str) -> list[Box]:
        value = _json_of(solution) if isinstance(solution, str) else solution
        if not isinstance(value, (dict, list)):
            got = repr(solution)[:80]
            raise ValueError(f"{where}: expected the true answer as a JSON object or list, got {got}")
        return boxes_in(value)

    def _pred_boxes(self, completion: Any, frame: ImageFrame | None) -> list[Box]:
        inner = answer_text(completion)  # the answer given after the thinking, not one inside it
        boxes = [] if inner is None else boxes_in(loads_or_missing(inner))
        if frame is None:
            return boxes
        return [frame.convert_box(b, self.coordinate_frame, CoordinateFrame.ORIGINAL) for b in boxes]

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        completions = list(completions or [])
        solutions = column(columns, "solution", len(completions))
        sizes = column(columns, "image_sizes", len(completions))
        scores = []
        for i, completion in enumerate(completions):
            truth = self._truth_boxes(solutions[i], row_label(columns, "solution", i))
            if not truth:
                scores.append(0.0)
                continue
            where = row_label(columns, "image_sizes", i)
            frame = current_screen(sizes[i], where, self.min_pixels, self.max_pixels)
            scores.append(coco_map(self._pred_boxes(completion, frame), truth))
        return scores
