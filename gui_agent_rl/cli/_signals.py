"""SIGTERM handled as Ctrl-C is: what ``timeout``, Slurm and Kubernetes send before SIGKILL.

Python turns SIGINT into :class:`KeyboardInterrupt`, so every ``with`` block and ``finally`` runs (a
build removes its temp files and kills its workers, the old output stays as it was); SIGTERM by
default ends the process on the spot. :func:`sigterm_like_sigint` makes SIGTERM raise
:class:`Terminated` (a ``KeyboardInterrupt``) in the main thread instead, and turns it into one line on
stderr and exit code 143 (128 + 15, what a shell reports for a process SIGTERM ended).
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised like Ctrl-C's ``KeyboardInterrupt``, so that every cleanup runs."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second SIGTERM does not cut the cleanup short
    raise Terminated


def sigterm_like_sigint(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a subcommand handler: SIGTERM during it unwinds like Ctrl-C, prints
    ``gui-agent-rl <command>: terminated`` and returns 143; the old handler is restored after."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            return run(args)
        old = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return run(args)
        except Terminated:
            print(f"gui-agent-rl {args.command}: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        finally:
            signal.signal(signal.SIGTERM, old)

    return handler
