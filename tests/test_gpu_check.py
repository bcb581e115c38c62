"""``make gpu-check``: the CPU form passes, and each problem it looks for is reported."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from gui_agent_rl.train import gpu_check


def _trainer(losses: list[float], stage: int | None = 3) -> SimpleNamespace:
    plugin = SimpleNamespace(zero_stage=stage)
    return SimpleNamespace(
        state=SimpleNamespace(log_history=[{"loss": x} for x in losses]),
        accelerator=SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=plugin)),
        is_deepspeed_enabled=stage is not None,
    )


def _probe(hooks: list[int], tower_grad_outputs: int = 0) -> gpu_check.Probe:
    probe = gpu_check.Probe("cpu")
    probe.rows = [{"step": i + 1, "seconds": 0.1, "peak_mib": 1.0, "hooks": h} for i, h in enumerate(hooks)]
    probe.tower_grad_outputs = tower_grad_outputs
    return probe


def test_a_clean_run_has_no_problems():
    assert gpu_check.problems(_probe([2, 2, 2]), _trainer([0.1, 0.2]), "cpu") == []


@pytest.mark.parametrize(
    ("probe", "trainer", "expected"),
    [
        (_probe([6, 10, 14]), _trainer([0.1]), "hooks grew over the steps: [6, 10, 14]"),
        (_probe([2, 2], tower_grad_outputs=3), _trainer([0.1]), "required grad in 3 forwards"),
        (_probe([2, 2]), _trainer([0.1, float("nan")]), "loss not finite"),
        (_probe([2, 2]), _trainer([]), "never logged"),
        (_probe([2, 2]), _trainer([0.1], stage=2), "ZeRO-3 is not active (stage 2)"),
        (_probe([2, 2]), _trainer([0.1], stage=None), "ZeRO-3 is not active (stage None)"),
    ],
)
def test_each_problem_is_named(probe, trainer, expected):
    found = gpu_check.problems(probe, trainer, "cpu")
    assert len(found) == 1 and expected in found[0], found


def test_steps_below_two_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main(["--steps", "1"])
    assert exit_info.value.code == 2
    assert "--steps must be at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_cpu_form_passes(tmp_path):
    """Tiny model, ZeRO-3 on one rank over gloo, gradient checkpointing, frozen tower, reference model:
    the hook count stays put and the tower's output never requires grad."""
    done = subprocess.run(
        [sys.executable, "-m", "gui_agent_rl.train.gpu_check", "--device", "cpu", "--steps", "3",
         "--keep", str(tmp_path / "work")],
        check=False, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "gpu-check: OK" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if line[:4].strip().isdigit()]
    assert len(rows) == 3 and len({r[3] for r in rows}) == 1, done.stdout
