"""What is in a dataset, and will its prompts fit the budget? (``gui-agent-rl stats``)

A sample's prompt length is its text tokens plus, per image, the ``<|image_pad|>`` tokens Qwen2.5-VL
spends on it (:func:`~gui_agent_rl.schemas.visual_tokens`, from ``smart_resize`` and the pixel
limits) and the two vision start/end tokens, plus a fixed allowance for the chat template.

Text tokens are *estimated* without a tokenizer: one token per non-ASCII character (Qwen's
vocabulary has most common Chinese characters as single tokens, some pairs merge) and one per four
ASCII characters (rounded up; JSON punctuation and Latin text average about four characters a
token). It overestimates Chinese a little, which is the safe side for a budget. With a tokenizer
(``--tokenizer PATH``) the count is exact.
"""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from gui_agent_rl.schemas import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    IMAGE_PLACEHOLDER,
    JsonlError,
    Sample,
    iter_jsonl,
    visual_tokens,
)
from gui_agent_rl.schemas.actions import describe_validation_error

CHAT_TEMPLATE_TOKENS = 20  # system prompt + role markers of Qwen2.5-VL's chat template, roughly
VISION_WRAPPER_TOKENS = 2  # <|vision_start|> and <|vision_end|> around each image's pad tokens
_FLAGGED_SHOWN = 20

TokenCounter = Callable[[str], int]


def estimate_text_tokens(text: str) -> int:
    """~1 token per non-ASCII (CJK) character and ~1 per 4 ASCII characters.

    >>> estimate_text_tokens("点击剑来")
    4
    >>> estimate_text_tokens('{"click": "1,2,3,4"}')
    5
    """
    ascii_chars = len(text.encode("ascii", "ignore"))
    return (len(text) - ascii_chars) + (ascii_chars + 3) // 4


def tokenizer_counter(path: str | os.PathLike[str]) -> TokenCounter:
    """An exact text-token counter from a Hugging Face tokenizer folder (needs ``transformers``)."""
    from transformers import AutoTokenizer  # heavy: imported only when asked for

    tok = AutoTokenizer.from_pretrained(os.fspath(path))
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


@dataclass
class DatasetStats:
    """Figures of one dataset; ``format()`` is what ``gui-agent-rl stats`` prints."""

    samples: int = 0
    task_ids: set[str] = field(default_factory=set)
    action_mix: Counter[str] = field(default_factory=Counter)
    images_per_sample: Counter[int] = field(default_factory=Counter)
    image_sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    prompt_tokens: array = field(default_factory=lambda: array("q"))
    unsized_images: int = 0
    max_prompt_tokens: int | None = None
    over_budget: int = 0
    over_budget_ids: list[int | str] = field(default_factory=list)

    def percentiles(self, *qs: float) -> list[int]:
        """The ``q``-th percentiles (0..100) of prompt tokens, nearest rank; zeros when empty."""
        ordered = sorted(self.prompt_tokens)
        if not ordered:
            return [0 for _ in qs]
        return [ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))] for q in qs]

    def format(self) -> str:
        n = self.samples or 1
        lines = [f"samples: {self.samples}", f"tasks: {len(self.task_ids)}", "action types:"]
        lines += [f"  {k:<16}{v:>8}  {100 * v / n:5.1f}%" for k, v in self.action_mix.most_common()]
        lines.append(
            "images per sample: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.images_per_sample.items()))
        )
        lines.append(
            "image sizes (w x h): "
            + ", ".join(f"{w}x{h}: {c}" for (w, h), c in self.image_sizes.most_common(8))
        )
        if self.unsized_images:
            lines.append(f"  {self.unsized_images} images without a recorded size (not counted in tokens)")
        if self.prompt_tokens:
            values = self.percentiles(0, 50, 95, 100)
            figures = ", ".join(
                f"{n} {v}" for n, v in zip(("min", "median", "p95", "max"), values, strict=True)
            )
            lines.append(f"prompt tokens per sample: {figures}")
        if self.max_prompt_tokens is not None:
            ids = ", ".join(map(str, self.over_budget_ids)) + (
                " ..." if self.over_budget > len(self.over_budget_ids) else ""
            )
            lines.append(
                f"over the budget of {self.max_prompt_tokens} tokens: {self.over_budget}"
                + (f" (ids {ids})" if ids else "")
            )
        return "\n".join(lines)


def _action_type(solution: str) -> str:
    text = solution.strip().removeprefix("<answer>").removesuffix("</answer>")
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "(not JSON)"
    return str(obj.get("action_type", "(no action_type)")) if isinstance(obj, dict) else "(not an object)"


def _numbered_samples(path: str | os.PathLike[str]) -> Iterator[tuple[int, Sample]]:
    """``(line number, sample)``: :func:`~gui_agent_rl.schemas.read_samples` with the line kept."""
    for lineno, obj in iter_jsonl(path):
        try:
            yield lineno, Sample.model_validate(obj)
        except ValidationError as exc:
            raise JsonlError(path, lineno, describe_validation_error(exc)) from None


def _image_tokens(w: int, h: int, min_pixels: int, max_pixels: int, where: tuple[str, int, int]) -> int:
    """:func:`visual_tokens` of one image; :class:`JsonlError` naming the line for a size the
    processor refuses (no pixels, an aspect ratio over 200)."""
    try:
        return visual_tokens(w, h, min_pixels, max_pixels)
    except ValueError as exc:
        path, lineno, i = where
        raise JsonlError(
            path, lineno, f"image_sizes[{i}] is {w}x{h}: {exc}; Qwen2.5-VL's image processor refuses it"
        ) from None


def dataset_stats(
    path: str | os.PathLike[str],
    *,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_prompt_tokens: int | None = None,
    count_text: TokenCounter = estimate_text_tokens,
) -> DatasetStats:
    """Stream ``path`` once and gather :class:`DatasetStats`; a bad line raises ``JsonlError`` naming it
    (also a line whose ``image_sizes`` no model could take)."""
    stats = DatasetStats(max_prompt_tokens=max_prompt_tokens)
    for lineno, sample in _numbered_samples(path):
        stats.samples += 1
        if sample.task_id is not None:
            stats.task_ids.add(sample.task_id)
        stats.action_mix[_action_type(sample.solution)] += 1
        stats.images_per_sample[len(sample.images)] += 1
        tokens = CHAT_TEMPLATE_TOKENS + count_text(sample.prompt.replace(IMAGE_PLACEHOLDER, ""))
        sizes = sample.image_sizes or []
        stats.unsized_images += len(sample.images) - len(sizes)
        for i, (w, h) in enumerate(sizes):
            stats.image_sizes[(w, h)] += 1
            tokens += VISION_WRAPPER_TOKENS + _image_tokens(w, h, min_pixels, max_pixels, (path, lineno, i))
        stats.prompt_tokens.append(tokens)
        if max_prompt_tokens is not None and tokens > max_prompt_tokens:
            stats.over_budget += 1
            if len(stats.over_budget_ids) < _FLAGGED_SHOWN:
                stats.over_budget_ids.append(sample.id)
    return stats
