"""What every subcommand shares: the user-error type, small argument checks, output safety."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path


class UserError(Exception):
    """A mistake the user can fix (missing file, bad option): printed as one line, exit code 2."""


def existing_file(value: str) -> Path:
    """argparse ``type=`` for an input file that must exist."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    return path


def existing_dir(value: str) -> Path:
    """argparse ``type=`` for an input folder that must exist."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: no such folder")
    return path


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be positive")
    return n


def writable_output(path: Path) -> Path:
    """Check that ``path`` can be created or replaced; raise :class:`UserError` naming why not."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a file path")
    if not parent.is_dir():
        raise UserError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{parent}: output folder is not writable")
    return path


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same real path, or (both existing) the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def refuse_clobber(
    outputs: Iterable[Path | None], inputs: Iterable[Path | None] = (), roots: Iterable[Path | None] = ()
) -> None:
    """Raise :class:`UserError` when an output would overwrite an input or another output, or land under a
    ``root`` (an input folder). Paths are compared resolved (symlinks followed) and by inode (hard links).
    """
    outs = [Path(p) for p in outputs if p is not None]
    ins = [Path(p) for p in inputs if p is not None]
    for i, out in enumerate(outs):
        for other in outs[:i]:
            if _same_file(out, other):
                raise UserError(f"{out}: given as two outputs; choose different files")
        for source in ins:
            if _same_file(out, source):
                raise UserError(f"{out}: is the input {source}; writing it would destroy it")
        for root in filter(None, roots):
            if _inside(out, Path(root)):
                raise UserError(f"{out}: lies inside the input folder {root}; write it elsewhere")


def new_or_empty_folder(path: Path) -> Path:
    """An output folder that does not exist yet or is empty; raise :class:`UserError` otherwise."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        raise UserError(f"{path}: folder exists and is not empty (a checkpoint?); choose a new folder")
    return path


#: values huggingface_hub reads as "on" in its boolean environment variables
_TRUE = {"1", "ON", "YES", "TRUE"}


def telemetry_off_by_default() -> None:
    """No usage pings to the Hugging Face Hub unless the user opts in (``HF_HUB_DISABLE_TELEMETRY=0``).

    TRL 1.16's trainers send theirs through ``huggingface_hub.send_telemetry``, which honours
    ``HF_HUB_DISABLE_TELEMETRY`` (TRL has no switch of its own), as do transformers' request headers.
    huggingface_hub reads the variable when it is imported, so an already imported module is told too.
    """
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        flags = (os.environ.get("HF_HUB_DISABLE_TELEMETRY"), os.environ.get("DISABLE_TELEMETRY"))
        constants.HF_HUB_DISABLE_TELEMETRY = any((v or "").upper() in _TRUE for v in flags)
