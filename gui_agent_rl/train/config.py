"""Script arguments for GRPO training, read by TRL's parser from a recipe YAML plus command-line overrides.

Three dataclasses, as in ``trl/scripts/grpo.py``: :class:`GuiScriptArguments` (data, rewards, pixels),
:class:`GuiGRPOConfig` (everything ``GRPOConfig`` takes; ``--deepspeed`` also accepts a shipped config
name) and :class:`GuiModelConfig` (TRL's model/LoRA options; ``--torch_dtype`` kept as the seed's
alias of ``--dtype``). Argument names follow the seed (VLM-R1's ``grpo_jsonl.py``), and its launch lines
parse as pasted: bare ``--bf16``, ``--reward_method llm`` (see :data:`REWARD_METHODS`).

>>> args = parse_train_args(["--config", "recipes/tiny-cpu.yaml", "--max_steps", "2"])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from trl import GRPOConfig, ModelConfig, ScriptArguments, TrlParser

from gui_agent_rl.rewards.registry import REWARD_NAMES
from gui_agent_rl.rewards.text import DEFAULT_TEXT_MATCH, TEXT_MATCH_MODES
from gui_agent_rl.schemas.geometry import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from gui_agent_rl.train.recipe_args import (  # noqa: F401 - ConfigError and parse_recipe are used from here
    ConfigError,
    allow_bare_bool_flags,
    describe_yaml_error,
    fix_extra_dashes,
    parse_recipe,
)

DEEPSPEED_CONFIGS = ("zero2", "zero3", "zero3_offload")
#: the seed's ``--reward_method`` (VLM-R1: the accuracy reward's method for every sample) -> the reward
#: of this project that stands in for ``accuracy`` (``default`` keeps it)
REWARD_METHODS = {"default": "accuracy", "llm": "llm_judge", "map": "map"}

logger = logging.getLogger(__name__)


@dataclass
class GuiDataArguments(ScriptArguments):
    """Data, image and vision-tower settings that GRPO (``train``) and SFT (``sft``) share."""

    data_file_paths: list[str] = field(
        default_factory=list,
        metadata={"help": "Training JSONL files (repeat, or join with ':' as the seed did)."},
    )
    image_folders: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Folder that image paths are relative to: one for all data files, or one per data file "
            "(repeat or ':'-join). Default: each data file's own folder, or DATA/ beside DATA.jsonl when the "
            "images are there."
        },
    )
    max_pixels: int = field(
        default=DEFAULT_MAX_PIXELS, metadata={"help": "Most pixels per image after resizing."}
    )
    min_pixels: int = field(
        default=DEFAULT_MIN_PIXELS, metadata={"help": "Fewest pixels per image after resizing."}
    )
    freeze_vision_modules: bool = field(
        default=False, metadata={"help": "Freeze the vision tower (model.model.visual)."}
    )
    freeze_vision_merger: bool = field(
        default=True,
        metadata={"help": "With --freeze_vision_modules: freeze the patch merger too (false: train it)."},
    )
    max_prompt_length: int | None = field(
        default=None,
        metadata={
            "help": "Prompt budget in tokens, image tokens included: a warning names the samples over it "
            "(prompts with images are never truncated)."
        },
    )
    logging_dir: str | None = field(
        default=None,
        metadata={
            "help": "TensorBoard folder (the seed's option; sets TENSORBOARD_LOGGING_DIR for transformers 5)."
        },
    )

    def __post_init__(self) -> None:
        check_finite(self)
        self.data_file_paths = split_joined(self.data_file_paths)
        self.image_folders = split_joined(self.image_folders)
        if self.min_pixels > self.max_pixels:
            raise ConfigError(f"min_pixels ({self.min_pixels}) is larger than max_pixels ({self.max_pixels})")


@dataclass
class GuiScriptArguments(GuiDataArguments):
    """GRPO's data, rewards and image settings (the seed's names)."""

    reward_funcs: list[str] = field(
        default_factory=lambda: ["format", "accuracy"],
        metadata={
            "help": f"Rewards: {', '.join(REWARD_NAMES)} or package.module:function "
            "(descriptions: `gui-agent-rl score --help`)."
        },
    )
    coordinate_frame: str = field(
        default="resized",
        metadata={
            "help": "Frame the model's coordinates are in: resized (Qwen2.5-VL), original or norm1000.",
            "choices": ["resized", "original", "norm1000"],
        },
    )
    accuracy_method: str | None = field(
        default=None,
        metadata={"help": "Box scoring method for every sample (default: per sample, or 'default')."},
    )
    reward_method: str | None = field(
        default=None,
        metadata={
            "help": "The seed's (VLM-R1's) accuracy method for every sample, as a reward set: llm replaces "
            "the accuracy reward by llm_judge (an OpenAI-compatible judge at $OPENAI_API_BASE with "
            "$OPENAI_API_KEY; the seed's `--reward_method llm` thus trains on format + llm_judge), map "
            "replaces it by map (COCO mAP of boxes), default keeps accuracy.",
            "choices": list(REWARD_METHODS),
        },
    )
    normalize_format: bool = field(default=False, metadata={"help": "Scale the format reward to [0, 1]."})
    point_distance: float = field(
        default=0.04,
        metadata={
            "help": "The accuracy reward's distance rule for truths recorded as a point 'x,y': full credit "
            "within this normalised screen distance (x/width, y/height) of the point; 0.04 is "
            "AndroidControl's rule as Qwen2.5-VL evaluates it."
        },
    )
    text_threshold: float | None = field(
        default=None,
        metadata={
            "help": "All-or-nothing text credit in the accuracy reward: 1 when a text's similarity reaches "
            "this threshold (e.g. 0.8, eval's step rule), else 0; unset pays the similarity itself."
        },
    )
    text_match: str = field(
        default=DEFAULT_TEXT_MATCH,
        metadata={
            "help": "How the accuracy reward compares typed and app texts: faithful (Unicode NFKC and "
            "whitespace only; case and punctuation count), casefold (case ignored too) or loose (case, "
            "punctuation and spaces ignored).",
            "choices": list(TEXT_MATCH_MODES),
        },
    )
    rollout_log: bool = field(
        default=True,
        metadata={"help": "Write rollouts.jsonl (step, sample id, completion, rewards) to output_dir."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reward_funcs = apply_reward_method(split_joined(self.reward_funcs, sep=","), self.reward_method)


def apply_reward_method(reward_funcs: list[str], method: str | None) -> list[str]:
    """``["format", "accuracy"]`` with ``--reward_method llm`` -> ``["format", "llm_judge"]``.

    See :data:`REWARD_METHODS`; the list keeps its order, so ``--reward_weights`` keep their places.
    """
    if method is None or method == "default":
        return reward_funcs
    if method not in REWARD_METHODS:
        raise ConfigError(f"--reward_method {method}: expected one of {', '.join(REWARD_METHODS)}")
    target = REWARD_METHODS[method]
    if "accuracy" not in reward_funcs:
        if target in reward_funcs:
            return reward_funcs
        raise ConfigError(f"--reward_method {method} replaces the accuracy reward; --reward_funcs lacks it")
    if target in reward_funcs:
        raise ConfigError(f"--reward_method {method} replaces accuracy by {target}: already a reward")
    return [target if name == "accuracy" else name for name in reward_funcs]


def check_finite(config: Any) -> None:
    """:class:`ConfigError` naming the first float option (or float in a list option) that is NaN or
    infinite: ``--learning_rate nan`` must stop at parse time, not as a traceback from the optimiser."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name, None)
        values = value if isinstance(value, (list, tuple)) else [value]
        bad = next((v for v in values if isinstance(v, float) and not math.isfinite(v)), None)
        if bad is not None:
            raise ConfigError(f"--{f.name} {value}: not a finite number")


