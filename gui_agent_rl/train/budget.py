"""The prompt-budget check: which training prompts exceed ``max_prompt_length`` tokens, over every record.

A prompt costs its text tokens, per image ``visual_tokens`` (``smart_resize`` arithmetic on the recorded
``image_sizes``; image headers only for records without them) plus the two vision markers, and the chat
template's fixed text. Tokenizing is the slow part, so with a budget each text is first bounded by its
UTF-8 byte count: every token of a byte-level BPE (Qwen2's) covers at least one byte, and a
SentencePiece tokenizer adds at most one prefix piece. Only records whose bound does not fit are
tokenized, in batches; a few texts are tokenized up front to confirm the bound holds for this tokenizer
(else every text is). The counts above the budget, the ones reported, are therefore exact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from gui_agent_rl.schemas import IMAGE_PLACEHOLDER
from gui_agent_rl.schemas.geometry import visual_tokens

logger = logging.getLogger(__name__)

Tokenizer = Callable[[list[str]], Any]  # texts -> {"input_ids": [[int, ...], ...]} (a HF tokenizer)

TEMPLATE_TOKENS = 20  # the chat template's fixed text around one user turn
VISION_MARKERS = 2  # <|vision_start|> and <|vision_end|> around each image's tokens
TOKENIZE_BATCH = 512  # texts per tokenizer call: large batches of long texts slow fast tokenizers down
BOUND_PROBE = 32  # texts tokenized exactly to confirm that the byte bound holds


def image_size(path: str) -> tuple[int, int]:
    """(width, height) from the file header without decoding the pixels."""
    from PIL import Image

    with Image.open(path) as img:
        return img.size


def image_token_counts(records: Sequence[dict[str, Any]], min_pixels: int, max_pixels: int) -> list[int]:
    """Image tokens (vision markers included) of each record's images, one ``smart_resize`` per size."""
    per_size: dict[tuple[int, int], int] = {}
    counts = []
    for r in records:
        sizes = r.get("image_sizes") or [image_size(p) for p in r.get("image_paths") or ()]
        total = 0
        for w, h in sizes:
            key = (int(w), int(h))
            if key not in per_size:
                per_size[key] = visual_tokens(key[0], key[1], min_pixels, max_pixels) + VISION_MARKERS
            total += per_size[key]
        counts.append(total)
    return counts


def text_token_counts(texts: Sequence[str], tokenizer: Tokenizer, batch: int = TOKENIZE_BATCH) -> list[int]:
    """Exact token counts, ``batch`` texts per tokenizer call."""
    counts: list[int] = []
    for start in range(0, len(texts), batch):
        counts += [len(ids) for ids in tokenizer(list(texts[start : start + batch]))["input_ids"]]
    return counts


def text_token_bounds(texts: Sequence[str], tokenizer: Tokenizer) -> list[int] | None:
    """Upper bounds of the texts' token counts (bytes + what the tokenizer adds to an empty text + 1; the
    exact count for the first :data:`BOUND_PROBE` texts), or None when the tokenizer breaks the byte
    bound on one of those."""
    extra = len(tokenizer([""])["input_ids"][0]) + 1
    bounds = [len(t.encode("utf-8")) + extra for t in texts]
    probe = text_token_counts(texts[:BOUND_PROBE], tokenizer)
    if any(n > bound for n, bound in zip(probe, bounds, strict=False)):
        logger.info("this tokenizer may give more tokens than bytes: tokenizing every prompt")
        return None
    return probe + bounds[len(probe) :]


def prompt_token_counts(
    records: Sequence[dict[str, Any]],
    tokenizer: Tokenizer,
    min_pixels: int,
    max_pixels: int,
    *,
    budget: int | None = None,
) -> list[tuple[Any, int]]:
    """Prompt tokens (text + images + template) of every record, as ``(id, tokens)``.

    Without ``budget`` every text is tokenized. With it, a record whose upper bound fits the budget
    reports that bound (it cannot exceed the budget) and only the others are tokenized, so every count
    above ``budget`` is exact.
    """
    texts = [r["human"].replace(IMAGE_PLACEHOLDER, "") for r in records]
    fixed = [n + TEMPLATE_TOKENS for n in image_token_counts(records, min_pixels, max_pixels)]
    bounds = text_token_bounds(texts, tokenizer) if budget and texts else None
    if bounds is None:
        text, exact = [0] * len(texts), list(range(len(texts)))
    else:
        text = bounds
        exact = [i for i, (bound, n) in enumerate(zip(bounds, fixed, strict=True)) if bound + n > budget]
    for i, n in zip(exact, text_token_counts([texts[i] for i in exact], tokenizer), strict=True):
        text[i] = n
    return [(r["id"], n + f) for r, n, f in zip(records, text, fixed, strict=True)]


def warn_over_budget(counts: Sequence[tuple[Any, int]], budget: int | None) -> int:
    """Log one warning naming how many prompts exceed ``budget`` tokens; returns that number."""
    if not budget:
        return 0
    over = [(i, n) for i, n in counts if n > budget]
    if over:
        worst = max(over, key=lambda x: x[1])
        logger.warning(
            "%d of %d checked prompts exceed max_prompt_length %d tokens (largest: id %s, ~%d tokens); "
            "lower max_pixels or raise the budget",
            len(over),
            len(counts),
            budget,
            worst[0],
            worst[1],
        )
    return len(over)


def check_prompt_budget(
    records: Sequence[dict[str, Any]],
    tokenizer: Tokenizer,
    min_pixels: int,
    max_pixels: int,
    budget: int | None,
) -> int:
    """Warn (once) about every record whose prompt exceeds ``budget`` tokens; returns how many do."""
    if not budget:
        return 0
    start = time.perf_counter()
    counts = prompt_token_counts(records, tokenizer, min_pixels, max_pixels, budget=budget)
    logger.info("prompt budget checked on %d records in %.1f s", len(counts), time.perf_counter() - start)
    return warn_over_budget(counts, budget)
