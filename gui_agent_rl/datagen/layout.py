"""The text layouts ``build`` writes: ``compact`` (this toolkit's, the default) and ``seed``.

A model sees the human turn's text exactly; one trained on lines of one layout and queried with the
other sees shifted text. The seed's builder (``x05生成训练数据集代码.py`` in its notes) read the prompt
prefix with ``f.read().strip()``, put ``json.dumps(step["input"], ensure_ascii=False)`` right after it
and wrote each line as ``json.dumps(sample, ensure_ascii=False)``: ``", "`` and ``": "`` between items,
non-ASCII kept, keys in the step file's order. Its dataset (the line its notes print) also has
``"<image>"`` in place of each screenshot name. ``seed`` writes those bytes again:

- ``id``, ``image`` and ``conversations`` as the seed wrote them, byte for byte: the prefix stripped of
  surrounding whitespace, the input JSON and the true action *as the step file holds them* (keys in the
  file's order, no normalisation) in ``json.dumps`` spacing;
- then this toolkit's keys (``image_sizes``, ``task_id``, ``step``, ``think``, ``meta``,
  ``accu_reward_method``, ``output_format``) in the same spacing, so the seed's line is a prefix of
  each line but for its ``}``.

``compact`` writes the toolkit's lines: the prefix verbatim, the line and the input JSON without spaces,
the validated (normalised) action. Both layouts escape strings alike (``json.dumps``'s escaping,
non-ASCII kept); a UTF-8 byte-order mark at the start of a prefix file is dropped in both.

>>> back = {"action_type": "back", "action_parameter": {"back": ""}}
>>> render_seed(["9/9_0.jpg"], {"task_content": "开", "screen_path2": "<image>"}, back,
...     sizes=[(60, 120)], task_id="9", step=0, think=None, closing=b"}")[0]
b', "image": ["9/9_0.jpg"], "conversations": [{"from": "human", "value": "'
"""

from __future__ import annotations

import json
from typing import Any

import orjson

LAYOUTS = ("compact", "seed")
SampleBody = tuple[bytes, bytes]  # the line before and after the prompt prefix, without the id


def check_layout(layout: str) -> str:
    """``layout`` when it is one of :data:`LAYOUTS`; ``ValueError`` naming them otherwise."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    return layout


def seed_dumps(value: Any) -> bytes:
    """``json.dumps(value, ensure_ascii=False)`` as UTF-8: the seed's every JSON value."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def layout_prompt(prompt: str, layout: str) -> str:
    """The prefix as the layout writes it: ``seed`` strips it (the seed's ``f.read().strip()``)."""
    return prompt.strip() if check_layout(layout) == "seed" else prompt


def escape_prompt(prompt: str, layout: str = "compact") -> bytes:
    """The prompt as it appears inside a JSON string (quotes, newlines escaped; Chinese kept)."""
    if layout == "seed":
        return seed_dumps(prompt)[1:-1]
    return orjson.dumps(prompt)[1:-1]


def id_piece(sample_id: int, layout: str = "compact") -> bytes:
    """The start of a line, up to the id's value."""
    return (b'{"id": %d' if layout == "seed" else b'{"id":%d') % sample_id


def suffix(layout: str, reward_method: str | None, output_format: str | None) -> bytes:
    """The build-wide keys that close every sample line (the same bytes for every step)."""
    dumps, sep = (seed_dumps, b", %s: %s") if layout == "seed" else (orjson.dumps, b",%s:%s")
    out = b""
    if reward_method:
        out += sep % (b'"accu_reward_method"', dumps(reward_method))
    if output_format:
        out += sep % (b'"output_format"', dumps(output_format))
    return out + b"}"


def render_seed(
    paths: list[str],
    prompt_input: dict[str, Any],
    output: Any,
    *,
    sizes: list,
    task_id: str,
    step: int,
    think: Any,
    closing: bytes,
    meta: Any = None,
) -> SampleBody:
    """A sample in the seed's layout, without id and prefix (``closing``: :func:`suffix` of the build)."""
    # The input JSON as the seed's json.dumps(sample) escaped it inside the human string.
    human = seed_dumps(seed_dumps(prompt_input).decode("utf-8"))[1:-1]
    head = b', "image": %s, "conversations": [{"from": "human", "value": "' % seed_dumps(paths)
    think_piece = b"" if think is None else b', "think": %s' % seed_dumps(think)
    if meta is not None:  # the step's meta object, verbatim (never in the prompt)
        think_piece += b', "meta": %s' % seed_dumps(meta)
    tail = b'%s"}, {"from": "gpt", "value": %s}], "image_sizes": %s, "task_id": %s, "step": %d%s%s' % (
        human,
        seed_dumps(seed_dumps(output).decode("utf-8")),
        seed_dumps([list(s) for s in sizes]),
        seed_dumps(task_id),
        step,
        think_piece,
        closing,
    )
    return head, tail
