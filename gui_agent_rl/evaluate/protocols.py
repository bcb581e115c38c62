"""``eval --protocol``: the published action-matching rules, so step accuracy can stand next to papers.

Presets (the algorithms are transcribed in :mod:`.protocol_rules`, with their sources):

- ``aitw``: AITW's ``check_actions_match`` (google-research/google-research
  ``android_in_the_wild/action_matching.py``). Taps (a dual point whose touch and lift are within
  0.04) match when both points lie in one element box grown by ``ANNOTATION_*_AUGMENT_FRACTION`` 1.4
  (2.4x, clamped to the screen as the reference does) or within 0.14 of each other; a tap never
  matches a swipe; swipes match on the main axis only (vertical or horizontal, not the sign); every
  other action on its type. Typed text must also match as SeeClick's ``aitw_test.py`` counts it
  (equal, or one contains the other): the one addition to ``check_actions_match``, which ignores text.
  ``long_click`` is a tap here (AITW has no long press).
- ``aitz``: Qwen2.5-VL's evaluator as OpenBMB/AgentCPM-GUI publishes it (``eval/utils/evaluator.py``,
  "based on evaluator of Qwen 2.5 VL", QwenLM/Qwen2.5-VL issue 904), its AITZ/common mode: types
  click, long_point (our long_click), scroll (swipe), type, open (open_app), press (back, home, key),
  stop (task_completed and task_impossible alike), wait. A click matches when the predicted point is in
  an element box grown to 1.2x that contains the truth point, else within 0.14 of it; scroll on the
  finger's direction; type and open when the lower-cased, stripped texts contain one another; press on
  the button; stop and wait on the type.
- ``qwen-androidcontrol`` (alias ``androidcontrol``): the same evaluator in its AndroidControl mode:
  the candidate boxes are the 5 elements (grown to 1.2x) whose centres are nearest the truth point,
  and the distance fallback is 0.04.

All distances are Euclidean on coordinates normalised by the screen: x / width and y / height of the
screenshot the action was taken on (``meta.screen_size``; the truth's pixels are of that frame).
Predictions are converted from ``--frame`` to the original pixels of the last image (``image_sizes``)
as the rewards do, then normalised by that image's size. Inputs come from each built sample's
``meta`` (see the importers): ``tap_point`` (the original tap; else the truth's point or box centre),
``lift_point`` (with ``tap_point``, a swipe's endpoints), ``elements`` (pixel boxes ``[x1, y1, x2,
y2]``; without them taps are judged by distance alone, as the references do with no boxes) and
``screen_size`` (else the last ``image_sizes``; neither is an error). Each fallback is counted in
``fallbacks``. Types the reference has no rule for (inquiry; open_app and wait under ``aitw``) are
judged on type and the default parameter rule (:func:`.metrics.match_parameters`).

The setting (``high``: the instruction is the episode goal; ``low``: the step instruction) is read
from how the data was imported: ``meta.step_instruction`` or ``meta.goal`` found in the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from gui_agent_rl.evaluate import protocol_rules as R
from gui_agent_rl.evaluate.episodes import sample_meta
from gui_agent_rl.rewards.parsing import current_screen
from gui_agent_rl.rewards.registry import RewardSettings
from gui_agent_rl.schemas import Action, CoordinateFrame, ImageFrame, Sample

DIRECTIONS = ("up", "down", "left", "right")
_STEP = {"up": (-0.25, 0.0), "down": (0.25, 0.0), "left": (0.0, -0.25), "right": (0.0, 0.25)}


@dataclass(frozen=True, slots=True)
class Protocol:
    """One preset: which reference algorithm and its constants."""

    name: str
    family: str  # "aitw": check_actions_match; "qwen": the Qwen2.5-VL / AgentCPM-GUI evaluator
    tap_distance: float
    box_factor: float  # AITW: the augment fraction; qwen: the box's new size over its old
    nearest: int | None
    source: str


_QWEN = "OpenBMB/AgentCPM-GUI eval/utils/evaluator.py (Qwen2.5-VL's evaluator, QwenLM/Qwen2.5-VL#904)"
PROTOCOLS = {
    "aitw": Protocol(
        "aitw", "aitw", R.AITW_TAP_DISTANCE, R.AITW_AUGMENT, None,
        "google-research android_in_the_wild/action_matching.py; typed text as SeeClick aitw_test.py",
    ),
    "aitz": Protocol("aitz", "qwen", R.AITW_TAP_DISTANCE, R.QWEN_FACTOR, None, _QWEN + ", AITZ mode"),
    "qwen-androidcontrol": Protocol(
        "qwen-androidcontrol", "qwen", R.QWEN_TAP_DISTANCE_AC, R.QWEN_FACTOR, R.QWEN_NEAREST,
        _QWEN + ", AndroidControl mode",
    ),
}  # fmt: skip
ALIASES = {"androidcontrol": "qwen-androidcontrol"}
PROTOCOL_NAMES = (*PROTOCOLS, *ALIASES)


def get_protocol(name: str) -> Protocol:
    """The preset called ``name`` (or an alias); unknown names raise ``ValueError`` listing all."""
    found = PROTOCOLS.get(ALIASES.get(name, name))
    if found is None:
        raise ValueError(f"unknown protocol {name!r}; expected one of {', '.join(PROTOCOL_NAMES)}")
    return found


@dataclass(frozen=True, slots=True)
class Screen:
    """One sample's screen: how to normalise truth and prediction pixels, and its elements."""

    width: float
    height: float
    pred: ImageFrame
    src: CoordinateFrame
    tap: R.YX | None
    lift: R.YX | None
    elements: tuple[R.YXHW, ...]
    fallbacks: tuple[str, ...]

    def truth_yx(self, x: float, y: float) -> R.YX:
        return (y / self.height, x / self.width)

    def pred_yx(self, x: float, y: float) -> R.YX:
        sx, sy = self.pred.scale(self.src)
        return (y / sy / self.pred.height, x / sx / self.pred.width)


