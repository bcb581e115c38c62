"""The default prompt prefixes, shipped as package resources, and reading a user's own prefix.

``plain.txt`` describes the task, the input fields, the ten actions and the output JSON;
``think.txt`` also asks for ``<think>{four fields}</think><answer>{action}</answer>`` and explains the
two screenshots. The sample's input JSON is appended right after the prefix.

>>> load_prompt().endswith("\\n")
True
"""

from __future__ import annotations

import os
from importlib import resources

PROMPT_NAMES = ("plain", "think")
_BOM = "\ufeff"


def load_prompt(think: bool = False) -> str:
    """The packaged prefix: the think-mode one with ``think=True``."""
    name = "think" if think else "plain"
    return (
        resources.files("gui_agent_rl.datagen").joinpath("prompts").joinpath(f"{name}.txt").read_text("utf-8")
    )


def read_prompt_file(path: str | os.PathLike[str]) -> str:
    """A user's prefix, verbatim (only a leading UTF-8 byte-order mark is dropped)."""
    with open(path, encoding="utf-8") as f:
        return f.read().removeprefix(_BOM)
