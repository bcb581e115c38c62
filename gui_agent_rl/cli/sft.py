"""``gui-agent-rl sft``: the supervised warm start before GRPO (TRL's SFTTrainer)."""

from __future__ import annotations

import argparse

from gui_agent_rl.cli._common import UserError, telemetry_off_by_default
from gui_agent_rl.cli.train import require_train_extra

ORDER = 39


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sft",
        help="supervised warm start before GRPO (--config RECIPE.yaml plus overrides; --help lists all)",
        description="All options of TRL's SFTConfig, ModelConfig (LoRA) and ours; see recipes/README.md.",
        add_help=False,
    )
    p.set_defaults(func=run_sft, accepts_extra=True)


def run_sft(args: argparse.Namespace) -> int:
    require_train_extra("sft")
    telemetry_off_by_default()
    from gui_agent_rl.train.grpo import USER_ERRORS
    from gui_agent_rl.train.sft import main

    try:
        return main(list(args.extra))
    except USER_ERRORS as exc:
        raise UserError(str(exc)) from None
