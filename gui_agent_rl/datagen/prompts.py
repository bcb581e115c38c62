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

The action list follows the corpus: a step's ``input.action_type_list`` names the types it may use.
With no list, or exactly the seed's ten types, the packaged prefix is the file as shipped, byte for
byte. Any other list (say AndroidControl's, with ``home`` and ``key``) replaces the file's action
section by the listed known types, in :data:`~gui_agent_rl.schemas.ALL_ACTION_TYPES` order, each
described by its line in ``prompts/actions.txt``, where click/long_click also take a point ``"x,y"``,
long_click a ``duration`` and swipe a direction word (:func:`load_prompt` with ``action_types``).

>>> load_prompt().endswith("\\n")
True
>>> prompt_output_format(load_prompt()), prompt_output_format(load_prompt(think=True))
('answer', 'think')
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from gui_agent_rl.schemas.parameters import ACTION_TYPES, ALL_ACTION_TYPES

PROMPT_NAMES = ("plain", "think")
#: VLM-R1's output-format sentence, verbatim (appended by ``build --append-answer-format``).
ANSWER_FORMAT_INSTRUCTION = (
    "First output the thinking process in <think> </think> tags and then output the final answer in "
    "<answer> </answer> tags."
)
_BOM = "\ufeff"
_ACTIONS_HEADING, _NEXT_HEADING = "# 动作\n", "\n\n# 输出格式"
_NUMERALS = "零一二三四五六七八九十"


def _resource(name: str) -> str:
    return resources.files("gui_agent_rl.datagen").joinpath("prompts").joinpath(name).read_text("utf-8")


def prompt_action_types(action_type_list: Iterable[str] | None) -> tuple[str, ...] | None:
    """The types a packaged prompt lists for a step's ``action_type_list`` (its keys): None for the
    shipped text (no list, the seed's ten, or no known type), else the known ones in canonical order.

    >>> prompt_action_types({"home": "主屏幕", "click": "点击", "fly": "?"})
    ('click', 'home')
    """
    names = set(action_type_list or ())
    if not names or names == set(ACTION_TYPES):
        return None
    return tuple(t for t in ALL_ACTION_TYPES if t in names) or None


@lru_cache(maxsize=1)
def _action_lines() -> dict[str, str]:
    lines = (line.split(":", 1) for line in _resource("actions.txt").splitlines() if line.strip())
    return {kind: text for kind, text in lines}


def _chinese_count(n: int) -> str:
    return _NUMERALS[n] if n <= 10 else "十" + _NUMERALS[n - 10]  # up to 19: enough for 12 types


def _action_section(types: tuple[str, ...]) -> str:
    lines = _action_lines()
    also = "(long_click 还可以另带 duration 键)" if "long_click" in types else ""
    head = (
        f"只能使用下面{_chinese_count(len(types))}种动作。action_parameter 是只有一个键的对象,"
        f"键名必须与 action_type 相同{also}:\n"
    )
    return head + "\n".join(f"{i}. {kind}:{lines[kind]}" for i, kind in enumerate(types, 1))


def load_prompt(think: bool = False, action_types: Iterable[str] | None = None) -> str:
    """The packaged prefix: the think-mode one with ``think=True``; listing the actions of
    ``action_types`` (a step's ``action_type_list`` or its keys; see :func:`prompt_action_types`)."""
    text = _resource("think.txt" if think else "plain.txt")
    types = prompt_action_types(action_types)
    if types is None:
        return text
    start = text.index(_ACTIONS_HEADING) + len(_ACTIONS_HEADING)
    end = text.index(_NEXT_HEADING, start)
    return text[:start] + _action_section(types) + text[end:]


def packaged_prompt_kind(prompt: str) -> bool | None:
    """``think`` (True/False) of the packaged prefix ``prompt`` is, unchanged; None for any other text.

    ``build`` lists each step's own actions only in a packaged prefix: a user's prefix is verbatim.
    """
    for think in (False, True):
        if prompt == _resource("think.txt" if think else "plain.txt"):
            return think
    return None


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
