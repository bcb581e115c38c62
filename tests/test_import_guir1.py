"""``gui-agent-rl import gui-r1``: parquet rows with image bytes (layout inferred from GUI-R1's code)."""

from __future__ import annotations

import pytest
from test_import_fixtures import png, report_lines, step_files

from gui_agent_rl.importers import import_corpus

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")


def test_rows_become_one_step_tasks(tmp_path):
    image = png(200, 400)
    rows = [
        {
            "id": "1",
            "image": {"bytes": image},
            "instruction": "tap ok",
            "gt_action": "click",
            "gt_bbox": [10, 20, 50, 60],
            "gt_input_text": "",
        },
        {
            "id": "2",
            "image": {"bytes": image},
            "instruction": "tap here",
            "gt_action": "click",
            "gt_bbox": [100, 300],
            "gt_input_text": "",
        },
        {
            "id": "3",
            "image": {"bytes": image},
            "instruction": "scroll",
            "gt_action": "scroll",
            "gt_bbox": [],
            "gt_input_text": "down",
        },
        {
            "id": "4",
            "image": {"bytes": image},
            "instruction": "search",
            "gt_action": "type",
            "gt_bbox": [],
            "gt_input_text": "cats",
        },
        {
            "id": "5",
            "image": {"bytes": image},
            "instruction": "back",
            "gt_action": "press_back",
            "gt_bbox": [],
            "gt_input_text": "",
        },
        {
            "id": "6",
            "image": {"bytes": b"nope"},
            "instruction": "x",
            "gt_action": "click",
            "gt_bbox": [1, 1],
            "gt_input_text": "",
        },
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    import_corpus("gui-r1", tmp_path / "train.parquet", tmp_path / "out")
    steps = step_files(tmp_path / "out")
    got = {
        k: (v["output"]["action_type"], v["output"]["action_parameter"][v["output"]["action_type"]])
        for k, v in steps.items()
    }
    assert got == {
        "1/step_0": ("click", "10,20,50,60"),
        "2/step_0": ("click", "100,300"),
        "3/step_0": ("swipe", "down"),
        "4/step_0": ("type", "cats"),
        "5/step_0": ("back", ""),
    }
    assert steps["1/step_0"]["meta"]["tap_point"] == [30, 40]
    assert any(r["episode_id"] == "6" and "PNG/JPEG" in r["reason"] for r in report_lines(tmp_path / "out"))
