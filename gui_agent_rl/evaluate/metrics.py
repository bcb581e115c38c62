"""Per-step matching rules and the metrics papers report, computed with the reward code's helpers.

A prediction is the answer of the model's completion parsed as an action (``parse_completion``); a
missing prediction, or one whose answer is not a valid action, is wrong and a format failure. The
predicted coordinates are converted to original pixels with the rewards' ``pred_to_original`` (frame
``resized``, ``original`` or ``norm1000``; the image size is the last entry of the sample's
``image_sizes``). A step is a **success** when the type equals the truth's and:

- ``click`` / ``long_click``: the centre of the predicted box lies inside the truth box (edges
  included) after enlarging the truth box ``box_scale`` times about its centre (default 1.0: the box
  as annotated; 1.2 = 20% wider and taller; AITW's "1.4x" augment is 2.4 here), **or**, when
  ``tap_distance`` is set, within that distance of the truth box's centre measured in screen
  fractions (the rewards' ``screen_distance``: x / width, y / height), like AITW's
  ``TAP_DISTANCE_THRESHOLD = 0.14``; off by default. AITW's whole tap rule is ``box_scale=2.4,
  tap_distance=0.14`` (the ``distance`` accuracy method). A sample without ``image_sizes`` is measured
  against the rewards' ``FALLBACK_SCREEN``, as the accuracy reward does.
- ``type`` / ``open_app``: the rewards' ``text_similarity`` (normalised Levenshtein) >= ``text_threshold``
  (default 0.8), the texts compared under ``text_match`` (default ``faithful``: NFKC and whitespace
  only, so case and punctuation count; ``casefold`` and ``loose`` are opt-in, see ``rewards.text``).
  A truth recorded as a *point* (``"x,y"``) is matched by distance: the tap point (predicted point or
  box centre) within ``tap_distance`` of it, else within ``point_distance`` (default the rewards'
  ``DEFAULT_POINT_DISTANCE``, 0.04: AndroidControl's rule as Qwen2.5-VL evaluates it; ``eval
  --point-distance`` sets it for the rule and the accuracy reward alike).
- ``swipe``: the same direction of the finger (up/down/left/right: a direction word as given,
  endpoints by their main axis, ``swipe_direction``).
- ``key``: the same key name; ``home``: the type alone.
- ``inquiry``: the same ``AnswerIndex``.
- ``task_completed``, ``task_impossible``, ``wait``, ``back``: the type alone (the accuracy reward
  also grades the summary text of the two task types; evaluation does not, as AITW's matching).

``grounding_accuracy`` counts the samples whose truth is a click or long_click and whose prediction
is either of the two with its centre matching the truth box as above (click vs long_click ignored).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from gui_agent_rl.evaluate.episodes import LengthSources, episode_metrics
from gui_agent_rl.rewards.accuracy import (
    DEFAULT_POINT_DISTANCE,
    FALLBACK_SCREEN,
    action_geometry,
    check_point_distance,
    pred_to_original,
    screen_distance,
)
from gui_agent_rl.rewards.text import DEFAULT_TEXT_MATCH, check_text_match, text_similarity
from gui_agent_rl.schemas import BOX_ACTION_TYPES, Action, Box, CoordinateFrame, ImageFrame, Point

DEFAULT_TEXT_THRESHOLD = 0.8
INVALID = "invalid"  # the confusion matrix's column for answers that are not valid actions


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Tolerances of the step-success rule (see the module docstring)."""

    box_scale: float = 1.0
    tap_distance: float | None = None
    text_threshold: float = DEFAULT_TEXT_THRESHOLD
    text_match: str = DEFAULT_TEXT_MATCH
    point_distance: float = DEFAULT_POINT_DISTANCE

    def __post_init__(self) -> None:
        # ``not x > 0`` rather than ``x <= 0``: NaN fails every comparison and must not slip through
        if not (math.isfinite(self.box_scale) and self.box_scale > 0):
            raise ValueError(f"box_scale must be a finite number > 0, got {self.box_scale}")
        tap = self.tap_distance
        if tap is not None and not (math.isfinite(tap) and tap >= 0):
            raise ValueError(f"tap_distance must be a finite number >= 0, got {tap}")
        if not 0 <= self.text_threshold <= 1:
            raise ValueError(f"text_threshold must be in [0, 1], got {self.text_threshold}")
        check_text_match(self.text_match)
        check_point_distance(self.point_distance)


@dataclass(frozen=True, slots=True)
class StepResult:
    """The verdict on one sample; ``reason`` says in words why it is right or wrong."""

    id: int | str
    truth: Action
    pred: Action | None
    type_ok: bool
    step_ok: bool
    grounding_ok: bool | None  # None unless the truth is a click or long_click
    reason: str
    task_id: str | None = None
    step: int | None = None
    rewards: dict[str, float | None] = field(default_factory=dict)
    #: exactly the sample's stated output form with a valid action (None: not judged, read ``pred``)
    well_formed: bool | None = None
    #: the sample's ``meta.episode_length`` (steps of the original episode), None when absent
    episode_length: int | None = None
    #: the ``--protocol`` verdict ``{"type_ok", "step_ok", "reason"}``, None without one
    protocol: dict | None = None

    @property
    def pred_type(self) -> str:
        return self.pred.action_type if self.pred is not None else INVALID


def point_matches_box(point: Point, truth: Box, frame: ImageFrame | None, rules: MatchRules) -> bool:
    """The click rule: inside the enlarged truth box, or within ``tap_distance`` of its centre.

    Distances are normalised by the screen (``frame``, or the rewards' ``FALLBACK_SCREEN``).

    >>> point_matches_box(Point(11, 5), Box(0, 0, 10, 10), None, MatchRules(box_scale=1.2))
    True
    """
    if truth.scaled_about_center(rules.box_scale).contains(point):
        return True
    if rules.tap_distance is None:
        return False
    return screen_distance(point, truth.center, frame or FALLBACK_SCREEN) <= rules.tap_distance


