"""Supervised warm start: TRL's ``SFTTrainer`` on the same JSONL that GRPO trains on.

GRPO cannot start from a model that never writes the answer form (every group scores the same, no
advantage, no update), so real pipelines first fine-tune on the gold actions. The target of each sample
is its gold action rendered in exactly the form its prompt states (``output_format``, see
:func:`~gui_agent_rl.schemas.render_completion`): ``<answer>{action}</answer>``, or in think mode
``<think>{four fields}</think>\\n<answer>{action}</answer>``. The loss covers the completion only
(prompt tokens, images included, are masked), and the end-of-turn token is trained, so the model
learns to stop after ``</answer>``.

Think mode needs a think block per sample. ``--think_source``:

- ``auto`` (default): the sample's own ``think`` (four fields, written by ``build`` when the step
  file carries one); for samples without it, a block assembled from the sample itself (its task, its
  history and the gold action's description: :func:`template_think`), with one warning saying how many.
- ``gold``: samples without a ``think`` are an error (one line naming the first).
- ``template``: always the assembled block.

The output folder holds full weights (a LoRA adapter is merged first, except under ZeRO-3, where the
adapter is saved) and the processor, so ``train --model_name_or_path`` and ``predict --model`` take it.

    gui-agent-rl sft --config recipes/qwen2.5-vl-7b-sft.yaml
    torchrun --nproc_per_node 8 -m gui_agent_rl.sft --config recipes/qwen2.5-vl-7b-sft.yaml
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from trl import SFTConfig, TrlParser

from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, render_completion
from gui_agent_rl.train.config import (
    ConfigError,
    GuiDataArguments,
    GuiModelConfig,
    check_finite,
    parse_recipe,
    resolve_deepspeed,
)
from gui_agent_rl.train.data import DataError, RowTransform

if TYPE_CHECKING:
    from datasets import Dataset
    from trl import SFTTrainer

logger = logging.getLogger(__name__)

THINK_SOURCES = ("auto", "gold", "template")


@dataclass
class SftScriptArguments(GuiDataArguments):
    """SFT's data settings: those of GRPO (data, images, pixels, frozen vision) plus the think source."""

    think_source: str = field(
        default="auto",
        metadata={
            "help": "Think-mode targets: auto (the sample's think, else one assembled from the sample), "
            "gold (the sample's think or an error), template (always assembled).",
            "choices": list(THINK_SOURCES),
        },
    )
    merge_lora: bool = field(
        default=True,
        metadata={"help": "With LoRA: merge the adapter and save full weights (not under ZeRO-3)."},
    )


