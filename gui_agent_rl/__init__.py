"""gui-agent-rl: train vision-language phone agents with GRPO."""

__version__ = "0.1.0"
