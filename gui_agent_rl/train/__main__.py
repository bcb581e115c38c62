"""``python -m gui_agent_rl.train --config RECIPE.yaml [overrides]``: the form torchrun and accelerate start.

torchrun --nproc_per_node 8 -m gui_agent_rl.train --config recipes/qwen2.5-vl-7b-grpo.yaml
"""

from __future__ import annotations

import logging
import sys

from gui_agent_rl.cli._common import telemetry_off_by_default
from gui_agent_rl.train.grpo import USER_ERRORS, main

if __name__ == "__main__":
    telemetry_off_by_default()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main(sys.argv[1:]))
    except USER_ERRORS as exc:
        sys.stderr.write(f"gui_agent_rl.train: error: {exc}\n")
        sys.exit(2)
