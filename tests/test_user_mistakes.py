"""A user's own mistake is one line on stderr and exit code 2, never a traceback (issue 11).

Each case is one command line of the issue's list, run through ``gui_agent_rl.cli.main`` with the
process's stderr captured at the file-descriptor level; an exception escaping ``main`` is the
traceback the user would have seen.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from gui_agent_rl.cli import main

WAIT = {"action_type": "wait", "action_parameter": {"wait": ""}}


def sample_line(sid: int, images: list[str], sizes: list[list[int]] | None) -> dict:
    return {
        "id": sid,
        "image": images,
        "conversations": [
            {"from": "human", "value": "<image>" * len(images) + "打开设置"},
            {"from": "gpt", "value": json.dumps(WAIT)},
        ],
        **({"image_sizes": sizes} if sizes is not None else {}),
    }


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def huge_png(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width x height`` (a decompression bomb), a few bytes on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


class World:
    """A dataset with one real screenshot under ``tmp/data/``, its predictions, and helpers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "data").mkdir()
        Image.new("RGB", (56, 112), "white").save(tmp / "data" / "a.png")
        self.data = write_jsonl(tmp / "data.jsonl", [sample_line(1, ["a.png"], [[56, 112]])])
        answer = f"<answer>{json.dumps(WAIT)}</answer>"  # the frame recorded as `predict` records it
        self.pred = write_jsonl(
            tmp / "pred.jsonl", [{"id": 1, "completion": answer, "min_pixels": 3136, "max_pixels": 12845056}]
        )

    def dataset_with_sizes(self, sizes: list[list[int]]) -> str:
        return str(write_jsonl(self.tmp / "data" / "sized.jsonl", [sample_line(1, ["a.png"], sizes)]))

    def bomb_dataset(self) -> str:
        huge_png(self.tmp / "data" / "bomb.png", 30000, 30000)
        return str(
            write_jsonl(self.tmp / "data" / "bomb.jsonl", [sample_line(1, ["bomb.png"], [[30000, 30000]])])
        )

    def file(self, name: str, text: str) -> str:
        (self.tmp / name).write_text(text, encoding="utf-8")
        return str(self.tmp / name)

    def folder(self, name: str) -> str:
        (self.tmp / name).mkdir()
        return str(self.tmp / name)

    def viz(self, data: str | Path, *extra: str) -> list[str]:
        return [
            "viz",
            "--dataset",
            str(data),
            "--predictions",
            str(self.pred),
            "--output",
            str(self.tmp / "pics"),
            *extra,
        ]

    def eval(self, *extra: str) -> list[str]:
        return ["eval", "--dataset", str(self.data), "--predictions", str(self.pred), *extra]

    def train(self, config: str, *extra: str) -> list[str]:
        return ["train", "--config", config, "--output_dir", str(self.tmp / "run"), *extra]


TRAIN_RECIPE = """\
model_name_or_path: {tmp}/no-model
data_file_paths: [{tmp}/no-data.jsonl]
use_cpu: true
bf16: false
report_to: none
"""

#: (id, argv from a World); each is one command line of issue 11's traceback list
CASES: list[tuple[str, Callable[[World], list[str]]]] = [
    ("stats --tokenizer EMPTY_DIR", lambda w: ["stats", str(w.data), "--tokenizer", w.folder("empty")]),
    ("stats image_sizes [[0,0]]", lambda w: ["stats", w.dataset_with_sizes([[0, 0]])]),
    ("stats image_sizes negative", lambda w: ["stats", w.dataset_with_sizes([[-56, 112]])]),
    ("stats image_sizes aspect > 200", lambda w: ["stats", w.dataset_with_sizes([[30000, 100]])]),
    (
        "predict --api-base notaurl",
        lambda w: [
            "predict",
            "--model",
            "m",
            "--dataset",
            str(w.data),
            "--output",
            str(w.tmp / "p.jsonl"),
            "--api-base",
            "notaurl",
        ],
    ),
    ("viz --height 1", lambda w: w.viz(w.data, "--height", "1")),
    ("viz decompression bomb", lambda w: w.viz(w.bomb_dataset())),
    ("eval --compare list", lambda w: w.eval("--compare", w.file("m.json", "[1, 2]"))),
    (
        "eval --compare rate not a number",
        lambda w: w.eval("--compare", w.file("m.json", '{"count": 1, "step_success": "high"}')),
    ),
    (
        "eval --compare rewards a list",
        lambda w: w.eval("--compare", w.file("m.json", '{"count": 1, "rewards": [1]}')),
    ),
    (
        "train --config YAML syntax error",
        lambda w: w.train(w.file("bad.yaml", "learning_rate: [1e-4\nseed: 1\n")),
    ),
    (
        "train --config !!python/object",
        lambda w: w.train(w.file("evil.yaml", "seed: !!python/object/apply:os.getcwd []\n")),
    ),
    (
        "train --learning_rate nan",
        lambda w: w.train(w.file("ok.yaml", TRAIN_RECIPE.format(tmp=w.tmp)), "--learning_rate", "nan"),
    ),
    (
        "score --rewards os:getcwd",
        lambda w: ["score", "--dataset", str(w.data), "--predictions", str(w.pred), "--rewards", "os:getcwd"],
    ),
    ("eval --rewards os:getcwd", lambda w: w.eval("--rewards", "os:getcwd")),
]

