"""The builder's JSONL goes through VLM-R1's ``grpo_jsonl.py`` loading steps unchanged.

The steps below restate what that script does with each line (json.loads; ``image`` str or list joined
onto the image folder as ``image_path``; ``problem`` = human text without ``<image>``; ``solution`` =
gpt text without answer tags; ``accu_reward_method`` from the line or the default; then one Arrow table
via ``datasets.Dataset.from_list``), so a change that breaks it fails here, not on a GPU cluster.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
from gui_agent_rl.schemas import parse_action

datasets = pytest.importorskip("datasets")

EXAMPLES = Path(__file__).parent.parent / "examples"


def vlm_r1_rows(data_file: Path, image_folder: Path) -> list[dict]:
    rows = []
    for line in data_file.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if "image" in item:
            images = [item["image"]] if isinstance(item["image"], str) else item["image"]
            item["image_path"] = [os.path.join(image_folder, p) for p in images]
            del item["image"]
        item["problem"] = item["conversations"][0]["value"].replace("<image>", "")
        item["solution"] = item["conversations"][1]["value"].replace("<answer>", "").replace("</answer>", "")
        item["solution"] = item["solution"].strip()
        del item["conversations"]
        item["accu_reward_method"] = item.get("accu_reward_method", "default")
        rows.append(item)
    return rows


@pytest.mark.parametrize("think", [False, True])
def test_built_dataset_loads_as_one_arrow_table_with_existing_images(tmp_path, think):
    out = tmp_path / "data.jsonl"
    build_dataset(EXAMPLES / "corpus", out, prompt=load_prompt(think=think), reward_method="iou")
    rows = vlm_r1_rows(out, EXAMPLES / "corpus")
    table = datasets.Dataset.from_list(rows)
    assert table.num_rows == len(rows) == 30
    assert {"image_path", "problem", "solution", "accu_reward_method", "image_sizes"} <= set(
        table.column_names
    )
    for row in table:
        assert row["image_path"] and all(os.path.isfile(p) for p in row["image_path"])
        assert "<image>" not in row["problem"]
        assert row["accu_reward_method"] == "iou"
        parse_action(row["solution"])


def test_the_shipped_example_dataset_loads_the_same_way():
    rows = vlm_r1_rows(EXAMPLES / "corpus.jsonl", EXAMPLES / "corpus")
    assert datasets.Dataset.from_list(rows).num_rows == len(rows) == 30
