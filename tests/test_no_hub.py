"""No Hugging Face Hub traffic the user did not ask for (issue 11, item 16).

Before the fix ``predict --model typo_dir`` asked the Hub for ``typo_dir`` and retried for 144 s before
failing, and ``train`` sent TRL's trainer telemetry to the Hub although the README promises no Hub.
A local-looking model path that does not exist is now one line (exit 2) before any network call, and
telemetry is off unless the user sets ``HF_HUB_DISABLE_TELEMETRY=0``.
"""

from __future__ import annotations

import runpy
import socket
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")
import huggingface_hub.constants as hub_constants

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.train.model import looks_local
from gui_agent_rl.train.tiny import write_tiny_dataset

pytestmark = pytest.mark.train
RECIPES = Path(__file__).resolve().parents[1] / "recipes"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@pytest.fixture
def network_calls(monkeypatch):
    """Every host this process looks up or connects to other than this machine (and each fails)."""
    calls: list[str] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and str(host) not in LOCAL_HOSTS:
            calls.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "network disabled by the test")
        return real_lookup(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL_HOSTS:
            calls.append(str(address[0]))
            raise OSError("network disabled by the test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return calls


@pytest.fixture
def fresh_telemetry_env(monkeypatch):
    """As in a new shell: no telemetry or offline variables, not CI (TRL skips telemetry on CI)."""
    for name in ("HF_HUB_DISABLE_TELEMETRY", "DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)


def one_line_error(capsys, code: int, command: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"gui-agent-rl {command}: error:"), err
    return lines[0]


class TestLocalLookingPaths:
    @pytest.mark.parametrize(
        "name", ["typo_dir", "./ckpt", "~/ckpt", "/models/x", "runs/grpo/checkpoint-5", "a/../b", "a b/c"]
    )
    def test_local(self, name):
        assert looks_local(name)

    def test_hub_ids_and_a_first_part_that_exists_here(self, tmp_path, monkeypatch):
        assert not looks_local("Qwen/Qwen2.5-VL-7B-Instruct")
        monkeypatch.chdir(tmp_path)
        (tmp_path / "runs").mkdir()
        assert looks_local("runs/typo") and not looks_local("other/typo")


class TestMissingModelIsOneLineBeforeTheHub:
    def test_predict(self, tmp_path, capsys, network_calls):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        start = time.monotonic()
        argv = ["predict", "--model", "typo_dir", "--dataset", str(data), "--output", str(tmp_path / "p")]
        code = cli_main(argv)
        assert "typo_dir: no such model folder" in one_line_error(capsys, code, "predict")
        assert network_calls == [] and time.monotonic() - start < 30

    @pytest.mark.parametrize(
        ("command", "recipe"), [("train", "tiny-cpu.yaml"), ("sft", "tiny-cpu-sft.yaml")]
    )
    def test_train_and_sft(self, tmp_path, capsys, network_calls, command, recipe):
        data = write_tiny_dataset(tmp_path / "d", n_samples=2)
        for model in ("typo_dir", str(tmp_path / "no" / "such")):
            argv = [command, "--config", str(RECIPES / recipe), "--model_name_or_path", model]
            argv += ["--data_file_paths", str(data), "--image_folders", str(data.parent)]
            code = cli_main([*argv, "--output_dir", str(tmp_path / "out")])
            assert f"{model}: no such model folder" in one_line_error(capsys, code, command)
        assert network_calls == []


class TestTelemetryOffByDefault:
    @pytest.mark.parametrize(("command", "target"), [("train", "grpo"), ("sft", "sft")])
    def test_cli_commands(self, monkeypatch, fresh_telemetry_env, command, target):
        import importlib

        seen = self._record_main(monkeypatch, importlib.import_module(f"gui_agent_rl.train.{target}"))
        assert cli_main([command]) == 0
        assert seen == [("1", True)]

    @pytest.mark.parametrize(
        ("module", "target"), [("gui_agent_rl.train", "grpo"), ("gui_agent_rl.sft", "sft")]
    )
    def test_module_entry_points(self, monkeypatch, fresh_telemetry_env, module, target):
        import importlib

        seen = self._record_main(monkeypatch, importlib.import_module(f"gui_agent_rl.train.{target}"))
        monkeypatch.setattr(sys, "argv", [module])
        monkeypatch.delitem(sys.modules, f"{module}.__main__", raising=False)
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_module(module, run_name="__main__")
        assert exit_info.value.code == 0 and seen == [("1", True)]

    def test_the_user_can_opt_in(self, monkeypatch, fresh_telemetry_env):
        import gui_agent_rl.train.grpo as grpo

        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "0")
        seen = self._record_main(monkeypatch, grpo)
        assert cli_main(["train"]) == 0
        assert seen == [("0", False)]

    @staticmethod
    def _record_main(monkeypatch, module) -> list:
        import os

        seen: list = []

        def fake_main(argv=None):
            seen.append((os.environ.get("HF_HUB_DISABLE_TELEMETRY"), hub_constants.HF_HUB_DISABLE_TELEMETRY))
            return 0

        monkeypatch.setattr(module, "main", fake_main)
        return seen

    @pytest.mark.slow
    def test_a_tiny_training_run_contacts_no_one(self, tmp_path, capsys, network_calls, fresh_telemetry_env):
        from gui_agent_rl.train.tiny import build_tiny_model

        model = build_tiny_model(tmp_path / "model")
        data = write_tiny_dataset(tmp_path / "d", n_samples=2)
        argv = ["train", "--config", str(RECIPES / "tiny-cpu.yaml"), "--model_name_or_path", str(model)]
        argv += ["--data_file_paths", str(data), "--image_folders", str(data.parent), "--max_steps", "1"]
        assert cli_main([*argv, "--output_dir", str(tmp_path / "out")]) == 0
        time.sleep(0.5)  # the telemetry thread
        assert network_calls == []