@dataclass
class GuiSFTConfig(SFTConfig):
    """TRL's ``SFTConfig`` with the defaults a vision-language warm start needs.

    ``max_length`` None: TRL's 1024 would cut image tokens out of the prompt. ``remove_unused_columns``
    False: the rows are built at batch time from columns TRL does not know. ``completion_only_loss``:
    the prompt (and its images) is context, not a target.
    """

    max_length: int | None = field(default=None, metadata={"help": "Token limit (None: no truncation)."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Keep our columns (see above)."})
    completion_only_loss: bool | None = field(default=True, metadata={"help": "Loss on the answer only."})

    def __post_init__(self) -> None:
        check_finite(self)  # --learning_rate nan: one line at parse time, not an optimiser traceback
        self.deepspeed = resolve_deepspeed(self.deepspeed)
        try:
            super().__post_init__()
        except ValueError as exc:
            raise ConfigError(str(exc).splitlines()[0]) from exc


def parse_sft_args(
    argv: Sequence[str] | None = None,
) -> tuple[SftScriptArguments, GuiSFTConfig, GuiModelConfig]:
    """Parse ``--config RECIPE.yaml`` plus overrides; bad values raise :class:`ConfigError`."""
    parser = TrlParser((SftScriptArguments, GuiSFTConfig, GuiModelConfig), prog="gui-agent-rl sft")
    script, training, model = parse_recipe(parser, argv)
    return script, training, model


def step_input(human: str) -> dict[str, Any]:
    """The step's input object at the end of a built prompt (``{"task_content": ...}``), or ``{}``."""
    start = human.rfind('{"task_content"')
    if start < 0:
        return {}
    try:
        value = orjson.loads(human[start:])
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def template_think(human: str, solution: str) -> dict[str, str]:
    """A four-field think block assembled from the sample itself (no facts beyond the prompt and label).

    >>> t = template_think('P {"task_content": "open maps", "history_path_all": []}',
    ...                    '{"action_type": "open_app", "action_parameter": {"open_app": "maps"}}')
    >>> t["task_interpretation"], t["path_alignment_check"]
    ('open maps', 'No steps taken yet; this is the first.')
    """
    inp = step_input(human)
    action = orjson.loads(solution)
    history = [str(h) for h in inp.get("history_path_all") or []]
    kind = action.get("action_type", "?")
    value = (action.get("action_parameter") or {}).get(kind, "")
    description = action.get("action_description") or f"{kind} {value}"
    screens = human.count(IMAGE_PLACEHOLDER)
    return {
        "task_interpretation": str(inp.get("task_content") or "Complete the task in the prompt."),
        "current_page_audit": f"{screens} screenshot(s) given; the current screen is the last one.",
        "path_alignment_check": (
            f"{len(history)} step(s) done, the last: {history[-1]}." if history else
            "No steps taken yet; this is the first."
        ),
        "action_validation": f"Next: {str(description).strip()}.",
    }  # fmt: skip


def sft_target(record: dict[str, Any], think_source: str) -> str:
    """The completion SFT teaches for ``record``: its gold action in its prompt's stated form."""
    output_format = record.get("output_format") or "think"
    if output_format != "think":
        return render_completion(record["solution"], output_format)
    think = record.get("think")
    if think_source == "template" or (think is None and think_source == "auto"):
        think = template_think(record["human"], record["solution"])
    elif think is None:
        raise DataError(f"id {record['id']}: no gold think block (--think_source gold); add one or use auto")
    return render_completion(record["solution"], "think", think)


class SftRowTransform(RowTransform):
    """GRPO's row transform plus the ``completion`` message SFTTrainer learns (picklable)."""

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        rows = super().__call__(batch)
        rows["completion"] = [[{"role": "assistant", "content": t}] for t in batch["target"]]
        return rows


def build_sft_dataset(
    records: list[dict[str, Any]], think_source: str, max_pixels: int | None, min_pixels: int
) -> Dataset:
    """Records -> rows of ``prompt``, ``completion`` and ``images`` (opened on access)."""
    from datasets import Dataset

    if any((r.get("output_format") or "think") == "think" for r in records):
        missing = sum(r.get("think") is None for r in records)
        if think_source == "auto" and missing:
            logger.warning(
                "%d of %d think-mode samples have no gold think block: their targets use one assembled "
                "from the sample (task, history, action description); see --think_source",
                missing,
                len(records),
            )
    for r in records:
        r["target"] = sft_target(r, think_source)
    return Dataset.from_list(records).with_transform(SftRowTransform(max_pixels, min_pixels))


def build_sft_trainer(
    script: SftScriptArguments, training: GuiSFTConfig, model_args: GuiModelConfig
) -> SFTTrainer:
    """Everything up to a ready ``SFTTrainer`` (cheap checks first)."""
    from trl import SFTTrainer

    from gui_agent_rl.train.data import load_records, pair_sources
    from gui_agent_rl.train.grpo import load_policy, prepare_run
    from gui_agent_rl.train.model import lora_config, trainable_summary
    from gui_agent_rl.train.vision_sync import needs_vision_sync, sync_vision_tower

    prepare_run(script, training, model_args)
    records = load_records(pair_sources(script.data_file_paths, script.image_folders))
    dataset = build_sft_dataset(records, script.think_source, script.max_pixels, script.min_pixels)
    processor, model = load_policy(script, training, model_args, records)
    trainer = SFTTrainer(
        model=model,
        args=training,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=lora_config(model_args),
    )
    if needs_vision_sync(records, trainer.accelerator.num_processes):  # ZeRO-3: all ranks run the tower
        sync_vision_tower(trainer.model)
    logger.info("%d samples; %s", len(records), trainable_summary(trainer.model))
    return trainer


def save_weights(trainer: SFTTrainer, script: SftScriptArguments, output_dir: str) -> None:
    """Full weights (LoRA merged when asked and possible), loadable as a model path."""
    from transformers.integrations import is_deepspeed_zero3_enabled

    model = trainer.model
    if script.merge_lora and hasattr(model, "merge_and_unload") and not is_deepspeed_zero3_enabled():
        if trainer.accelerator.is_main_process:
            trainer.accelerator.unwrap_model(model).merge_and_unload().save_pretrained(output_dir)
    else:
        trainer.save_model(output_dir)


def train_sft(script: SftScriptArguments, training: GuiSFTConfig, model_args: GuiModelConfig) -> SFTTrainer:
    """Train and leave weights, processor and trainer_state.json in ``output_dir``."""
    from gui_agent_rl.train.grpo import finish_run

    trainer = build_sft_trainer(script, training, model_args)
    trainer.train(resume_from_checkpoint=training.resume_from_checkpoint)
    save_weights(trainer, script, training.output_dir)
    finish_run(trainer, training.output_dir)
    return trainer


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``--config RECIPE.yaml`` plus overrides) and run SFT. Returns 0."""
    train_sft(*parse_sft_args(argv))
    return 0
