"""``gui-agent-rl``: one command, a subcommand per job.

Each module in this package that defines ``register(subparsers)`` contributes subcommands; a
subcommand's handler returns an exit code. Handlers import heavy libraries (torch, transformers)
inside themselves, so ``--help`` and the data commands stay fast on machines without them.

Exit codes: 0 success, 1 the job ran but found problems (e.g. ``build --strict`` rejected steps),
2 a user mistake (bad option, missing file) or a path that cannot be read or written: one line on
stderr, never a traceback; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from gui_agent_rl import __version__
from gui_agent_rl.cli._common import UserError


def _command_modules() -> list:
    pkg = sys.modules[__name__]
    mods = [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    ]
    mods = [m for m in mods if hasattr(m, "register")]
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gui-agent-rl",
        description="Build datasets, score, train (GRPO) and evaluate phone-operation agents.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in _command_modules():
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"gui-agent-rl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gui-agent-rl {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gui-agent-rl show ... | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path the user named cannot be read or written (permissions, disk full)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"gui-agent-rl {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