#: what the one line must name, beyond "error:"
MUST_SAY = {
    "stats --tokenizer EMPTY_DIR": "tokenizer",
    "stats image_sizes [[0,0]]": "image_sizes",
    "stats image_sizes negative": "image_sizes",
    "stats image_sizes aspect > 200": "aspect",
    "predict --api-base notaurl": "--api-base",
    "viz --height 1": "--height",
    "viz decompression bomb": "bomb.png",
    "train --config YAML syntax error": "bad.yaml",
    "train --config !!python/object": "evil.yaml",
    "train --learning_rate nan": "learning_rate",
    "score --rewards os:getcwd": "os:getcwd",
    "eval --rewards os:getcwd": "os:getcwd",
}


def run_cli(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``(exit code, stderr)``; an exception escaping main fails the test as the traceback it is."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # the point of the test: nothing may escape
        pytest.fail(f"Traceback: {type(exc).__name__}: {exc}")
    return code, capfd.readouterr().err


@pytest.mark.parametrize("name, argv", CASES, ids=[c[0] for c in CASES])
def test_user_mistake_is_one_line_and_exit_2(
    name: str, argv: Callable[[World], list[str]], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    world = World(tmp_path)
    code, err = run_cli(argv(world), capfd)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert "error:" in lines[0]
    assert MUST_SAY.get(name, "") in lines[0]


def test_a_decompression_bomb_warning_is_an_error_too(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between Pillow's limit and twice it Pillow only warns, and then decodes it all: refuse it too."""
    world = World(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 56 * 112 - 100)  # a.png is just over the limit
    code, err = run_cli(world.viz(world.data), capfd)
    assert code == 2, err
    assert "a.png" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("spec", ["datetime:date", "json:dumps", "no_such_module_xyz:f"])
def test_a_reward_spec_that_is_no_reward_is_one_line(
    spec: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A class that needs arguments, a function of other arguments, a missing module."""
    world = World(tmp_path)
    argv = ["score", "--dataset", str(world.data), "--predictions", str(world.pred), "--rewards", spec]
    code, err = run_cli(argv, capfd)
    assert code == 2 and len(err.strip().splitlines()) == 1 and spec in err, err


#: cases run as a real process too: there stderr also shows log records and Python warnings
IN_A_PROCESS = ["viz decompression bomb", "score --rewards os:getcwd", "eval --compare rewards a list"]


@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_one_line_in_a_real_process(name: str, tmp_path: Path) -> None:
    argv = dict(CASES)[name](World(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "gui_agent_rl", *argv],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_trl_style_user_reward_runs_in_eval_and_score(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reward(completions, **kwargs)`` (TRL's documented form) passes the check and is called by keyword."""
    (tmp_path / "trl_style_rewards.py").write_text(
        "def length(completions, **kwargs):\n    return [0.5 for _ in completions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    world = World(tmp_path)
    code, err = run_cli(world.eval("--rewards", "format,trl_style_rewards:length"), capfd)
    assert code == 0, err
    score = [
        "score",
        "--dataset",
        str(world.data),
        "--predictions",
        str(world.pred),
        "--rewards",
        "trl_style_rewards:length",
    ]
    code, err = run_cli(score, capfd)
    assert code == 0, err
