"""``main()``: parse the recipe, check everything that can be checked early, build, train, save.

The same entry point serves ``gui-agent-rl train``, ``python -m gui_agent_rl.train`` and the forms
torchrun and ``accelerate launch`` start (``-m gui_agent_rl.train``). Checks that need no model run
first (rewards, batch divisibility, DeepSpeed JSON, data and image files), so a bad recipe fails in
seconds with one line instead of after a 7B model has loaded on 40 GPUs.

    gui-agent-rl train --config recipes/tiny-cpu.yaml --max_steps 2
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui_agent_rl.schemas import JsonlError
from gui_agent_rl.train.config import ConfigError, GuiGRPOConfig, GuiModelConfig, GuiScriptArguments
from gui_agent_rl.train.data import DataError

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedModel, ProcessorMixin
    from trl import GRPOTrainer

logger = logging.getLogger(__name__)

#: exceptions that are the user's to fix: the CLI prints them as one line and exits with 2
USER_ERRORS = (ConfigError, DataError, JsonlError)


def build_rewards(script: GuiScriptArguments, training: GuiGRPOConfig) -> list:
    """Reward callables from the registry, wrapped for the rollout log when it is on."""
    from gui_agent_rl.rewards import RewardSettings, get_reward_funcs
    from gui_agent_rl.train.rollout_log import record_rewards, rollout_log_path

    if not script.reward_funcs:
        raise ConfigError("no reward functions: give --reward_funcs (e.g. format accuracy)")
    try:
        settings = RewardSettings(
            coordinate_frame=script.coordinate_frame,
            min_pixels=script.min_pixels,
            max_pixels=script.max_pixels,
            accuracy_method=script.accuracy_method,
            normalize_format=script.normalize_format,
            text_match=script.text_match,
            point_distance=script.point_distance,
            text_threshold=script.text_threshold,
        )
        funcs = get_reward_funcs(script.reward_funcs, settings)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    weights = training.reward_weights
    if weights is not None and len(weights) != len(funcs):
        raise ConfigError(
            f"{len(weights)} reward_weights for {len(funcs)} reward_funcs {script.reward_funcs}"
        )
    if not script.rollout_log:
        return funcs
    frame = {k: getattr(settings, k) for k in ("coordinate_frame", "min_pixels", "max_pixels")}
    return record_rewards(funcs, rollout_log_path(training.output_dir, training.process_index), frame)


def resume_target(value: Any, output_dir: str) -> str | bool | None:
    """``--resume_from_checkpoint``: true/last -> the newest checkpoint in output_dir; a path must exist."""
    if value is None or str(value).lower() in ("", "false", "no", "none"):
        return None
    if value is True or str(value).lower() in ("true", "yes", "last"):
        from transformers.trainer_utils import get_last_checkpoint

        if not Path(output_dir).is_dir() or get_last_checkpoint(output_dir) is None:
            raise ConfigError(f"--resume_from_checkpoint true: no checkpoint-* folder in {output_dir}")
        return True
    if not Path(value).is_dir():
        raise ConfigError(f"--resume_from_checkpoint {value}: no such checkpoint folder")
    return str(value)


def attach_deepspeed_comm(training: GuiGRPOConfig) -> None:
    """Let DeepSpeed reuse a process group that accelerate opened itself (CPU/gloo runs).

    On GPUs accelerate starts DeepSpeed's communication layer; with ``use_cpu`` it opens a plain gloo
    group instead, and ZeRO-3's ``zero.Init`` would then see a world of one and size its batch wrong.
    """
    if not training.deepspeed:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        import deepspeed

        if not deepspeed.comm.is_initialized():
            deepspeed.init_distributed(dist_backend=dist.get_backend())


def check_text_image_mix(records: Sequence[dict[str, Any]], training: GuiGRPOConfig) -> None:
    """TRL 1.16 fails when one process's generation batch holds a text-only prompt next to one with images
    (its processor receives ``None`` for the text-only row). That can only happen when a process's slice
    spans two prompts, so mixed data is fine as long as each slice holds one prompt's generations.

    Across processes (a text-only rank next to an image rank) mixed data is fine too: the ranks' collective
    calls are kept in step by :func:`sync_mixed_ranks`."""
    with_images = sum(bool(r["image_paths"]) for r in records)
    if with_images in (0, len(records)):
        return
    local = training.per_device_train_batch_size * training.steps_per_generation
    if local > training.num_generations or training.num_generations % local:
        raise ConfigError(
            f"{len(records) - with_images} text-only and {with_images} image samples, and each process "
            f"generates for {local} completions of G={training.num_generations}: TRL cannot batch text-only "
            "prompts with image prompts; split the data or make num_generations a multiple of "
            "per_device_train_batch_size x steps_per_generation"
        )


def sync_mixed_ranks(trainer: GRPOTrainer, records: Sequence[dict[str, Any]]) -> None:
    """Text-only prompts on one process and image prompts on another: every rank must make the same
    collective calls. ZeRO-3 gathers the vision tower's parameters, so text-only batches run it on a blank
    image; TRL 1.16 gathers the batch's images for its completion logs only on ranks that have some
    (``log_multimodal``), which would hang every backend, so that log is switched off."""
    from gui_agent_rl.train.vision_sync import needs_vision_sync, sync_vision_tower

    if not needs_vision_sync(records, trainer.accelerator.num_processes):
        return
    sync_vision_tower(trainer.model, trainer.ref_model)
    if trainer.log_multimodal:
        trainer.log_multimodal = False
        logger.info("log_multimodal off: TRL cannot gather images when some processes have none")


def check_reward_methods(records: Sequence[dict[str, Any]], script: GuiScriptArguments) -> None:
    """Per-sample ``accu_reward_method`` values must name a box method (VLM-R1 data may carry its own,
    e.g. ``llm`` or ``mcq``): say so now, not when the accuracy reward first meets one mid-training."""
    if "accuracy" not in script.reward_funcs:
        return
    from gui_agent_rl.rewards.accuracy import BOX_METHODS

    unknown: dict[str, Any] = {}
    for r in records:
        method = r["accu_reward_method"]
        if method and method not in BOX_METHODS:
            unknown.setdefault(method, r["id"])
    if unknown:
        found = ", ".join(f"{m!r} (first at id {i})" for m, i in unknown.items())
        raise ConfigError(
            f"accu_reward_method {found} is not an accuracy method; expected one of {', '.join(BOX_METHODS)}"
        )


def prepare_data(script: GuiScriptArguments, training: GuiGRPOConfig) -> tuple[list[dict], Dataset]:
    from gui_agent_rl.train.data import build_train_dataset, load_records, pair_sources

    records = load_records(pair_sources(script.data_file_paths, script.image_folders))
    check_text_image_mix(records, training)
    check_reward_methods(records, script)
    return records, build_train_dataset(records, script.max_pixels, script.min_pixels)


def load_policy(
    script: GuiScriptArguments,
    training: GuiGRPOConfig,
    model_args: GuiModelConfig,
    records: Sequence[dict[str, Any]],
) -> tuple[ProcessorMixin, PreTrainedModel]:
    """The processor (pixel limits, prompt budget checked on ``records``), then the model (vision frozen)."""
    from gui_agent_rl.train import model as model_lib
    from gui_agent_rl.train.data import check_prompt_budget

    processor = model_lib.load_processor(
        model_args.model_name_or_path, script.min_pixels, script.max_pixels, training.trust_remote_code
    )
    tokenizer = processor.tokenizer
    check_prompt_budget(records, tokenizer, script.min_pixels, script.max_pixels, script.max_prompt_length)
    attach_deepspeed_comm(training)
    model = model_lib.load_model(
        model_args.model_name_or_path,
        model_args.dtype,
        model_args.attn_implementation,
        training.trust_remote_code,
        model_args.model_revision,
    )
    if script.freeze_vision_modules:
        model_lib.freeze_vision(model, freeze_merger=script.freeze_vision_merger)
    return processor, model


def prepare_run(script: Any, training: Any, model_args: GuiModelConfig) -> None:
    """What GRPO and SFT check and set before anything loads: a model, TensorBoard's folder, resume."""
    if not model_args.model_name_or_path:
        raise ConfigError("no model: give --model_name_or_path")
    if script.logging_dir:  # transformers 5 dropped TrainingArguments.logging_dir; its callback reads this
        os.environ["TENSORBOARD_LOGGING_DIR"] = script.logging_dir
    training.resume_from_checkpoint = resume_target(training.resume_from_checkpoint, training.output_dir)
    check_deepspeed_resume(training)


