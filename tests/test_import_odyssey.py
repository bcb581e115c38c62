"""``gui-agent-rl import gui-odyssey``: 0-1000 coordinates on each screenshot's own size, keys,
sam2 boxes, scrolls by endpoints, the report."""

from __future__ import annotations

import json

import pytest
from test_import_fixtures import png, report_lines, step_files

from gui_agent_rl.cli import main
from gui_agent_rl.importers import import_corpus

BIG, SMALL = (200, 400), (100, 300)
STEPS = [  # (action, info, screenshot size, extra keys)
    ("CLICK", [[500, 250]], BIG, {"sam2_bbox": [400, 200, 600, 300]}),
    ("CLICK", [[100, 900]], SMALL, {}),
    ("LONG_PRESS", [[500, 500]], BIG, {}),
    ("SCROLL", [[500, 800], [500, 200]], BIG, {}),
    ("TEXT", "hello", BIG, {"low_level_instruction": "Type hello"}),
    ("CLICK", "KEY_HOME", BIG, {}),
    ("CLICK", "KEY_BACK", BIG, {}),
    ("CLICK", "KEY_APPSELECT", BIG, {}),
    ("COMPLETE", "", BIG, {"ps": ""}),
    ("INCOMPLETE", "", BIG, {"ps": "the app needs a login"}),
    ("DRAG", [[1, 2]], BIG, {}),
    ("CLICK", [[1, 2]], None, {}),  # its screenshot is missing
]


@pytest.fixture
def source(tmp_path):
    shots, notes = tmp_path / "screenshots", tmp_path / "annotations"
    shots.mkdir()
    notes.mkdir()
    steps = []
    for k, (action, info, size, extra) in enumerate(STEPS):
        name = f"8888_{k}.png"
        if size:
            (shots / name).write_bytes(png(*size))
        steps.append({"step": k, "screenshot": name, "action": action, "info": info, "ps": "", **extra})
    episode = {
        "episode_id": "8888",
        "device_info": {"w": 1080, "h": 2400},
        "task_info": {"instruction": "Use Clock to set an alarm", "task": "set an alarm"},
        "step_length": len(STEPS),
        "steps": steps,
    }
    (notes / "8888.json").write_text(json.dumps(episode))
    return notes


def _out(steps, n):
    o = steps[f"8888/step_{n}"]["output"]
    return o["action_type"], o["action_parameter"][o["action_type"]]


def test_actions_in_pixels_of_each_screenshot(source, tmp_path):
    import_corpus("gui-odyssey", source, tmp_path / "out")  # screenshots: the folder next to annotations/
    steps = step_files(tmp_path / "out")
    assert _out(steps, 0) == ("click", "80,80,120,120")  # sam2_bbox 400..600 x 200..300 of 200x400
    assert steps["8888/step_0"]["meta"]["tap_point"] == [100, 100]
    assert _out(steps, 1) == ("click", "10,270")  # 100/1000 * 100, 900/1000 * 300: the small screen
    assert steps["8888/step_1"]["meta"]["screen_size"] == [100, 300]
    assert _out(steps, 2) == ("long_click", "100,200")
    assert _out(steps, 3) == ("swipe", "100,320,100,80")
    assert _out(steps, 4) == ("type", "hello")
    assert [_out(steps, n) for n in (5, 6, 7)] == [("home", ""), ("back", ""), ("key", "app_switch")]
    assert _out(steps, 8) == ("task_completed", "task complete")
    assert _out(steps, 9) == ("task_impossible", "the app needs a login")
    assert steps["8888/step_4"]["output"]["action_description"] == "Type hello"
    assert steps["8888/step_5"]["input"]["task_content"] == "Use Clock to set an alarm"


def test_unknown_actions_and_missing_screenshots_are_reported(source, tmp_path):
    import_corpus("gui-odyssey", source, tmp_path / "out")
    reasons = {r["step_index"]: r["reason"] for r in report_lines(tmp_path / "out")}
    assert "unknown action 'DRAG'" in reasons[10] and "not found" in reasons[11]
    summary = json.loads((tmp_path / "out" / "import.summary.json").read_text())
    assert summary["episode_lengths"] == {"8888": 12} and summary["steps_written"] == 10


def test_cli_needs_a_screenshot_folder(source, tmp_path, capsys):
    (source.parent / "screenshots").rename(tmp_path / "elsewhere")
    assert main(["import", "gui-odyssey", str(source), "-o", str(tmp_path / "a")]) == 2
    assert "--image-folder" in capsys.readouterr().err
    args = [
        "import",
        "gui-odyssey",
        str(source),
        "-o",
        str(tmp_path / "b"),
        "--image-folder",
        str(tmp_path / "elsewhere"),
    ]
    assert main(args) == 0
