"""``gui-agent-rl show``: one sample of a dataset, readable, its embedded JSON expanded."""

from __future__ import annotations

import json
import os
import random
from typing import Any

from gui_agent_rl.schemas import Sample, read_samples

_DECODER = json.JSONDecoder()


def pick_sample(
    path: str | os.PathLike[str], sample_id: str | int | None = None, rng: random.Random | None = None
) -> Sample:
    """The sample with ``sample_id``, a random one (with ``rng``; one pass, reservoir sampling), or
    the first. ``LookupError`` when there is no such sample."""
    chosen: Sample | None = None
    for n, sample in enumerate(read_samples(path), start=1):
        if rng is not None:
            if rng.randrange(n) == 0:
                chosen = sample
        elif sample_id is None or str(sample.id) == str(sample_id):
            return sample
    if chosen is None:
        raise LookupError(
            f"{path}: no sample with id {sample_id}" if sample_id is not None else f"{path}: no samples"
        )
    return chosen


def split_prompt(text: str) -> tuple[str, Any | None]:
    """``(prefix, input_object)`` when the prompt ends with a JSON object, else ``(text, None)``.

    >>> split_prompt('说明:{"a": 1}')
    ('说明:', {'a': 1})
    """
    stripped = text.rstrip()
    start = stripped.find("{")
    while start != -1:
        try:
            obj, end = _DECODER.raw_decode(stripped, start)
        except json.JSONDecodeError:
            obj, end = None, -1
        if end == len(stripped) and isinstance(obj, dict):
            return text[:start], obj
        start = stripped.find("{", start + 1)
    return text, None


def expand_json(value: Any) -> Any:
    """Replace strings that hold a JSON object or list (like an inquiry's parameter) by their value."""
    if isinstance(value, dict):
        return {k: expand_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_json(v) for v in value]
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return expand_json(json.loads(value))
        except json.JSONDecodeError:
            return value
    return value


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def format_sample(sample: Sample, full_prompt: bool = False) -> str:
    """A readable page for one sample: ids, images with sizes, prompt input and answer as JSON."""
    extra = sample.model_extra or {}
    head = f"id {sample.id}" + (f"  task {sample.task_id}" if sample.task_id is not None else "")
    head += f"  step {sample.step}" if sample.step is not None else ""
    if sample.accu_reward_method:
        head += f"  accu_reward_method {sample.accu_reward_method}"
    lines = [head, "images:"]
    sizes = sample.image_sizes or []
    for i, image in enumerate(sample.images):
        size = f"  {sizes[i][0]}x{sizes[i][1]}" if i < len(sizes) else ""
        lines.append(f"  {image}{size}")
    prefix, prompt_input = split_prompt(sample.prompt)
    if full_prompt or prompt_input is None:
        lines += ["prompt:", prefix]
    else:
        lines.append(f"prompt prefix: {len(prefix)} characters (--full-prompt prints it)")
    if prompt_input is not None:
        lines += ["input:", _pretty(prompt_input)]
    try:
        answer = expand_json(json.loads(sample.solution))
        lines += ["answer:", _pretty(answer)]
    except json.JSONDecodeError:
        lines += ["answer (not JSON):", sample.solution]
    lines += [f"{k}: {_pretty(v)}" for k, v in extra.items()]
    return "\n".join(lines)