def split_joined(values: Sequence[str] | str | None, sep: str = ":") -> list[str]:
    """``["a.jsonl:b.jsonl", "c.jsonl"] -> ["a.jsonl", "b.jsonl", "c.jsonl"]`` (the seed's joined form)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part for v in values for part in str(v).split(sep) if part]


def resolve_deepspeed(value: str | dict | None) -> str | dict | None:
    """A shipped config name (``zero3``) or a path -> a path whose JSON was checked; dicts pass through."""
    if value is None or isinstance(value, dict):
        return value
    if value.strip().lower() in ("", "none", "false"):
        return None
    name = value.removesuffix(".json")
    if name in DEEPSPEED_CONFIGS and not Path(value).exists():
        path = Path(str(resources.files("gui_agent_rl.train") / "configs" / f"{name}.json"))
    else:
        path = Path(value)
    if not path.is_file():
        raise ConfigError(f"--deepspeed {value}: no such file (or one of {', '.join(DEEPSPEED_CONFIGS)})")
    try:
        parsed = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--deepspeed {path}: not valid JSON ({exc})") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("zero_optimization", {}), dict):
        raise ConfigError(f"--deepspeed {path}: expected a JSON object with a zero_optimization object")
    return str(path)


@dataclass
class GuiGRPOConfig(GRPOConfig):
    """TRL's ``GRPOConfig``; ``deepspeed`` may name a shipped config, and batch errors read as one line."""

    def __post_init__(self) -> None:
        check_finite(self)  # NaN or inf would only fail in the optimiser, after the model loaded
        # Resolved and parsed here, before TrainingArguments hands the file to DeepSpeed.
        self.deepspeed = resolve_deepspeed(self.deepspeed)
        try:
            super().__post_init__()
        except ValueError as exc:
            message = str(exc).splitlines()[0]
            if "divisible by num_generations" in message:
                message = (
                    f"global batch (per_device_train_batch_size {self.per_device_train_batch_size} x "
                    f"{self.world_size} processes x steps_per_generation {self.steps_per_generation}) "
                    f"= {self.generation_batch_size} is not divisible by "
                    f"num_generations ({self.num_generations})"
                )
            raise ConfigError(message) from exc


@dataclass
class GuiModelConfig(ModelConfig):
    """TRL's model and LoRA options; ``--torch_dtype`` is accepted as the seed wrote it."""

    dtype: str | None = field(
        default="float32",
        metadata={
            "help": "Load the model in this dtype (bfloat16 on GPUs).",
            "choices": ["auto", "bfloat16", "float16", "float32"],
            "aliases": ["--torch_dtype"],
        },
    )

    def __post_init__(self) -> None:
        check_finite(self)
        super().__post_init__()


def make_parser() -> TrlParser:
    return TrlParser((GuiScriptArguments, GuiGRPOConfig, GuiModelConfig), prog="gui-agent-rl train")


def parse_train_args(
    argv: Sequence[str] | None = None,
) -> tuple[GuiScriptArguments, GuiGRPOConfig, GuiModelConfig]:
    """Parse GRPO's ``--config RECIPE.yaml`` plus overrides; bad values raise :class:`ConfigError`."""
    script, training, model = parse_recipe(make_parser(), argv)
    return script, training, model
