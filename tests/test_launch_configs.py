"""What a rank sees under ``accelerate launch`` with the shipped YAMLs, and what the 7B recipes promise.

Each GPU recipe is parsed in the environment accelerate gives a process (accelerate's own
``_validate_launch_command`` and ``prepare_deepspeed_cmd_env``, plus the variables torchrun adds), building
``TrainingArguments`` and its DeepSpeed plugin as the rank does. Only what needs a GPU is stood in for: the
process group (a property returning the CPU device and the launch's world size) and bf16 support.
Also: the 7B recipes keep resumable checkpoints, the ``vllm`` extra stays inside what TRL supports, and
the seed's recipe runs what the seed ran (or says where and why it does not).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import yaml

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("accelerate")

from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.version import Version  # noqa: E402

from gui_agent_rl.train.config import parse_train_args  # noqa: E402

pytestmark = pytest.mark.train
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "gui_agent_rl" / "train" / "configs"
ACCELERATE_YAMLS = sorted(CONFIGS.glob("accelerate_*.yaml"))
GPU_RECIPES = sorted(p for p in (ROOT / "recipes").glob("*.yaml") if not p.name.startswith("tiny-"))
RECIPES_7B = sorted((ROOT / "recipes").glob("qwen2.5-vl-7b-*.yaml"))
SEED_RECIPE = ROOT / "recipes" / "qwen2.5-vl-7b-grpo.yaml"
# accelerate refuses any other deepspeed_config key next to a DeepSpeed JSON (_deepspeed_config_checks)
ALLOWED_DEEPSPEED_KEYS = {"deepspeed_config_file", "zero3_init_flag", "deepspeed_multinode_launcher"}


@pytest.fixture(autouse=True)
def _forget_deepspeed_config():
    """A DeepSpeed plugin registers a process-wide ZeRO-3 flag that from_pretrained reads: drop it."""
    yield
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_environment(config_file: Path) -> dict[str, str]:
    """The environment of the last rank that ``accelerate launch --config_file CONFIG_FILE -m ...`` starts."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    port = str(free_port())
    argv = ["--config_file", str(config_file), "--main_process_port", port, "-m", "gui_agent_rl.train"]
    args, defaults, mixed_precision_from_config = _validate_launch_command(
        launch_command_parser().parse_args(argv)
    )
    assert args.use_deepspeed
    fields = list(defaults.deepspeed_config) + ["mixed_precision"] * mixed_precision_from_config
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)  # as launch_command() sets it
    cmd, env = prepare_deepspeed_cmd_env(args)
    assert cmd is None, "the standard launcher (torchrun on every node), not pdsh"
    per_node, world = int(args.nproc_per_node), int(args.num_processes)
    local_rank = per_node - 1
    env.update(  # what torchrun adds for each process
        RANK=str(int(args.machine_rank) * per_node + local_rank), LOCAL_RANK=str(local_rank),
        WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(per_node),
        MASTER_ADDR=str(args.main_process_ip or "127.0.0.1"), MASTER_PORT=port,
    )  # fmt: skip
    return env


@contextmanager
def as_gpu_rank(env: dict[str, str]):
    """Run in ``env`` as a rank with a bf16 GPU and an initialised process group of WORLD_SIZE processes."""
    from transformers import TrainingArguments

    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch("transformers.training_args.is_torch_bf16_gpu_available", return_value=True),
        mock.patch.object(TrainingArguments, "_setup_devices", property(lambda self: torch.device("cpu"))),
        mock.patch.object(TrainingArguments, "world_size", property(lambda self: int(env["WORLD_SIZE"]))),
    ):
        yield


def parse_recipe_as_rank(recipe: Path, env: dict[str, str], *overrides: str):
    argv = ["--config", str(recipe), *overrides]
    with as_gpu_rank(env):
        if "sft" in recipe.name:
            from gui_agent_rl.train.sft import parse_sft_args

            return parse_sft_args(argv)
        return parse_train_args(argv)


