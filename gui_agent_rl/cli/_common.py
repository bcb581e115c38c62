"""What every subcommand shares: the user-error type and small argument checks."""

from __future__ import annotations

import argparse
import os
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
