"""Name -> reward callable: the one place that knows every reward.

``get_reward_funcs(["format", "accuracy"], settings)`` builds the callables TRL's ``GRPOTrainer`` takes
as ``reward_funcs``; a name of the form ``package.module:function`` loads a user's own reward. The
``--reward_funcs`` help text is :func:`reward_help`, generated from :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gui_agent_rl.rewards.text import DEFAULT_TEXT_MATCH, check_text_match, check_text_threshold
from gui_agent_rl.schemas.geometry import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, CoordinateFrame


@dataclass
class RewardSettings:
    """What the configurable rewards read; the trainer fills it from the recipe and the processor."""

    coordinate_frame: str = "resized"
    """Frame the model's coordinates are read in: resized (Qwen2.5-VL's smart_resize), original, norm1000."""
    min_pixels: int = DEFAULT_MIN_PIXELS
    """The processor's min_pixels (for the resized frame)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """The processor's max_pixels (for the resized frame)."""
    accuracy_method: str | None = None
    """Box method for click/long_click (see rewards.accuracy.BOX_METHODS); None: default."""
    normalize_format: bool = False
    """Divide the format reward by its form's maximum (think 2.5, answer 1.0) so it lies in [0, 1]."""
    output_format: str | None = None
    """Force the stated output form (answer, think) for every sample; None: each sample's output_format."""
    judge_model: str | None = None
    """Model name sent to the llm_judge endpoint (None: $LLM_JUDGE_MODEL, else 'gpt-4o-mini')."""
    text_match: str = DEFAULT_TEXT_MATCH
    """How typed and app texts are compared (rewards.text): faithful (NFKC and whitespace only; the
    default), casefold (case ignored too) or loose (case, punctuation and spaces ignored)."""
    point_distance: float = 0.04
    """The distance rule for true points (taps recorded as a point, not a box): full accuracy credit
    when the tap lies within this normalised screen distance (x / width, y / height) of the point;
    0.04 is AndroidControl's rule as Qwen2.5-VL evaluates it (see rewards.accuracy)."""
    text_threshold: float | None = None
    """All-or-nothing text credit: 1.0 when a typed/app/summary text's similarity reaches this
    threshold, else 0.0 (as eval's step success counts it); None pays the similarity itself."""

    def __post_init__(self) -> None:
        CoordinateFrame(self.coordinate_frame)  # ValueError on a typo, at configuration time
        check_text_match(self.text_match)
        for name in ("min_pixels", "max_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) is larger than max_pixels ({self.max_pixels})")
        if self.output_format is not None:
            from gui_agent_rl.schemas.completion import check_output_format

            check_output_format(self.output_format)
        from gui_agent_rl.rewards.accuracy import box_method, check_point_distance

        box_method(self.accuracy_method)
        self.point_distance = check_point_distance(self.point_distance)
        self.text_threshold = check_text_threshold(self.text_threshold)


def _format(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.format import FormatReward

    return FormatReward(normalize=s.normalize_format, output_format=s.output_format)


def _format_strict(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.format import FormatStrictReward

    return FormatStrictReward(output_format=s.output_format)


def _accuracy(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.accuracy import AccuracyReward

    return AccuracyReward(
        s.coordinate_frame,
        s.min_pixels,
        s.max_pixels,
        s.accuracy_method,
        s.text_match,
        point_distance=s.point_distance,
        text_threshold=s.text_threshold,
    )


def _think_fields(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.extra import ThinkFieldsReward

    return ThinkFieldsReward()


def _schema(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.extra import SchemaReward

    return SchemaReward()


def _map(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.box_map import MapReward

    return MapReward(s.coordinate_frame, s.min_pixels, s.max_pixels)


def _llm_judge(s: RewardSettings) -> Callable:
    from gui_agent_rl.rewards.llm_judge import LLMJudgeReward

    return LLMJudgeReward(model=s.judge_model)


#: name -> (factory, one-line description for --help)
REGISTRY: dict[str, tuple[Callable[[RewardSettings], Callable], str]] = {
    "format": (_format, "graded tags/JSON/think-fields format: think form 0-2.5, answer form 0-1 (or /max)"),
    "accuracy": (_accuracy, "type-gated accuracy in [0, 1] (boxes, points, swipes, texts, keys, inquiry)"),
    "format_strict": (_format_strict, "1 when the completion is exactly the stated output form, else 0"),
    "think_fields": (_think_fields, "1 when the think block validates (four non-blank fields)"),
    "schema": (_schema, "1 when the answer is a valid action of any type"),
    "map": (_map, "COCO mAP of the answer's boxes against the true boxes (pycocotools)"),
    "llm_judge": (_llm_judge, "0-1 from an OpenAI-compatible judge ($OPENAI_API_BASE/$OPENAI_API_KEY)"),
}
REWARD_NAMES: tuple[str, ...] = tuple(REGISTRY)


def reward_help() -> str:
    """Help text for a ``--reward_funcs`` option, one reward per line."""
    width = max(map(len, REWARD_NAMES))
    lines = [f"{name:<{width}}  {doc}" for name, (_, doc) in REGISTRY.items()]
    lines.append(f"{'pkg.mod:fn':<{width}}  your own reward function (or callable class) by import path")
    return "\n".join(lines)


#: how TRL's GRPOTrainer calls a reward: these keywords plus every dataset column (hence ``**kwargs``)
REWARD_CALL = "f(prompts=..., completions=..., completion_ids=..., **columns)"


def check_reward_signature(obj: Callable, path: str) -> None:
    """Refuse a callable that cannot be called as a reward (:data:`REWARD_CALL`), by its signature.

    Nothing is run: a probe call could have side effects (a paid judge, files). ``os:getcwd`` (no
    arguments), ``json:dumps`` (a required ``obj``) and a function without ``**kwargs`` (TRL passes
    every dataset column) all fail here with one line, instead of a TypeError mid-training.
    """
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        message = f"reward {path!r}: no readable signature; a reward is called as {REWARD_CALL}"
        raise ValueError(message) from None
    try:
        signature.bind(prompts=[], completions=[], completion_ids=[], solution=[], any_other_column=[])
    except TypeError as exc:
        raise ValueError(
            f"reward {path!r} is not a reward function: it cannot be called as {REWARD_CALL} ({exc})"
        ) from None


def load_reward(path: str) -> Callable:
    """Import ``package.module:attribute`` (a class is instantiated without arguments) and check that it
    can be called as a reward (:func:`check_reward_signature`); every failure is one ``ValueError``."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"reward path must look like 'package.module:function', got {path!r}")
    try:
        obj: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, SyntaxError) as exc:
        raise ValueError(f"cannot load reward {path!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as exc:  # a class that needs arguments
            raise ValueError(f"cannot create reward {path!r} without arguments: {exc}") from None
    if not callable(obj):
        raise ValueError(f"reward {path!r} is not callable")
    check_reward_signature(obj, path)
    return obj


def get_reward_funcs(names: Sequence[str], settings: RewardSettings | None = None) -> list[Callable]:
    """The reward callables for ``names``, in order.

    >>> [f.__name__ for f in get_reward_funcs(["format", "accuracy"])]
    ['format', 'accuracy']
    """
    if isinstance(names, str):
        names = [names]
    settings = settings or RewardSettings()
    funcs = []
    for name in names:
        if ":" in name:
            funcs.append(load_reward(name))
        elif name in REGISTRY:
            funcs.append(REGISTRY[name][0](settings))
        else:
            valid = ", ".join(REWARD_NAMES)
            raise ValueError(f"unknown reward {name!r}; expected one of {valid} or 'package.module:function'")
    return funcs
