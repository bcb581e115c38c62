"""Shared test settings: hypothesis without wall-clock deadlines (CI machines are busy 2-core boxes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


# --- dataset builder fixtures (tests/test_build.py, test_cli_data.py, test_stats.py) ---------------
WAIT = {"action_type": "wait", "action_parameter": {"wait": ""}, "action_description": "等待"}


class CorpusMaker:
    """Writes SPEC §2 task folders under ``root``: small real images and step files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def image(self, task: str, name: str, size: tuple[int, int] = (60, 120), fmt: str = "JPEG") -> Path:
        from PIL import Image

        path = self.root / task / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (200, 220, 240)).save(path, fmt)
        return path

    def step(self, task: str, n: int, output: dict | None = None, raw: bytes | None = None, **inp) -> Path:
        """A step whose screens default to ``<task>_<n>.jpg`` (created when missing) and action to wait."""
        path = self.root / task / f"step_{n}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            path.write_bytes(raw)
            return path
        record_input = {"task_content": "打开设置", "screen_path1": "", "screen_path2": f"{task}_{n}.jpg"}
        record_input.update(inp)
        for key in ("screen_path1", "screen_path2"):
            name = record_input.get(key)
            if name and "/" not in name and not (self.root / task / name).exists():
                self.image(task, name)
        record = {"input": record_input, "output": output or WAIT}
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return path


@pytest.fixture
def corpus(tmp_path: Path) -> CorpusMaker:
    return CorpusMaker(tmp_path / "corpus")
