"""Load the policy and its processor: pixel limits, attention kernel, frozen vision, LoRA targets.

Nothing here is specific to 7B: any checkpoint ``AutoModelForImageTextToText`` loads works. Under
DeepSpeed ZeRO-3 ``from_pretrained`` partitions the weights as they load (transformers sees the
DeepSpeed config that ``GRPOConfig`` registered), and freezing sets ``requires_grad`` on the
partitioned parameters, which ZeRO-3 honours.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui_agent_rl.train.config import ConfigError

if TYPE_CHECKING:
    from peft import LoraConfig
    from torch import nn
    from transformers import PreTrainedModel, ProcessorMixin
    from trl import ModelConfig

logger = logging.getLogger(__name__)

# LoRA on the language model's linear layers only: the vision blocks reuse the names
# gate_proj/up_proj/down_proj (and qkv/proj), so a bare list of names would adapt the vision tower too.
LANGUAGE_MODEL_LORA_TARGETS = (
    r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"
)


#: a Hugging Face Hub model id: ``owner/name``, letters, digits, ``-``, ``_`` and ``.``
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", re.ASCII)


def looks_local(model_path: str) -> bool:
    """Whether ``model_path`` can only name a local folder, not a Hub model id.

    Every Hub model this toolkit loads has an owner (``Qwen/Qwen2.5-VL-7B-Instruct``), so a bare name,
    an absolute or ``.``/``~`` path, a path of three or more parts, or one whose first part exists here
    (``runs/typo``) is local.
    """
    first = model_path.split("/", 1)[0]
    hub_like = HUB_ID.fullmatch(model_path) and ".." not in model_path and "--" not in model_path
    return not hub_like or Path(first).exists()


_announced: set[str] = set()


def check_model_path(model_path: str) -> None:
    """ConfigError for a local-looking model path that does not exist (:func:`looks_local`).

    ``from_pretrained`` would take it for a Hub id and, offline, retry the network for minutes first.
    An ``owner/name`` that is neither here nor in the Hub cache may be either (``runs/typo`` when
    ``runs`` does not exist): it goes to the Hub, and a warning says so at once.
    """
    if Path(model_path).exists():
        return
    if looks_local(model_path):
        raise ConfigError(f"{model_path}: no such model folder (a Hub model is named owner/name)")
    from huggingface_hub.constants import HF_HUB_CACHE

    cached = Path(HF_HUB_CACHE, "models--" + model_path.replace("/", "--")).is_dir()
    if not cached and model_path not in _announced:
        _announced.add(model_path)
        logger.warning("%s: no such folder here; fetching it from the Hugging Face Hub", model_path)


@contextmanager
def loading(what: str, model_path: str) -> Iterator[None]:
    """Turn ``from_pretrained``'s errors for a missing or unusable checkpoint into one-line ConfigErrors."""
    try:
        yield
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{model_path}: cannot load the {what}: {reason}") from None


def pick_attn_implementation(requested: str | None) -> str | None:
    """``flash_attention_2`` when transformers can use it, else sdpa (with a warning); None: library default.

    transformers 5.23 decides by package metadata only (``is_flash_attn_2_available``: ``flash_attn``
    found, distribution ``flash-attn`` >= 2.3.3, a CUDA device) and imports the package while the model
    loads, so a broken build (an undefined symbol against this torch) would end the run with a traceback.
    """
    if requested != "flash_attention_2":
        return requested
    reason = flash_attn_problem()
    if reason:
        logger.warning("flash_attention_2 requested but %s; using sdpa", reason)
        return "sdpa"
    return requested


def flash_attn_problem() -> str | None:
    """Why flash-attn 2 cannot serve this process (not installed, fails to import, unusable), or None."""
    if importlib.util.find_spec("flash_attn") is None:
        return "flash-attn is not installed"
    try:
        importlib.import_module("flash_attn")
    except Exception as exc:  # noqa: BLE001 - a broken build raises ImportError, OSError, RuntimeError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"flash-attn fails to import ({type(exc).__name__}: {first})"
    from transformers import utils as hf_utils

    if not hf_utils.is_flash_attn_2_available():
        return "transformers cannot use flash-attn here (it needs a CUDA device and flash-attn >= 2.3.3)"
    return None