def check_deepspeed_resume(training: Any) -> None:
    """DeepSpeed resumes from a checkpoint's ``global_step*`` folder, which ``save_only_model`` never writes;
    transformers would fail on it ("Can't find a valid checkpoint") only after the model has loaded."""
    target = training.resume_from_checkpoint
    if not target or not (training.deepspeed or getattr(training, "deepspeed_plugin", None)):
        return
    if target is True:
        from transformers.trainer_utils import get_last_checkpoint

        target = get_last_checkpoint(training.output_dir)
    if not any(Path(target).glob("global_step*")):
        raise ConfigError(
            f"--resume_from_checkpoint: {target} has no DeepSpeed state (no global_step* folder: saved with "
            "save_only_model: true?), so DeepSpeed cannot resume from it; keep save_only_model: false for "
            f"resumable checkpoints, or start a new run from its weights with --model_name_or_path {target}"
        )


def finish_run(trainer: Any, output_dir: str) -> None:
    """After the weights are saved: the processor (main process), trainer_state.json, the trackers."""
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(output_dir)
    trainer.save_state()
    if hasattr(trainer, "end"):  # transformers >= 5.18: finish trackers, destroy the process group
        trainer.end()
    logger.info("model, processor and trainer_state.json saved to %s", output_dir)


def build_trainer(
    script: GuiScriptArguments,
    training: GuiGRPOConfig,
    model_args: GuiModelConfig,
    callbacks: Sequence[Any] = (),
) -> GRPOTrainer:
    """Everything up to a ready ``GRPOTrainer`` (fails early, in the order cheapest first)."""
    from trl import GRPOTrainer

    from gui_agent_rl.train.model import lora_config, trainable_summary

    prepare_run(script, training, model_args)
    reward_funcs = build_rewards(script, training)
    records, dataset = prepare_data(script, training)
    processor, model = load_policy(script, training, model_args, records)
    # The reference model (beta > 0) is rebuilt by TRL from this same path, dtype and attention kernel.
    training.model_init_kwargs = None
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=training,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=lora_config(model_args),
        callbacks=list(callbacks) or None,
    )
    sync_mixed_ranks(trainer, records)
    logger.info("%d samples; %s", len(records), trainable_summary(trainer.model))
    return trainer


def train(
    script: GuiScriptArguments,
    training: GuiGRPOConfig,
    model_args: GuiModelConfig,
    callbacks: Sequence[Any] = (),
) -> GRPOTrainer:
    """Train and leave weights (or adapter), processor and trainer_state.json in output_dir."""
    trainer = build_trainer(script, training, model_args, callbacks)
    trainer.train(resume_from_checkpoint=training.resume_from_checkpoint)
    trainer.save_model(training.output_dir)
    finish_run(trainer, training.output_dir)
    return trainer


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``--config RECIPE.yaml`` plus overrides) and train. Returns 0."""
    from gui_agent_rl.cli._common import telemetry_off_by_default
    from gui_agent_rl.train.config import parse_train_args

    telemetry_off_by_default()  # no Hub pings (TRL's trainer telemetry) unless the user opts in

    script, training, model_args = parse_train_args(argv)
    train(script, training, model_args)
    return 0
