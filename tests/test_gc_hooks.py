"""Gradient checkpointing's "inputs require grad" hooks (issue 10, items 3 and 4).

transformers 5.23 adds a new set of hooks on the embeddings and ``visual.patch_embed`` each time
checkpointing is enabled, and TRL 1.16's GRPOTrainer re-enables it after every generation: the count grew
3, 5, 7, 9, 11 over five steps. The hook on ``patch_embed`` also pulled a frozen vision tower into the
backward pass. ``model.guard_input_require_grads`` (applied by ``load_model``) keeps one set, without the
tower's hook when the tower does not train.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from gui_agent_rl.train import model as model_lib  # noqa: E402
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.filterwarnings("ignore::FutureWarning")]
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu.yaml"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_model(root / "model"), write_tiny_dataset(root / "data", n_samples=4)


def load(tiny):
    return model_lib.load_model(str(tiny[0]), "float32", "sdpa")


def hooks_on(module) -> int:
    return model_lib.count_input_grad_hooks(module)


def embed_and_patch_hooks(model) -> tuple[int, int]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return hooks_on(base.get_input_embeddings()), hooks_on(model_lib.vision_tower(model).patch_embed)


def toggle_checkpointing(model, times: int = 5) -> list[tuple[int, int]]:
    """What TRL does around each generation: disable, then enable again."""
    counts = []
    for _ in range(times):
        model.gradient_checkpointing_disable()
        model.gradient_checkpointing_enable()
        counts.append(embed_and_patch_hooks(model))
    return counts


def image_batch(tiny):
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny[0])
    content = [{"type": "image"}, {"type": "text", "text": "go"}]
    text = processor.apply_chat_template([{"role": "user", "content": content}], tokenize=False)
    return processor(text=[text], images=[Image.new("RGB", (112, 224), "red")], return_tensors="pt")


def train_forward_backward(model, batch) -> dict[str, bool]:
    """One training forward/backward; records whether the tower's activations required grad."""
    tower = model_lib.vision_tower(model)
    seen: dict[str, bool] = {}

    def blocks_input(module, args) -> None:
        seen.setdefault("blocks_input", args[0].requires_grad)

    def tower_output(module, args, out) -> None:
        seen.setdefault("tower_output", out.requires_grad)

    handles = [
        tower.blocks[0].register_forward_pre_hook(blocks_input),
        tower.merger.register_forward_hook(tower_output),
    ]
    model.train()
    try:
        model(**batch, labels=batch["input_ids"]).loss.backward()
    finally:
        for h in handles:
            h.remove()
    return seen


class TestIdempotentHooks:
    def test_enabling_checkpointing_again_keeps_one_hook_per_embedding(self, tiny):
        model = load(tiny)
        assert toggle_checkpointing(model) == [(1, 1)] * 5  # before the guard: (1,1), (2,2), ... (5,5)
        assert hooks_on(model) == 2

    def test_direct_calls_are_idempotent_and_disable_removes_all(self, tiny):
        model = load(tiny)
        for _ in range(3):
            model.enable_input_require_grads()
        assert hooks_on(model) == 2
        model.disable_input_require_grads()
        assert hooks_on(model) == 0

    def test_lora_keeps_one_hook_and_none_on_the_tower(self, tiny):
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=4, target_modules=model_lib.LANGUAGE_MODEL_LORA_TARGETS)
        peft_model = get_peft_model(load(tiny), config)
        peft_model.enable_input_require_grads()  # as GRPOTrainer does for PEFT + checkpointing
        assert toggle_checkpointing(peft_model) == [(1, 0)] * 5
        assert hooks_on(peft_model) == 1


class TestFrozenTowerOutOfBackward:
    def test_frozen_tower_gets_no_hook_no_grad_and_no_backward(self, tiny):
        model = load(tiny)
        model_lib.freeze_vision(model)
        model.gradient_checkpointing_enable()
        assert embed_and_patch_hooks(model) == (1, 0)
        seen = train_forward_backward(model, image_batch(tiny))
        assert seen == {"blocks_input": False, "tower_output": False}  # before: both True
        tower = model_lib.vision_tower(model)
        assert all(p.grad is None for p in tower.parameters())
        assert any(p.grad is not None for p in model.model.language_model.parameters())

    def test_trained_merger_gets_grads_blocks_stay_out(self, tiny):
        model = load(tiny)
        model_lib.freeze_vision(model, freeze_merger=False)
        model.gradient_checkpointing_enable()
        seen = train_forward_backward(model, image_batch(tiny))
        assert seen == {"blocks_input": False, "tower_output": True}
        tower = model_lib.vision_tower(model)
        assert all(p.grad is None for n, p in tower.named_parameters() if not n.startswith("merger."))
        assert all(p.grad is not None for p in tower.merger.parameters())

    def test_trained_tower_keeps_its_hook_and_gets_grads(self, tiny):
        model = load(tiny)
        model.gradient_checkpointing_enable()
        assert embed_and_patch_hooks(model) == (1, 1)
        seen = train_forward_backward(model, image_batch(tiny))
        assert seen == {"blocks_input": True, "tower_output": True}
        assert all(p.grad is not None for p in model_lib.vision_tower(model).blocks.parameters())