def _numbers(value: object, count: int, what: str) -> list[float]:
    ok = isinstance(value, list | tuple) and len(value) == count
    if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{what} must be {count} numbers, got {value!r}")
    return [float(v) for v in value]


def screen_of(sample: Sample, settings: RewardSettings) -> Screen:
    """The :class:`Screen` of a sample from its ``meta`` and ``image_sizes`` (see the module docstring)."""
    meta, where = sample_meta(sample), f"sample {sample.id!r}: meta"
    frame = current_screen(sample.image_sizes, f"sample {sample.id!r}: image_sizes", settings.min_pixels,
                           settings.max_pixels)  # fmt: skip
    fallbacks = []
    if meta.get("screen_size") is not None:
        width, height = _numbers(meta["screen_size"], 2, f"{where}.screen_size")
        if width <= 0 or height <= 0:
            raise ValueError(f"{where}.screen_size must be positive, got {meta['screen_size']!r}")
    elif frame is not None:
        width, height = frame.width, frame.height
        fallbacks.append("screen size from image_sizes")
    else:
        raise ValueError(
            f"sample {sample.id!r}: --protocol needs the screen size (meta.screen_size or image_sizes)"
        )
    pred = frame or ImageFrame(round(width), round(height), settings.min_pixels, settings.max_pixels)
    screen = Screen(width, height, pred, CoordinateFrame(settings.coordinate_frame), None, None, (), ())
    tap, lift = (meta.get(k) for k in ("tap_point", "lift_point"))
    tap = screen.truth_yx(*_numbers(tap, 2, f"{where}.tap_point")) if tap is not None else None
    lift = screen.truth_yx(*_numbers(lift, 2, f"{where}.lift_point")) if lift is not None else None
    boxes = meta.get("elements")
    if boxes is None:
        fallbacks.append("no meta.elements")
    elif not isinstance(boxes, list):
        raise ValueError(f"{where}.elements must be a list of [x1, y1, x2, y2], got {boxes!r}")
    elements = tuple(
        _element(screen, _numbers(b, 4, f"{where}.elements[{i}]")) for i, b in enumerate(boxes or [])
    )
    return replace(screen, tap=tap, lift=lift, elements=elements, fallbacks=tuple(fallbacks))


def _element(screen: Screen, box: list[float]) -> R.YXHW:
    x1, y1, x2, y2 = box
    return (y1 / screen.height, x1 / screen.width, (y2 - y1) / screen.height, (x2 - x1) / screen.width)


@dataclass(frozen=True, slots=True)
class Gesture:
    """An action in the references' terms: normalised touch/lift points, finger direction, text."""

    kind: str
    touch: R.YX | None = None
    lift: R.YX | None = None
    direction: str | None = None
    text: str = ""


def gesture(action: Action, to_yx: Callable[[float, float], R.YX]) -> Gesture:
    """The :class:`Gesture` of an action, its pixels mapped by ``to_yx`` (read from the wire form)."""
    kind = action.action_type
    value = action.to_wire()["action_parameter"].get(kind, "")
    text = value if isinstance(value, str) else ""
    try:
        nums = [float(v) for v in text.split(",")] if kind in ("click", "long_click", "swipe") else []
    except ValueError:
        nums = []
    if kind in ("click", "long_click") and len(nums) in (2, 4):
        point = to_yx(*nums) if len(nums) == 2 else to_yx((nums[0] + nums[2]) / 2, (nums[1] + nums[3]) / 2)
        return Gesture(kind, point, point)
    if kind == "swipe" and len(nums) == 4:
        touch, lift = to_yx(nums[0], nums[1]), to_yx(nums[2], nums[3])
        return Gesture(kind, touch, lift, R.qwen_direction(touch, lift))
    if kind == "swipe" and text.strip().lower() in DIRECTIONS:
        return Gesture(kind, direction=text.strip().lower())
    return Gesture(kind, text=text)


