"""The default prompt prefixes, shipped as package resources, and reading a user's own prefix.

Each prefix states the exact form of the model's output, and the rewards grade that form (the
sample's ``output_format``, see :func:`~gui_agent_rl.schemas.completion.render_completion`):

- ``plain.txt`` (output format ``answer``): the task, the input fields, the ten actions, and an output
  that is exactly ``<answer>{action JSON}</answer>``, nothing before or after it;
- ``think.txt`` (output format ``think``): also explains the two screenshots and asks for exactly
  ``<think>{four fields}</think>`` then ``<answer>{action}</answer>``, nothing before ``<think>`` or
  after ``</answer>``.

The sample's input JSON is appended right after the prefix. A user's own prefix is used verbatim;
:data:`ANSWER_FORMAT_INSTRUCTION` is VLM-R1's sentence for one that states no output form.

>>> load_prompt().endswith("\\n")
True
>>> prompt_output_format(load_prompt()), prompt_output_format(load_prompt(think=True))
('answer', 'think')
"""

from __future__ import annotations

import os
from importlib import resources

PROMPT_NAMES = ("plain", "think")
#: VLM-R1's output-format sentence, verbatim (appended by ``build --append-answer-format``).
ANSWER_FORMAT_INSTRUCTION = (
    "First output the thinking process in <think> </think> tags and then output the final answer in "
    "<answer> </answer> tags."
)
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


def prompt_output_format(prefix: str) -> str:
    """The output format a prefix asks for: ``"think"`` when it mentions ``<think>``, else ``"answer"``.

    >>> prompt_output_format("Answer in <answer></answer>."), prompt_output_format("<think> then <answer>")
    ('answer', 'think')
    """
    return "think" if "<think>" in prefix else "answer"


def append_answer_format(prefix: str) -> str:
    """``prefix`` with :data:`ANSWER_FORMAT_INSTRUCTION` on its own line after it (the sample's input
    then starts on the next line).

    >>> append_answer_format("前缀") == "前缀\\n" + ANSWER_FORMAT_INSTRUCTION + "\\n"
    True
    """
    separator = "" if not prefix or prefix.endswith("\n") else "\n"
    return f"{prefix}{separator}{ANSWER_FORMAT_INSTRUCTION}\n"
