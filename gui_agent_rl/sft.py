"""``python -m gui_agent_rl.sft --config RECIPE.yaml [overrides]``: supervised warm start, torchrun-able.

torchrun --nproc_per_node 8 -m gui_agent_rl.sft --config recipes/qwen2.5-vl-7b-sft.yaml
(The code is :mod:`gui_agent_rl.train.sft`; this module is the launcher's entry point.)
"""

from __future__ import annotations

import logging
import sys

if __name__ == "__main__":
    from gui_agent_rl.cli._common import telemetry_off_by_default

    telemetry_off_by_default()  # before the training libraries read the environment
    from gui_agent_rl.train.grpo import USER_ERRORS
    from gui_agent_rl.train.sft import main

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main(sys.argv[1:]))
    except USER_ERRORS as exc:
        sys.stderr.write(f"gui_agent_rl.sft: error: {exc}\n")
        sys.exit(2)