# --- GRPO end to end: five steps with gradient checkpointing -------------------------------------


def varied_reward(completions, **kwargs):
    """Distinct characters / 10: non-zero advantages, so a real gradient flows (as in test_grpo_cpu)."""
    from gui_agent_rl.schemas import completion_text

    return [len(set(completion_text(c))) / 10 for c in completions]


def grpo_trainer(tiny, out: Path, callback, steps: int, *overrides: str):
    from gui_agent_rl.train.config import parse_train_args
    from gui_agent_rl.train.grpo import build_trainer

    model, data = tiny
    argv = [
        "--config", str(RECIPE),
        "--model_name_or_path", str(model),
        "--data_file_paths", str(data),
        "--image_folders", str(data.parent),
        "--output_dir", str(out),
        "--reward_funcs", "format", "test_gc_hooks:varied_reward",
        "--reward_weights", "1.0", "1.0",
        "--gradient_checkpointing", "true",
        "--max_steps", str(steps),
        *overrides,
    ]  # fmt: skip
    return build_trainer(*parse_train_args(argv), callbacks=[callback])


def recorder():
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        def __init__(self) -> None:
            self.hooks: list[tuple[int, int]] = []
            self.grads: list[tuple[bool, bool]] = []

        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            tower = model_lib.vision_tower(model)
            vision = any(p.grad is not None for p in tower.parameters())
            language = any(p.grad is not None for n, p in model.named_parameters() if "language_model" in n)
            self.grads.append((vision, language))

        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.hooks.append(embed_and_patch_hooks(model))

    return Recorder()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [((), (1, 1)), (("--use_peft", "true", "--lora_r", "4"), (1, 0))],
    ids=["full", "lora"],
)
def test_grpo_hook_count_constant_over_five_steps(tiny, tmp_path, overrides, expected):
    rec = recorder()
    grpo_trainer(tiny, tmp_path / "out", rec, 5, *overrides).train()
    assert rec.hooks == [expected] * 5  # before the guard: (3,3), (5,5), (7,7), (9,9), (11,11)


@pytest.mark.slow
def test_grpo_frozen_tower_gets_no_gradient_and_no_backward(tiny, tmp_path):
    rec = recorder()
    trainer = grpo_trainer(tiny, tmp_path / "out", rec, 2, "--freeze_vision_modules", "true")
    tower = model_lib.vision_tower(trainer.model)
    seen: list[bool] = []
    handle = tower.merger.register_forward_hook(
        lambda m, a, out: seen.append(out.requires_grad) if torch.is_grad_enabled() else None
    )
    trainer.train()
    handle.remove()
    assert seen and not any(seen)  # training forwards: the tower's output never requires grad
    assert rec.grads == [(False, True)] * 2
    assert rec.hooks == [(1, 0)] * 2


@pytest.mark.slow
def test_sft_lora_with_frozen_tower_keeps_one_hook(tiny, tmp_path):
    from gui_agent_rl.train.sft import build_sft_trainer, parse_sft_args

    model, data = tiny
    argv = [
        "--config", str(RECIPE.with_name("tiny-cpu-sft.yaml")), "--model_name_or_path", str(model),
        "--data_file_paths", str(data), "--image_folders", str(data.parent),
        "--output_dir", str(tmp_path / "out"), "--gradient_checkpointing", "true",
        "--use_peft", "true", "--lora_r", "4", "--freeze_vision_modules", "true", "--max_steps", "2",
    ]  # fmt: skip
    trainer = build_sft_trainer(*parse_sft_args(argv))
    rec = recorder()
    trainer.add_callback(rec)
    trainer.train()
    assert rec.hooks == [(1, 0)] * 2
    assert rec.grads == [(False, True)] * 2