def target_matches(point: Point, truth: Action, frame: ImageFrame | None, rules: MatchRules) -> bool:
    """The click rule against a click/long_click truth: its box (:func:`point_matches_box`), or for a
    truth point, within ``tap_distance`` (else ``point_distance``) of it."""
    if truth.box is not None:
        return point_matches_box(point, truth.box, frame, rules)
    radius = rules.point_distance if rules.tap_distance is None else rules.tap_distance
    return screen_distance(point, truth.point, frame or FALLBACK_SCREEN) <= radius


def match_parameters(
    pred: Action,
    truth: Action,
    frame: ImageFrame | None,
    pred_frame: CoordinateFrame | str,
    rules: MatchRules,
) -> tuple[bool, str]:
    """``(right, reason)`` for two actions of the same type."""
    kind = truth.action_type
    if kind in BOX_ACTION_TYPES:
        box, _ = pred_to_original(pred, frame, pred_frame)
        if box is None:
            return False, "no predicted box"
        c = box.center
        ok = target_matches(c, truth, frame, rules)
        what = "the box" if truth.box is not None else "the point"
        return ok, f"centre ({c.x:.0f},{c.y:.0f}) {'matches' if ok else 'misses'} {what}"
    if kind == "swipe":
        got = action_geometry(pred, frame, pred_frame).direction
        want = truth.direction
        return got == want, f"swipe {got or 'nowhere'}, truth {want or 'nowhere'}"
    if kind == "key":
        return pred.key == truth.key, f"key {pred.key}, truth {truth.key}"
    if kind in ("type", "open_app"):
        similarity = text_similarity(pred.text, truth.text, rules.text_match)
        ok = similarity >= rules.text_threshold
        verdict = f"{'>=' if ok else '<'} {rules.text_threshold:g}"
        return ok, f"text similarity ({rules.text_match}) {similarity:.2f} {verdict}"
    if kind == "inquiry":
        got, want = pred.inquiry.answer_index, truth.inquiry.answer_index
        return got == want, f"answer index {got}, truth {want}"
    return True, "type matches"


def judge_step(
    pred: Action | None,
    truth: Action,
    frame: ImageFrame | None,
    pred_frame: CoordinateFrame | str,
    rules: MatchRules,
    *,
    error: str | None = None,
) -> tuple[bool, bool, bool | None, str]:
    """``(type_ok, step_ok, grounding_ok, reason)`` for one prediction (None: invalid, ``error`` says why)."""
    grounding: bool | None = None
    if truth.action_type in BOX_ACTION_TYPES:
        grounding = False
        if pred is not None and pred.action_type in BOX_ACTION_TYPES:
            box, _ = pred_to_original(pred, frame, pred_frame)
            grounding = box is not None and target_matches(box.center, truth, frame, rules)
    if pred is None:
        return False, False, grounding, error or "no valid action"
    if pred.action_type != truth.action_type:
        return False, False, grounding, f"type {pred.action_type}, truth {truth.action_type}"
    ok, reason = match_parameters(pred, truth, frame, pred_frame, rules)
    return True, ok, grounding, reason


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _is_well_formed(result: StepResult) -> bool:
    return result.pred is not None if result.well_formed is None else result.well_formed


def aggregate(results: Sequence[StepResult]) -> dict:
    """The metrics dict (without ``rewards``/``by_task``) over all results.

    ``format_rate`` is the share of well-formed predictions: exactly the output form their sample
    states (``answer`` or ``think``, see ``matches_output_format``) with a valid action as the answer.
    """
    per_type: dict[str, dict] = {}
    confusion: dict[str, Counter] = defaultdict(Counter)
    groups: dict[str, list[StepResult]] = defaultdict(list)
    for r in results:
        groups[r.truth.action_type].append(r)
        confusion[r.truth.action_type][r.pred_type] += 1
    for kind in sorted(groups):
        rs = groups[kind]
        per_type[kind] = {
            "count": len(rs),
            "type_accuracy": _rate([r.type_ok for r in rs]),
            "step_success": _rate([r.step_ok for r in rs]),
        }
    grounding = [r.grounding_ok for r in results if r.grounding_ok is not None]
    return {
        "count": len(results),
        "type_accuracy": _rate([r.type_ok for r in results]),
        "step_success": _rate([r.step_ok for r in results]),
        "grounding_accuracy": _rate(grounding),
        "grounding_count": len(grounding),
        "format_rate": _rate([_is_well_formed(r) for r in results]),
        "per_type": per_type,
        "confusion": {t: dict(sorted(confusion[t].items())) for t in sorted(confusion)},
    }


def task_metrics(results: Sequence[StepResult], sources: LengthSources | None = None) -> dict:
    """Episode success and mean goal progress over the tasks (``task_id``), steps in ``step`` order.

    Goal progress of a task = (steps right before its first wrong step) / (its steps). How many steps
    a task had comes from ``meta.episode_length`` or ``sources`` (:mod:`.episodes`); a step no sample
    holds is a wrong step. Without lengths, a task's steps are its samples (``lengths_from`` says so).
    Raises ``ValueError`` naming the first sample without a ``task_id``.
    """
    tasks: dict[str, list[tuple[int | None, bool, int | None]]] = defaultdict(list)
    for r in results:
        if r.task_id is None:
            raise ValueError(f"sample {r.id!r} has no task_id; --by-task needs one on every sample")
        tasks[r.task_id].append((r.step, r.step_ok, r.episode_length))
    return episode_metrics(tasks, sources)
