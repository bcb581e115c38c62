"""GPU memory per rank for GRPO on Qwen2.5-VL-7B under ZeRO-2/3: a first-order formula, assumptions stated.

Assumptions (bf16 mixed precision, AdamW, what the recipes ship):
- weights bf16 (2 B/param); trainable parameters also keep an fp32 master copy and two fp32 Adam moments
  (12 B/param) plus a bf16 gradient (2 B/param). ZeRO-2 partitions gradients and optimizer state over
  the N ranks; ZeRO-3 also partitions the weights. A frozen vision tower has no gradient or optimizer state.
- ZeRO-3 gathers the whole policy onto each GPU for generation (TRL's ``ds3_gather_for_generation``, on by
  default), so the gathered bf16 weights are counted once at peak; ZeRO-2 holds them all the time.
- the reference model (beta > 0) is another bf16 copy, partitioned under ZeRO-3.
- sequence = prompt text + visual tokens of every image (``visual_tokens(max_pixels)``, the worst case) +
  completion. Generation keeps a KV cache for the per-device generation batch; training uses gradient
  checkpointing (one bf16 hidden state per layer per token kept, one layer's activations live) and flash
  attention (no seq^2 term); the completion logits are materialised in fp32 once for the log-softmax.
- a fixed allowance for the CUDA context, NCCL buffers and fragmentation.
It is a sizing guide to pick G, batch and max_pixels, not a promise: measure with ``nvidia-smi``.

>>> round(estimate_memory(SizingInputs(zero_stage=3, num_gpus=8)).total_gib, 1)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gui_agent_rl.schemas.geometry import visual_tokens

GIB = 1024**3


@dataclass(frozen=True)
class ModelShape:
    """Qwen2.5-VL-7B-Instruct's sizes (from its config.json)."""

    params: float = 8.29e9
    vision_params: float = 0.68e9
    layers: int = 28
    hidden: int = 3584
    kv_heads: int = 4
    head_dim: int = 128
    vocab: int = 152064
    vision_layers: int = 32
    vision_hidden: int = 1280


@dataclass(frozen=True)
class SizingInputs:
    zero_stage: int = 3
    num_gpus: int = 8
    num_generations: int = 8
    per_device_batch: int = 1
    steps_per_generation: int = 1
    completion_length: int = 512
    prompt_text_tokens: int = 1500
    images_per_prompt: int = 2
    screen_size: tuple[int, int] = (1080, 2400)
    max_pixels: int = 12845056
    min_pixels: int = 3136
    freeze_vision: bool = True
    reference_model: bool = False
    lora_fraction: float | None = None  # trainable share with LoRA (e.g. 0.005), None: full fine-tuning
    overhead_gib: float = 4.0
    model: ModelShape = field(default_factory=ModelShape)


@dataclass(frozen=True)
class MemoryEstimate:
    parts_gib: dict[str, float]

    @property
    def total_gib(self) -> float:
        return sum(self.parts_gib.values())


def sequence_length(x: SizingInputs) -> int:
    w, h = x.screen_size
    image_tokens = x.images_per_prompt * (visual_tokens(w, h, x.min_pixels, x.max_pixels) + 2)
    return x.prompt_text_tokens + image_tokens + x.completion_length


def estimate_memory(x: SizingInputs) -> MemoryEstimate:
    """Peak GPU memory per rank, by part, in GiB."""
    m, n = x.model, x.num_gpus
    trainable = m.params - (m.vision_params if x.freeze_vision else 0.0)
    if x.lora_fraction is not None:
        trainable = m.params * x.lora_fraction
    weights = 2 * m.params / (n if x.zero_stage == 3 else 1)
    if x.zero_stage == 3:
        weights += 2 * m.params  # gathered for generation
    grads = 2 * trainable / n
    optimizer = 12 * trainable / n
    reference = (2 * m.params / (n if x.zero_stage == 3 else 1)) if x.reference_model else 0.0
    seq = sequence_length(x)
    gen_batch = x.per_device_batch * x.steps_per_generation
    kv_cache = gen_batch * seq * m.layers * 2 * m.kv_heads * m.head_dim * 2
    checkpoints = x.per_device_batch * seq * m.layers * m.hidden * 2
    live_layer = x.per_device_batch * seq * m.hidden * 2 * 16  # one layer's intermediates (MLP 5.3x, attn)
    vision = 0.0
    if not x.freeze_vision:  # a trained tower keeps checkpoints for its 4x (pre-merge) patch tokens
        w, h = x.screen_size
        patches = 4 * x.images_per_prompt * visual_tokens(w, h, x.min_pixels, x.max_pixels)
        vision = x.per_device_batch * patches * m.vision_layers * m.vision_hidden * 2
    logits = x.per_device_batch * x.completion_length * m.vocab * 4 * 2  # fp32 logits + log-softmax
    parts = {
        "weights": weights,
        "grads": grads,
        "optimizer": optimizer,
        "reference": reference,
        "kv_cache": kv_cache,
        "activations": checkpoints + live_layer + vision,
        "logits": logits,
    }
    gib = {k: v / GIB for k, v in parts.items()}
    gib["overhead"] = x.overhead_gib
    return MemoryEstimate(gib)


def sizing_table(gpu_gib: float = 80.0) -> str:
    """A markdown table of typical 7B settings (8 GPUs), for recipes/README.md."""
    rows = [
        "| ZeRO | G | batch/GPU | completion | max_pixels | ref | GiB/GPU | fits 80 GB |",
        "|" + "---|" * 8,
    ]
    for stage in (2, 3):
        for batch, completion, max_pixels, ref in (
            (1, 512, 1280 * 28 * 28, False),
            (2, 512, 1280 * 28 * 28, False),
            (1, 1024, 12845056, False),
            (1, 512, 1280 * 28 * 28, True),
        ):
            x = SizingInputs(zero_stage=stage, per_device_batch=batch, completion_length=completion,
                             max_pixels=max_pixels, reference_model=ref)  # fmt: skip
            total = estimate_memory(x).total_gib
            fits = "yes" if total < gpu_gib * 0.95 else "no"
            rows.append(
                f"| {stage} | 8 | {batch} | {completion} | {max_pixels} | {ref} | {total:.1f} | {fits} |"
            )
    return "\n".join(rows)
