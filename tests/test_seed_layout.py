"""``build --layout seed`` writes the seed builder's bytes, so a model trained on its data sees the same text.

Two references: :func:`seed_generate_jsonl_dataset`, the seed's builder (``x05生成训练数据集代码.py`` in the
seed's notes, section 3) copied statement for statement, only its hard-coded paths made parameters; and
``data/seed_dataset_line.jsonl``, the dataset line the seed's notes print (its ``ui_doctor_dataset.jsonl``,
id 1). That line has ``"<image>"`` where each screenshot name was, which the builder code as printed does
not do: the one marked addition below does it (the toolkit's markers; VLM-R1 drops them at training time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.layout import check_layout

SEED_LINE = Path(__file__).parent / "data" / "seed_dataset_line.jsonl"
README = Path(__file__).resolve().parents[1] / "README.md"
TOOLKIT_KEYS = ("image_sizes", "task_id", "step", "think", "accu_reward_method", "output_format")


def seed_generate_jsonl_dataset(base_path: str, prompt_file: str, output_file: str) -> None:
    """The seed's ``generate_jsonl_dataset()``; its paths were 'prompt2.txt', a corpus, a fixed output."""
    # 1. 读取prompt2.txt里的文件内容
    with open(prompt_file, "r", encoding="utf-8") as f:  # noqa: UP015
        prefix_str = f.read().strip()
    # 获取所有子目录并按数字排序
    subdirs = [d for d in os.listdir(base_path) if os.path.isdir(os.path.join(base_path, d))]
    # 过滤出纯数字的子目录并按数字大小排序
    numeric_subdirs = sorted([d for d in subdirs if d.isdigit()], key=lambda x: int(x))  # noqa: PLW0108
    sample_id = 1
    with open(output_file, "w", encoding="utf-8") as out_f:
        # 遍历每个子目录(已排序)
        for dir_name in numeric_subdirs:
            dir_path = os.path.join(base_path, dir_name)
            # 获取当前目录下的所有step_*.json文件并按数字排序
            json_files = sorted(
                [f for f in os.listdir(dir_path) if f.startswith("step_") and f.endswith(".json")],
                key=lambda x: int(x.split("_")[1].split(".")[0]),
            )
            # 遍历排序后的json文件
            for file_name in json_files:
                json_path = os.path.join(dir_path, file_name)
                # 读取json文件
                with open(json_path, "r", encoding="utf-8") as json_f:  # noqa: UP015
                    data = json.load(json_f)
                # 处理input和output字段
                input_data = data["input"]
                output_data = data["output"]
                # 收集图片路径
                image_paths = []
                # 处理screen_path1
                if "screen_path1" in input_data and input_data["screen_path1"]:  # noqa: RUF019
                    img_path = os.path.join(dir_name, input_data["screen_path1"])
                    image_paths.append(img_path)
                # 处理screen_path2
                if "screen_path2" in input_data and input_data["screen_path2"]:  # noqa: RUF019
                    img_path = os.path.join(dir_name, input_data["screen_path2"])
                    image_paths.append(img_path)
                # --- added: "<image>" for each screenshot name, as the seed's dataset line shows ---
                for key in ("screen_path1", "screen_path2"):
                    if input_data.get(key):
                        input_data[key] = "<image>"
                # 构建conversations
                conversations = [
                    {"from": "human", "value": prefix_str + json.dumps(input_data, ensure_ascii=False)},
                    {"from": "gpt", "value": json.dumps(output_data, ensure_ascii=False)},
                ]
                # 构建最终样本
                sample = {"id": sample_id, "image": image_paths, "conversations": conversations}
                # 写入jsonl文件
                out_f.write(json.dumps(sample, ensure_ascii=False) + "\n")
                sample_id += 1
    print(f"数据集已生成,共{sample_id - 1}个样本,保存到{output_file}")


def write_step(root: Path, task: str, n: int, record: dict) -> None:
    path = root / task / f"step_{n}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")


def step_input(task: str, screens: tuple[str, str], **extra) -> dict:
    return {"task_content": "打开设置", "task_path": {"1": "打开APP"}, "screen_path1": screens[0],
            "screen_path2": screens[1], "history_path_all": [], "app_name": "设置", **extra}  # fmt: skip


@pytest.fixture
def seed_corpus(corpus) -> Path:
    """Tasks 7 and 10 (numeric, not text order), steps 2 and 10, every kind of text a JSON string escapes."""
    for task, n in (("7", 0), ("7", 1), ("10", 2), ("10", 3)):
        corpus.image(task, f"{task}_{n}.jpg")
    tricky = 'say "hi" \\ back\nslash\ttab \u2028 😀 <b>&'
    write_step(
        corpus.root,
        "7",
        0,
        {
            "input": step_input("7", ("", "7_0.jpg")),
            "output": {
                "action_type": "open_app",
                "action_parameter": {"open_app": "设置"},
                "action_description": "打开",
            },
        },
    )
    write_step(
        corpus.root,
        "7",
        1,
        {
            "input": step_input("7", ("7_0.jpg", "7_1.jpg"), task_content=tricky),
            "output": {"action_parameter": {"click": "1, 2, 30, 40"}, "action_type": "click"},
        },
    )
    write_step(
        corpus.root,
        "10",
        10,
        {
            "input": step_input("10", ("", ""), score=1e-07, big=1e16),
            "output": {
                "action_type": "type",
                "action_parameter": {"type": "无锡"},
                "action_description": "入",
            },
        },
    )
    write_step(
        corpus.root,
        "10",
        2,
        {
            "input": {"screen_path2": "10_3.jpg", "screen_path1": "10_2.jpg", "task_content": "返回"},
            "output": {"action_type": "back", "action_parameter": {"back": ""}},
        },
    )
    return corpus.root  # fmt: skip