def zero_stage(recipe: Path) -> int:
    from gui_agent_rl.train.config import resolve_deepspeed

    name = yaml.safe_load(recipe.read_text(encoding="utf-8"))["deepspeed"]
    return json.loads(Path(resolve_deepspeed(name)).read_text())["zero_optimization"]["stage"]


class TestAccelerateLaunch:
    @pytest.mark.parametrize("config_file", ACCELERATE_YAMLS, ids=lambda p: p.name)
    def test_yaml_has_no_deepspeed_or_precision_key_that_accelerate_refuses_next_to_a_json(self, config_file):
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        assert config["distributed_type"] == "DEEPSPEED" and "mixed_precision" not in config
        assert set(config["deepspeed_config"]) <= ALLOWED_DEEPSPEED_KEYS
        assert (ROOT / config["deepspeed_config"]["deepspeed_config_file"]).is_file()

    @pytest.mark.parametrize("recipe", GPU_RECIPES, ids=lambda p: p.name)
    @pytest.mark.parametrize("config_file", ACCELERATE_YAMLS, ids=lambda p: p.stem)
    def test_every_gpu_recipe_parses_on_a_rank_with_the_recipes_deepspeed_json(self, config_file, recipe):
        env = rank_environment(config_file)
        _, training, _ = parse_recipe_as_rank(recipe, env)
        plugin, stage = training.deepspeed_plugin, zero_stage(recipe)
        assert plugin is not None and plugin.hf_ds_config.config["zero_optimization"]["stage"] == stage
        assert plugin.zero3_init_flag == (stage == 3)  # the YAML's flag, dropped for ZeRO-2
        assert training.mixed_precision == "bf16" and plugin.hf_ds_config.config["bf16"]["enabled"] is True
        world = int(env["WORLD_SIZE"])
        batch = training.per_device_train_batch_size * training.gradient_accumulation_steps * world
        assert plugin.hf_ds_config.config["train_batch_size"] == batch
        if "sft" not in recipe.name:
            assert training.generation_batch_size % training.num_generations == 0

    @pytest.mark.parametrize("config_file", ACCELERATE_YAMLS, ids=lambda p: p.stem)
    def test_a_recipe_without_deepspeed_gets_the_yamls_zero3_json(self, config_file, monkeypatch):
        monkeypatch.chdir(ROOT)  # the YAML's path is relative to the repository root, where one launches
        env = rank_environment(config_file)
        _, training, _ = parse_recipe_as_rank(SEED_RECIPE, env, "--deepspeed", "none")
        assert training.deepspeed is None
        assert training.deepspeed_plugin.hf_ds_config.config["zero_optimization"]["stage"] == 3


class TestResumableCheckpoints:
    @pytest.mark.parametrize("recipe", RECIPES_7B, ids=lambda p: p.name)
    def test_every_7b_recipe_bounds_its_checkpoints_and_can_resume_them(self, recipe):
        values = yaml.safe_load(recipe.read_text(encoding="utf-8"))
        assert isinstance(values.get("save_total_limit"), int) and values["save_total_limit"] >= 1
        if values.get("save_strategy", "steps") != "no" and values.get("deepspeed"):
            assert values.get("save_only_model", False) is False  # DeepSpeed resumes from global_step*/ only


class TestVllmPin:
    @staticmethod
    def trl_vllm_range() -> SpecifierSet:
        for requirement in importlib.metadata.requires("trl") or []:
            if requirement.startswith("vllm") and 'extra == "vllm"' in requirement:
                return SpecifierSet(requirement.split(";")[0].removeprefix("vllm").strip())
        raise AssertionError("trl declares no vllm extra")

    def test_the_vllm_extra_allows_only_versions_trl_supports_with_the_image_render_endpoint(self):
        import tomllib

        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        (requirement,) = project["project"]["optional-dependencies"]["vllm"]
        ours, trl_range = SpecifierSet(requirement.removeprefix("vllm").strip()), self.trl_vllm_range()
        probes = ["0.10.0", "0.21.0", "0.22.0", "0.29.0", "0.30.0", "0.31.0", "0.31.1", "0.32.0", "0.33.0"]
        allowed = [v for v in probes if v in ours]
        assert allowed, requirement
        # server mode sends images through /v1/chat/completions/render (--enable-scale-out, vLLM >= 0.30)
        render = Version("0.30.0")
        assert all(v in trl_range and Version(v) >= render for v in allowed), (requirement, allowed)

    @pytest.mark.parametrize("path", ["recipes/qwen2.5-vl-7b-grpo-vllm.yaml", "recipes/README.md"])
    def test_recipe_and_readme_state_the_supported_range(self, path):
        text = (ROOT / path).read_text(encoding="utf-8")
        assert "0.30" in text and "0.31" in text and "render" in text


