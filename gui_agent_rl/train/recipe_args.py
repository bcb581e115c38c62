"""Reading a recipe: ``--config RECIPE.yaml`` plus command-line overrides, as the seed's lines are pasted.

TRL's parser does the work; this adds what the seed's launch lines need (a bare ``--bf16``, a
``----reward_method`` typo) and turns every bad value or non-YAML recipe into one :class:`ConfigError`
line (the CLI prints it, exit 2).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from trl import TrlParser

logger = logging.getLogger("gui_agent_rl.train.config")


class ConfigError(ValueError):
    """A bad training argument or config file; the CLI prints it as one line (exit 2)."""


def allow_bare_bool_flags(parser: argparse.ArgumentParser) -> None:
    """``--bf16`` alone means true, as in HF/TRL scripts of the seed's time.

    HfArgumentParser gives plain ``bool`` fields ``nargs="?"`` but ``bool | None`` fields (``bf16``,
    ``tf32``, ... in TRL 1.x) one required value, so a pasted ``--bf16 --torch_dtype bfloat16`` stops
    with "expected one argument"; ``--bf16 true/false`` keeps working.
    """
    for action in parser._actions:
        if action.nargs is None and getattr(action.type, "__name__", "") == "string_to_bool":
            action.nargs, action.const = "?", True


def fix_extra_dashes(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``----reward_method`` (a pasted line of the seed has one) -> ``--reward_method``, with a warning.

    Only when the name after the dashes is an option of ``parser``; anything else is left to argparse.
    """
    fixed = []
    for token in argv:
        name = token.split("=", 1)[0]
        option = "--" + name.lstrip("-")
        if name.startswith("---") and option in parser._option_string_actions:
            logger.warning("%s read as %s", name, option)
            fixed.append("--" + token.lstrip("-"))
        else:
            fixed.append(token)
    return fixed


def parse_recipe(parser: TrlParser, argv: Sequence[str] | None) -> tuple:
    """``--config RECIPE.yaml`` plus overrides, parsed by ``parser``; bad values raise ConfigError."""
    allow_bare_bool_flags(parser)
    if argv is not None:
        argv = fix_extra_dashes(parser, list(argv))
    if argv is not None and "--config" in argv:
        recipe = list(argv)[list(argv).index("--config") + 1 :][:1]
        if recipe and not Path(recipe[0]).is_file():
            raise ConfigError(f"--config {recipe[0]}: no such file")
    import yaml  # TRL's parser reads the recipe with yaml.safe_load: tags never construct objects

    try:
        return tuple(parser.parse_args_and_config(args=argv))
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        raise ConfigError(describe_yaml_error(exc, argv)) from None
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc


def describe_yaml_error(exc: Exception, argv: Sequence[str] | None) -> str:
    """One line for a recipe that is not plain YAML: where, and what (a ``!!python/...`` tag is refused
    by ``yaml.safe_load``, never run)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    recipe = args[args.index("--config") + 1] if "--config" in args[:-1] else "recipe"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "constructor for the tag" in problem:
        problem += " (recipes are plain YAML: tags are not run)"
    return f"--config {recipe}: not valid YAML: {where}{problem}"
