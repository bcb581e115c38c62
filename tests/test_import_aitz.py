"""``gui-agent-rl import aitz`` on an invented AITZ episode written in the IMNearth/CoAT data-example
layout (see tests/fixtures/import/README.md) with blank 270x600 screenshots: pixels from normalised
(y, x), elements in screenshot pixels, CoAT fields as the think block, string-encoded values, the report."""

from __future__ import annotations

import json
import shutil

import pytest
from test_import_fixtures import FIXTURES, png, report_lines, step_files

from gui_agent_rl.importers import import_corpus

NAME = "GOOGLE_APPS-1000000000000000001"
TASK = "1000000000000000001"


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "aitz" / NAME
    shutil.copytree(FIXTURES / "aitz" / NAME, folder)
    for k in range(4):
        (folder / f"{NAME}_{k}.png").write_bytes(png(270, 600))
    return tmp_path / "aitz"


def _out(steps, n):
    o = steps[f"{TASK}/step_{n}"]["output"]
    return o["action_type"], o["action_parameter"][o["action_type"]]


def test_episode_actions(source, tmp_path):
    import_corpus("aitz", source, tmp_path / "out")
    steps = step_files(tmp_path / "out")
    assert _out(steps, 0) == ("home", "")
    # touch (y .0137, x .4652) -> (125.6, 8.2) = (126, 8); lift (y .6318, x .4874) -> (131.6, 379.1)
    # = (132, 379) on 270x600: a swipe down from the status bar
    assert _out(steps, 1) == ("swipe", "126,8,132,379")
    # a tap (moved 0.0021 <= 0.04) at (194.6, 204.7) = (195, 205), right of the "Off" label (x 182..192)
    # and below "Flashlight" (y 193..199): none of the 42 ui_positions contains it, so the point
    assert _out(steps, 2) == ("click", "195,205")
    assert _out(steps, 3) == ("task_completed", "task complete")
    meta = steps[f"{TASK}/step_2"]["meta"]
    assert meta["screen_size"] == [270, 600] and len(meta["elements"]) == 42
    assert meta["tap_point"] == [195, 205]
    assert meta["elements"][0] == [221, 12, 230, 26]  # [y 12, x 221, h 14, w 9] -> x1, y1, x2, y2
    assert steps[f"{TASK}/step_1"]["meta"]["lift_point"] == [132, 379]


def test_coat_fields_become_the_think_block_and_history(source, tmp_path):
    import_corpus("aitz", source, tmp_path / "out")
    step = step_files(tmp_path / "out")[f"{TASK}/step_2"]
    think = step["think"]
    assert think["task_interpretation"] == "turn on the flashlight"
    assert think["current_page_audit"].startswith("This is a screenshot of the quick settings panel")
    assert think["path_alignment_check"].startswith("The Flashlight tile is visible")
    desc = "click on the Flashlight tile at the middle right of the panel."
    assert think["action_validation"] == (
        f"{desc}. By doing so, the flashlight is switched on and its tile now reads On, "
        "which is what the task asks for."
    )
    history = ["press the home button", "swipe down from the top of the screen"]
    assert step["input"]["history_path_all"] == history
    assert step["output"]["action_description"] == desc
    assert step["input"]["screen_path1"] == f"{TASK}_1.png"


def test_string_encoded_values_read_the_same(source, tmp_path):
    path = source / NAME / f"{NAME}.json"
    steps = json.loads(path.read_text())
    for s in steps:
        for key in ("episode_length", "step_id", "result_action_type"):
            s[key] = str(s[key])
    path.write_text(json.dumps(steps))
    import_corpus("aitz", source, tmp_path / "out")
    assert _out(step_files(tmp_path / "out"), 1) == ("swipe", "126,8,132,379")


def test_missing_screenshot_and_broken_file_are_reported(source, tmp_path):
    (source / NAME / f"{NAME}_3.png").unlink()
    (source / "GENERAL-1").mkdir()
    (source / "GENERAL-1" / "GENERAL-1.json").write_text("[{not json")
    root = tmp_path / "out"
    import_corpus("aitz", source, root)
    lines = report_lines(root)
    assert any(r["step_index"] == 3 and "not found" in r["reason"] for r in lines)
    assert any(r["source"].endswith("GENERAL-1.json") and "cannot read" in r["reason"] for r in lines)
    summary = json.loads((root / "import.summary.json").read_text())
    assert summary["steps_written"] == 3 and summary["episode_lengths"] == {TASK: 4}