# What the seed ran (its 2-node launch line; VLM-R1's grpo_jsonl.py on TRL 0.16 for what the line left out):
# VLM-R1 samples at temperature 1, computes a per-sequence token mean (TRL's loss_type "grpo") and divides
# advantages by the group's std + 1e-4 (scale_rewards "group"); TRL 0.16 gave beta 0.04, lr 1e-6 decayed
# linearly without warmup, 256 completion tokens. The seed's log: a kl column, lr 9.99982e-07 at step 3.
SEED_RUN = {
    "beta": 0.04, "learning_rate": 1e-6, "lr_scheduler_type": "linear", "warmup_steps": 0,
    "max_completion_length": 256, "loss_type": "grpo", "scale_rewards": "group", "temperature": 1.0,
    "epsilon": 0.2, "num_iterations": 1, "num_generations": 8, "per_device_train_batch_size": 1,
    "gradient_accumulation_steps": 1, "num_train_epochs": 2, "bf16": True, "gradient_checkpointing": True,
    "seed": 42, "data_seed": 42, "save_steps": 100, "logging_steps": 1, "freeze_vision_modules": True,
    "dtype": "bfloat16", "attn_implementation": "flash_attention_2",
}  # fmt: skip
# Kept different on purpose; the recipe's line for each key says "seed: <value>" and why.
SEED_DIFFERENCES = {"max_pixels": 12845056, "max_prompt_length": 4096, "save_only_model": True}


class TestSeedRecipe:
    @pytest.fixture(scope="class")
    @classmethod
    def parsed(cls):
        single_node = CONFIGS / "accelerate_1node_8gpu.yaml"
        script, training, model = parse_recipe_as_rank(SEED_RECIPE, rank_environment(single_node))
        from transformers.integrations.deepspeed import unset_hf_deepspeed_config

        unset_hf_deepspeed_config()
        return {**vars(model), **vars(training), **vars(script)}, training

    def test_the_recipe_runs_what_the_seed_ran(self, parsed):
        values, training = parsed
        got = {key: values[key] for key in SEED_RUN}
        got["lr_scheduler_type"] = str(getattr(got["lr_scheduler_type"], "value", got["lr_scheduler_type"]))
        assert got == SEED_RUN
        assert training.deepspeed_plugin.hf_ds_config.config["zero_optimization"]["stage"] == 3

    @pytest.mark.parametrize("key", sorted(SEED_DIFFERENCES))
    def test_each_difference_from_the_seed_is_stated_on_its_line(self, parsed, key):
        values, _ = parsed
        seed_value = SEED_DIFFERENCES[key]
        assert values[key] != seed_value, f"{key} now matches the seed: drop it from SEED_DIFFERENCES"
        lines = [x for x in SEED_RECIPE.read_text(encoding="utf-8").splitlines() if x.startswith(f"{key}:")]
        assert len(lines) == 1, f"{key} is not set in the recipe"
        comment = lines[0].partition("#")[2]
        shown = str(seed_value).lower() if isinstance(seed_value, bool) else str(seed_value)
        assert re.search(rf"\bseed\b[^#]*\b{re.escape(shown)}\b", comment), lines[0]


if sys.version_info < (3, 11):  # tomllib
    TestVllmPin = pytest.mark.skip(reason="tomllib needs Python 3.11")(TestVllmPin)
