"""``gui-agent-rl schema``: the JSON Schema of an answer action or of the think block."""

from __future__ import annotations

import argparse
import json

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of the answer action (or --think block)",
        description="Print a JSON Schema to paste into a prompt or give to a constrained decoder.",
    )
    p.add_argument("--think", action="store_true", help="the four-field think block instead of the action")
    p.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gui_agent_rl.schemas import ThinkBlock, action_json_schema

    schema = ThinkBlock.model_json_schema() if args.think else action_json_schema()
    print(json.dumps(schema, ensure_ascii=False, indent=args.indent or None))
    return 0