def truth_gesture(truth: Action, screen: Screen) -> tuple[Gesture, str | None]:
    """The truth's gesture, with ``meta.tap_point`` / ``lift_point`` when given; and the fallback used."""
    g = gesture(truth, screen.truth_yx)
    if g.kind in ("click", "long_click"):
        if screen.tap is None:
            return g, "no meta.tap_point (the truth's point or box centre)"
        return replace(g, touch=screen.tap, lift=screen.tap), None
    if g.kind == "swipe" and screen.tap is not None and screen.lift is not None:
        return replace(
            g, touch=screen.tap, lift=screen.lift, direction=R.qwen_direction(screen.tap, screen.lift)
        ), None
    return g, None


_AITW_CODES = {
    "type": R.TYPE,
    "back": R.PRESS_BACK,
    "home": R.PRESS_HOME,
    "task_completed": R.STATUS_TASK_COMPLETE,
    "task_impossible": R.STATUS_TASK_IMPOSSIBLE,
}
_OFF_SCREEN = (-1.0, -1.0)


def aitw_triple(g: Gesture) -> tuple[int | str, R.YX, R.YX]:
    """``(AITW action type, touch_yx, lift_yx)``; a direction word is a 0.25 drag from the centre."""
    if g.kind in ("click", "long_click", "swipe"):
        if g.touch is not None and g.lift is not None:
            return R.DUAL_POINT, g.touch, g.lift
        if g.direction is not None:
            dy, dx = _STEP[g.direction]
            return R.DUAL_POINT, (0.5, 0.5), (0.5 + dy, 0.5 + dx)
        return f"{g.kind}:unreadable", _OFF_SCREEN, _OFF_SCREEN
    if g.kind == "key":
        return (R.PRESS_ENTER if g.text == "enter" else f"key:{g.text}"), _OFF_SCREEN, _OFF_SCREEN
    return _AITW_CODES.get(g.kind, g.kind), _OFF_SCREEN, _OFF_SCREEN


Verdict = tuple[bool, bool, str]  # (type_ok, step_ok, reason)
Fallback = Callable[[], tuple[bool, str]]  # the default parameter rule for types without a reference rule


def judge_aitw(p: Protocol, pred: Gesture, truth: Gesture, screen: Screen, fallback: Fallback) -> Verdict:
    """``check_actions_match`` plus SeeClick's typed-text rule (see the module docstring)."""
    a, b = aitw_triple(pred), aitw_triple(truth)
    if a[0] != b[0]:
        return False, False, f"AITW type {a[0]}, truth {b[0]}"
    ok = R.aitw_actions_match(a, b, screen.elements, p.tap_distance, p.box_factor)
    if b[0] == R.DUAL_POINT:
        kind = "tap" if R.is_tap(b[1], b[2]) else "swipe"
        return True, ok, f"{kind} {'matches' if ok else 'does not match'} (AITW)"
    if b[0] == R.TYPE:
        ok = R.contains_either(pred.text, truth.text)
        return True, ok, f"typed text {'contains or is contained' if ok else 'differs'}"
    if isinstance(b[0], str) and not b[0].startswith("key:"):
        return (True, *fallback())
    return True, ok, "type matches"


_QWEN_TYPES = {
    "long_click": "long_point",
    "swipe": "scroll",
    "open_app": "open",
    "back": "press",
    "home": "press",
    "key": "press",
    "task_completed": "stop",
    "task_impossible": "stop",
}


def _button(g: Gesture) -> str:
    return g.kind if g.kind in ("back", "home") else g.text


def judge_qwen(p: Protocol, pred: Gesture, truth: Gesture, screen: Screen, fallback: Fallback) -> Verdict:
    """The Qwen2.5-VL / AgentCPM-GUI evaluator's step rule (see the module docstring)."""
    kind, got = _QWEN_TYPES.get(truth.kind, truth.kind), _QWEN_TYPES.get(pred.kind, pred.kind)
    if kind != got:
        return False, False, f"type {got}, truth {kind}"
    if kind in ("click", "long_point"):
        if pred.touch is None or truth.touch is None:
            return True, False, "no point"
        ok = R.qwen_click_match(
            pred.touch, truth.touch, screen.elements, p.tap_distance, factor=p.box_factor, nearest=p.nearest
        )
        return (
            True,
            ok,
            f"point {'in a candidate box or within' if ok else 'in no candidate, beyond'} {p.tap_distance:g}",
        )
    if kind == "scroll":
        return True, pred.direction == truth.direction, f"scroll {pred.direction}, truth {truth.direction}"
    if kind in ("type", "open"):
        ok = R.qwen_text_match(pred.text, truth.text)
        return True, ok, f"text {'contains or is contained' if ok else 'differs'} (lower-cased)"
    if kind == "press":
        return True, _button(pred) == _button(truth), f"press {_button(pred)}, truth {_button(truth)}"
    if kind in ("stop", "wait"):
        return True, True, "type matches"
    return (True, *fallback())
