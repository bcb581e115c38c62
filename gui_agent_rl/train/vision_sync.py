"""Every rank runs the vision tower on every forward, also when its batch holds no image.

Under DeepSpeed ZeRO-3 a module's parameters are gathered from all ranks (a collective) when the
module runs, and its gradients are reduce-scattered in backward. When one rank's batch is text-only
and another's has screenshots, the first skips ``model.model.visual`` while the second gathers it,
and the ranks' collectives no longer pair up (gloo: "Received data size doesn't match expected size";
NCCL: a hang). The fix other VLM trainers use (ms-swift, verl):
on a forward without images, run the tower on a tiny blank image and add ``0 x`` its output to the
text embeddings, so every rank gathers the same parameters and every trainable one gets a (zero)
gradient, while the text-only prompt's result is unchanged.

:func:`sync_vision_tower` wraps the ``forward`` of each vision-language core module (the one owning
``visual`` and the text embeddings). Decode steps of ``generate`` (a non-empty KV cache) are left
alone: no rank runs the tower there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)

VISUAL_INPUTS = ("pixel_values", "pixel_values_videos")


def needs_vision_sync(records: Sequence[dict[str, Any]], world_size: int) -> bool:
    """True when several processes train on data that mixes text-only and image samples."""
    with_images = sum(bool(r["image_paths"]) for r in records)
    return world_size > 1 and 0 < with_images < len(records)


def blank_image_inputs(visual: nn.Module, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixel_values, grid_thw) of the smallest image the tower takes: one merged token, all zeros."""
    import torch

    embed = visual.patch_embed
    merge = getattr(visual, "spatial_merge_size", 2)
    width = embed.in_channels * embed.temporal_patch_size * embed.patch_size**2
    pixels = torch.zeros(merge * merge, width, device=device)
    return pixels, torch.tensor([[1, merge, merge]], device=device)


def _skip(args: tuple, kwargs: dict[str, Any]) -> bool:
    """Images (raw or already encoded, as ``generate`` may pass them), a decode step, or an unknown call."""
    encoded = kwargs.get("mm_encoder_outputs") or {}
    if any(kwargs.get(k) is not None for k in VISUAL_INPUTS) or any(v is not None for v in encoded.values()):
        return True
    cache = kwargs.get("past_key_values")
    return len(args) > 1 or (cache is not None and cache.get_seq_length() > 0)


def _with_blank_image(core: nn.Module, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of a text-only call with ``inputs_embeds + 0 * tower(blank image)``."""
    input_ids = args[0] if args else kwargs.get("input_ids")
    embeds = kwargs.get("inputs_embeds")
    if embeds is None:
        if input_ids is None:
            return kwargs
        embeds = core.get_input_embeddings()(input_ids)
    pixels, grid = blank_image_inputs(core.visual, embeds.device)
    features = core.get_image_features(pixels, grid, return_dict=True).pooler_output
    touch = sum(f.sum() for f in features).to(embeds.dtype)
    # input_ids stay: the model still reads them for the image mask and the 3D position ids
    return {**kwargs, "inputs_embeds": embeds + 0.0 * touch}


def _forward_running_the_tower(core: nn.Module) -> Callable[..., Any]:
    """``core.forward`` that runs the tower on text-only calls.

    A wrapper of ``forward``, not a forward pre-hook: ZeRO-3 records the order in which modules run and
    requires it to be the same on every rank, so the tower must run after ``core``'s own DeepSpeed hooks
    (the embedding first, then the tower, as on an image batch), and a pre-hook would run before them.
    """
    original = core.forward

    @functools.wraps(original)
    def forward(*args: Any, **kwargs: Any) -> Any:
        if not _skip(args, kwargs):
            kwargs = _with_blank_image(core, args, kwargs)
        return original(*args, **kwargs)

    return forward


def vision_language_cores(model: nn.Module) -> list[nn.Module]:
    """Modules that own the vision tower as a direct child and embed images (Qwen2/2.5-VL's ``model``)."""
    return [
        m
        for m in model.modules()
        if "visual" in m._modules and hasattr(m, "get_image_features") and hasattr(m, "get_input_embeddings")
    ]


def sync_vision_tower(*models: nn.Module | None) -> int:
    """Make every core module of ``models`` run the tower on text-only calls (once each); returns how many."""
    installed = 0
    for model in models:
        for core in vision_language_cores(model) if model is not None else []:
            if getattr(core, "_gui_vision_sync", False):
                continue
            core.forward = _forward_running_the_tower(core)
            core._gui_vision_sync = True
            installed += 1
    if installed:
        logger.info("text-only batches run the vision tower on a blank image (%d model(s))", installed)
    return installed
