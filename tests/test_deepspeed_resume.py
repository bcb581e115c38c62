"""Resuming under DeepSpeed needs the checkpoint's ``global_step*`` folder, which ``save_only_model`` never
writes: transformers' ``deepspeed_load_checkpoint`` then fails with "Can't find a valid checkpoint", after the
model has loaded on every rank. The run must stop before that, with one line saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("deepspeed")

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.train import model as model_lib
from gui_agent_rl.train.config import ConfigError, parse_train_args
from gui_agent_rl.train.grpo import prepare_run
from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset

pytestmark = pytest.mark.train
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu.yaml"


@pytest.fixture(autouse=True)
def _forget_deepspeed_config():
    """Parsing with --deepspeed registers a process-wide DeepSpeed config read by from_pretrained: drop it."""
    yield
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    return build_tiny_model(root / "model"), write_tiny_dataset(root / "data", n_samples=2)


def model_only_checkpoint(out: Path, step: int = 2) -> Path:
    """What ``save_only_model: true`` leaves in a checkpoint: weights and trainer state, no global_step*."""
    folder = out / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "trainer_state.json").write_text(f'{{"global_step": {step}}}')
    return folder


def train_argv(tiny, out: Path, *overrides: str) -> list[str]:
    model, data = tiny
    return [
        "--config", str(RECIPE), "--model_name_or_path", str(model), "--data_file_paths", str(data),
        "--image_folders", str(data.parent), "--output_dir", str(out), *overrides,
    ]  # fmt: skip


class TestResumeUnderDeepSpeed:
    def test_checkpoint_without_deepspeed_state_stops_before_the_model_loads(
        self, tiny, tmp_path, monkeypatch, capsys
    ):
        folder = model_only_checkpoint(tmp_path / "out")

        def no_load(*args, **kwargs):
            raise AssertionError("the model was loaded before the resume check")

        monkeypatch.setattr(model_lib, "load_model", no_load)
        argv = train_argv(tiny, tmp_path / "out", "--deepspeed", "zero2", "--resume_from_checkpoint", "true")
        assert cli_main(["train", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert str(folder) in err and "global_step" in err and "save_only_model" in err

    def test_an_explicit_checkpoint_path_is_checked_too(self, tiny, tmp_path):
        folder = model_only_checkpoint(tmp_path / "out", step=7)
        resume = ["--resume_from_checkpoint", str(folder)]
        argv = train_argv(tiny, tmp_path / "out", "--deepspeed", "zero2", *resume)
        with pytest.raises(ConfigError, match="global_step"):
            prepare_run(*parse_train_args(argv))

    def test_checkpoint_with_deepspeed_state_passes(self, tiny, tmp_path):
        folder = model_only_checkpoint(tmp_path / "out")
        (folder / "global_step2").mkdir()
        argv = train_argv(tiny, tmp_path / "out", "--deepspeed", "zero2", "--resume_from_checkpoint", "true")
        script, training, model_args = parse_train_args(argv)
        prepare_run(script, training, model_args)
        assert training.resume_from_checkpoint is True

    def test_without_deepspeed_a_model_only_checkpoint_still_resumes(self, tiny, tmp_path):
        model_only_checkpoint(tmp_path / "out")
        argv = train_argv(tiny, tmp_path / "out", "--deepspeed", "none", "--resume_from_checkpoint", "true")
        script, training, model_args = parse_train_args(argv)
        prepare_run(script, training, model_args)
        assert training.resume_from_checkpoint is True


def run_module(tmp_path: Path, argv: list[str]) -> tuple[int, str]:
    """``python -m gui_agent_rl.train`` as one DeepSpeed rank on CPU, in a process of its own."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ, "PYTHONPATH": os.pathsep.join([str(root / "tests"), str(root)]),
        "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
        "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "gui_agent_rl.train", *argv],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    return result.returncode, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("save_only_model", ["true", "false"])
def test_a_checkpoint_the_trainer_wrote_under_deepspeed_resumes_only_with_its_deepspeed_state(
    tiny, tmp_path, save_only_model
):
    out = tmp_path / "out"
    common = ["--deepspeed", "zero2", "--save_strategy", "steps", "--save_steps", "1",
              "--save_only_model", save_only_model, "--reward_funcs", "format", "accuracy",
              "test_grpo_cpu:varied_reward", "--reward_weights", "1", "1", "1"]  # fmt: skip
    code, err = run_module(tmp_path, [*train_argv(tiny, out, *common), "--max_steps", "1"])
    assert code == 0, err[-3000:]
    assert any((out / "checkpoint-1").glob("global_step*")) == (save_only_model == "false")

    resume = [*train_argv(tiny, out, *common), "--max_steps", "2", "--resume_from_checkpoint", "true"]
    code, err = run_module(tmp_path, resume)
    if save_only_model == "true":  # without the check: "Can't find a valid checkpoint" after the model loaded
        assert code == 2 and "global_step" in err.strip().splitlines()[-1], err[-3000:]
        assert "Traceback" not in err
    else:
        assert code == 0, err[-3000:]