def load_processor(
    model_path: str, min_pixels: int, max_pixels: int, trust_remote_code: bool = False
) -> ProcessorMixin:
    """``AutoProcessor`` with the image processor's pixel limits set (the rewards use the same limits)."""
    from transformers import AutoProcessor

    check_model_path(model_path)
    with loading("processor", model_path):
        processor = AutoProcessor.from_pretrained(
            model_path, trust_remote_code=trust_remote_code, padding_side="left", truncation_side="left"
        )
    set_pixel_limits(processor, min_pixels, max_pixels)
    return processor


def set_pixel_limits(processor: ProcessorMixin, min_pixels: int, max_pixels: int) -> None:
    """Give the processor's image processor these pixel limits (both spellings Qwen processors read)."""
    image_processor = getattr(processor, "image_processor", None)
    if image_processor is None:
        return
    image_processor.size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    for attr, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
        if hasattr(image_processor, attr):
            setattr(image_processor, attr, value)


def load_model(
    model_path: str,
    dtype: str | None,
    attn_implementation: str | None,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> PreTrainedModel:
    """The policy as ``AutoModelForImageTextToText`` in ``dtype`` (a name such as ``bfloat16``)."""
    import torch
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision and revision != "main":
        kwargs["revision"] = revision
    if dtype and dtype != "auto":
        kwargs["dtype"] = getattr(torch, dtype)
    elif dtype == "auto":
        kwargs["dtype"] = "auto"
    attn = pick_attn_implementation(attn_implementation)
    if attn:
        kwargs["attn_implementation"] = attn
    check_model_path(model_path)
    with loading("model", model_path):
        model = AutoModelForImageTextToText.from_pretrained(model_path, **kwargs)
    forget_zero3_weight_conversions(model)
    guard_input_require_grads(model)
    return model


def forget_zero3_weight_conversions(model: PreTrainedModel) -> bool:
    """Patch (transformers 5.23, ZeRO-3 only): let ``save_pretrained`` use the default key mapping.

    Loading under ZeRO-3 records *every* renaming rule of the architecture as "applied", legacy ones
    included, and reverting them all on save writes Qwen2.5-VL keys as ``model.model.layers.*``:
    transformers reloads that, vLLM does not. Without the record, saving reverts only the default
    renamings and the checkpoint keeps the original ``model.layers.*`` / ``visual.*`` names.
    Remove once the saved keys match without it (``tests/test_zero3.py`` checks them).
    """
    from transformers.integrations import is_deepspeed_zero3_enabled

    if not is_deepspeed_zero3_enabled() or getattr(model, "_weight_conversions", None) is None:
        return False
    model._weight_conversions = None
    return True


def vision_tower(model: nn.Module) -> nn.Module | None:
    """``model.model.visual`` (Qwen2/2.5-VL), looked up through a PEFT wrapper too."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", base)
    return getattr(inner, "visual", None) or getattr(base, "visual", None)


def freeze_vision(model: nn.Module, freeze_merger: bool = True) -> int:
    """Freeze the vision tower (and its merger unless told not to); returns how many tensors were frozen."""
    visual = vision_tower(model)
    if visual is None:
        raise ValueError(f"{type(model).__name__} has no vision tower at model.model.visual to freeze")
    frozen = 0
    for name, param in visual.named_parameters():
        if not freeze_merger and name.startswith("merger."):
            param.requires_grad_(True)
            continue
        param.requires_grad_(False)
        frozen += 1
    logger.info("froze %d vision tensors (merger %s)", frozen, "frozen" if freeze_merger else "trained")
    return frozen


#: names of the forward hooks transformers (``enable_input_require_grads``) and PEFT register on embeddings
REQUIRE_GRADS_HOOKS = frozenset({"make_inputs_require_grads", "make_inputs_require_grad"})


def guard_input_require_grads(model: PreTrainedModel) -> bool:
    """Patch (transformers 5.23, TRL 1.16): make ``model.enable_input_require_grads`` idempotent, and leave a
    frozen vision tower out of the backward pass.

    transformers' version registers a fresh set of "output requires grad" hooks on every call and forgets
    the previous set; GRPOTrainer re-enables gradient checkpointing after each generation, which calls it,
    so the embeddings and ``visual.patch_embed`` gain one more hook per step (each costs time on every
    embedding call). It also hooks ``patch_embed`` when the tower is frozen, which makes the whole tower's
    activations require grad: backward then runs through the frozen tower and checkpointing keeps its
    activations. The replacement removes the previous set first and drops the tower's hook when nothing
    before the merger trains. Only this instance is patched; returns False when there is nothing to patch.
    Remove once transformers removes its old hooks itself (``tests/test_gc_hooks.py`` shows when).
    """
    original = getattr(type(model), "enable_input_require_grads", None)
    if original is None or not hasattr(model, "disable_input_require_grads"):
        return False

    def enable_input_require_grads(self: PreTrainedModel) -> None:
        self.disable_input_require_grads()
        original(self)
        drop_frozen_tower_hooks(self)

    model.enable_input_require_grads = types.MethodType(enable_input_require_grads, model)
    return True


def drop_frozen_tower_hooks(model: PreTrainedModel) -> int:
    """Remove the require-grads hooks ``enable_input_require_grads`` put inside a tower that does not train
    before its merger (frozen, or frozen by LoRA); returns how many were removed."""
    tower = vision_tower(model)
    handles = getattr(model, "_require_grads_hooks", None)
    if tower is None or not handles or tower_trains_before_merger(tower):
        return 0
    tower_hooks = [m._forward_hooks for m in tower.modules()]
    dropped = [h for h in handles if any(h.id in hooks for hooks in tower_hooks)]
    for handle in dropped:
        handle.remove()
    kept = [h for h in handles if h not in dropped]
    model._require_grads_hooks = kept
    if kept:
        model._require_grads_hook = kept[0]
    elif hasattr(model, "_require_grads_hook"):
        del model._require_grads_hook
    return len(handles) - len(kept)


def tower_trains_before_merger(tower: nn.Module) -> bool:
    """Whether a parameter of the tower other than its merger trains (then its input must require grad
    for checkpointed blocks to get gradients; a trained merger gets them from its own weights)."""
    return any(p.requires_grad for n, p in tower.named_parameters() if not n.startswith("merger."))


def count_input_grad_hooks(model: nn.Module) -> int:
    """How many require-grads forward hooks sit on ``model``'s modules (one per hooked embedding is right)."""
    return sum(
        getattr(hook, "__name__", "") in REQUIRE_GRADS_HOOKS
        for module in model.modules()
        for hook in module._forward_hooks.values()
    )


def lora_config(model_args: ModelConfig) -> LoraConfig | None:
    """TRL's LoRA config from the model arguments, targeting the language model unless told otherwise."""
    from trl import get_peft_config

    if not model_args.use_peft:
        return None
    config = get_peft_config(model_args)
    if model_args.lora_target_modules is None:
        config.target_modules = LANGUAGE_MODEL_LORA_TARGETS
    return config


def trainable_summary(model: nn.Module) -> str:
    """``"123,456 of 7,000,000 parameters trainable (1.76%)"`` (ZeRO-3 aware through ``ds_numel``)."""
    total = trainable = 0
    for p in model.parameters():
        n = getattr(p, "ds_numel", p.numel())
        total += n
        trainable += n if p.requires_grad else 0
    share = 100 * trainable / total if total else 0.0
    return f"{trainable:,} of {total:,} parameters trainable ({share:.2f}%)"