@pytest.fixture
def prompt_file(tmp_path) -> Path:
    path = tmp_path / "prompt2.txt"
    path.write_text("\n  # 角色\n你是手机助手。\n输出动作 JSON:\n\n", encoding="utf-8")
    return path


def lines(path: Path) -> list[bytes]:
    """The file's lines as bytes (split at newline only: a raw U+2028 inside a line is no break)."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def assert_seed_lines_lead(ours: list[bytes], seed: list[bytes]) -> None:
    """Each of our lines is the seed's line byte for byte, its closing brace replaced by our keys."""
    assert len(ours) == len(seed) > 0
    for mine, theirs in zip(ours, seed, strict=True):
        assert mine.startswith(theirs[:-1]) and mine[len(theirs) - 1 :].startswith(b', "image_sizes": ')
        extra = json.loads(mine)
        assert [k for k in extra if k not in ("id", "image", "conversations")] == [
            k for k in TOOLKIT_KEYS if k in extra
        ]
        assert {k: v for k, v in extra.items() if k not in TOOLKIT_KEYS} == json.loads(theirs)


class TestSeedLayout:
    def test_lines_are_the_seed_builders_bytes_then_ours(self, seed_corpus, prompt_file, tmp_path):
        seed_out, ours_out = tmp_path / "seed.jsonl", tmp_path / "ours.jsonl"
        seed_generate_jsonl_dataset(str(seed_corpus), str(prompt_file), str(seed_out))
        prompt = prompt_file.read_text(encoding="utf-8")
        summary = build_dataset(seed_corpus, ours_out, prompt=prompt, layout="seed", reward_method="iou")
        assert summary.kept == 4 and not summary.rejected
        ours = lines(ours_out)
        assert_seed_lines_lead(ours, lines(seed_out))
        assert ours[0].endswith(b', "accu_reward_method": "iou", "output_format": "answer"}')

    def test_worker_processes_write_the_same_bytes(self, seed_corpus, prompt_file, tmp_path):
        prompt = prompt_file.read_text(encoding="utf-8")
        one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
        build_dataset(seed_corpus, one, prompt=prompt, layout="seed")
        build_dataset(seed_corpus, two, prompt=prompt, layout="seed", workers=2)
        assert one.read_bytes() == two.read_bytes()

    def test_the_compact_layout_shifts_the_text(self, seed_corpus, prompt_file, tmp_path):
        seed_out, compact_out = tmp_path / "seed.jsonl", tmp_path / "compact.jsonl"
        seed_generate_jsonl_dataset(str(seed_corpus), str(prompt_file), str(seed_out))
        build_dataset(seed_corpus, compact_out, prompt=prompt_file.read_text(encoding="utf-8"))
        seed_human = json.loads(lines(seed_out)[0])["conversations"][0]
        compact_human = json.loads(lines(compact_out)[0])["conversations"][0]
        assert compact_human["value"] != seed_human["value"]  # the issue: unstripped prefix, compact JSON

    def test_the_seeds_printed_dataset_line_is_reproduced(self, corpus, tmp_path, capsys):
        (seed_line,) = lines(SEED_LINE)
        sample = json.loads(seed_line)
        human, gpt = (turn["value"] for turn in sample["conversations"])
        start = human.rfind('{"task_content"')
        step = json.loads(human[start:])
        step["screen_path1"], step["screen_path2"] = (p.split("/")[1] for p in sample["image"])
        for name in (step["screen_path1"], step["screen_path2"]):
            corpus.image("43688", name)
        write_step(corpus.root, "43688", 3, {"input": step, "output": json.loads(gpt)})
        prompt = tmp_path / "prompt2.txt"
        prompt.write_text(human[:start] + "\n", encoding="utf-8")
        out = tmp_path / "ours.jsonl"
        argv = ["build", str(corpus.root), "--prompt", str(prompt), "--layout", "seed", "-o", str(out)]
        assert cli_main(argv) == 0
        assert_seed_lines_lead(lines(out), [seed_line])


class TestLayoutOption:
    def test_unknown_layout_is_refused(self, corpus, tmp_path):
        with pytest.raises(ValueError, match="expected one of compact, seed"):
            build_dataset(corpus.root, tmp_path / "x.jsonl", prompt="p", layout="bogus")
        with pytest.raises(ValueError):
            check_layout("Seed")

    def test_build_help_and_readme_describe_the_seed_layout(self, capsys):
        with pytest.raises(SystemExit):
            cli_main(["build", "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--layout {compact,seed}" in text and ".strip()ped" in text and "ensure_ascii=False" in text
        assert "--layout seed" in README.read_text(encoding="utf-8")
