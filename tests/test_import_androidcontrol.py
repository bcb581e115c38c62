"""``gui-agent-rl import androidcontrol``: every action kind, element truths, sizes, the report, the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from test_import_fixtures import ac_episode, forest, report_lines, step_files, write_tfrecord

from gui_agent_rl.cli import main
from gui_agent_rl.importers import ImportOptions, import_corpus
from gui_agent_rl.importers.tfrecord import encode_record

SMALL, LARGE = (108, 240), (120, 260)
STEPS = [
    (
        {"action_type": "click", "x": 30, "y": 50},
        "tap the alarm tab",
        forest((0, 0, 108, 120), (20, 40, 60, 70)),
    ),
    ({"action_type": "click", "x": 100, "y": 200}, "tap the corner", forest((0, 0, 50, 50))),
    ({"action_type": "long_press", "x": 10, "y": 10}, "long press the icon", forest((0, 0, 20, 20))),
    ({"action_type": "scroll", "direction": "up"}, "swipe down", forest()),
    ({"action_type": "type", "x": 50, "y": 30, "text": "alarm"}, "type alarm", forest()),
    ({"action_type": "input_text", "text": "7am"}, "enter 7am", forest()),
    ({"action_type": "open_app", "app_name": "Clock"}, "open Clock", forest()),
    ({"action_type": "navigate_home"}, "go home", forest()),
    ({"action_type": "navigate_back"}, "go back", forest()),
    ({"action_type": "wait"}, "wait for it", forest()),
    ({"action_type": "teleport"}, "teleport", forest()),
    ({"action_type": "click", "x": 500, "y": 10}, "tap beyond the screen", forest()),
]
SIZES = [SMALL, LARGE] + [SMALL] * 11


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "ac"
    folder.mkdir()
    records = [
        ac_episode(42, "set an alarm", STEPS, SIZES),
        b"\xff\xff\xff",  # framed correctly, not an Example
        ac_episode(7, "open clock", [({"action_type": "wait"}, "wait", forest())], [SMALL, SMALL]),
    ]
    write_tfrecord(folder / "android_control-00000-of-00002", records)
    (folder / "android_control-00001-of-00002").write_bytes(gzip.compress(b"not a tfrecord at all, sorry"))
    cut = gzip.compress(b"".join(encode_record(r) for r in records))
    (folder / "android_control-00002-of-00002").write_bytes(cut[: len(cut) // 2])  # a download cut short
    return folder


def _import(source: Path, root: Path, **kw) -> dict:
    options = kw.pop("options", ImportOptions())
    import_corpus("androidcontrol", source, root, options, **kw)
    return step_files(root)


def test_every_action_kind_becomes_the_contract_action(source, tmp_path):
    steps = _import(source, tmp_path / "out")
    out = {k: v["output"] for k, v in steps.items()}

    def param(n):
        o = out[f"42/step_{n}"]
        return o["action_type"], o["action_parameter"][o["action_type"]]

    assert param(0) == ("click", "20,40,60,70")  # the smallest leaf containing the tap
    assert param(1) == ("click", "100,200")  # no leaf contains it: the point
    assert param(2) == ("long_click", "0,0,20,20")
    assert param(3) == ("swipe", "down")  # content up = finger down
    assert param(4) == ("type", "alarm")
    assert param(5) == ("type", "7am")
    assert param(6) == ("open_app", "Clock")
    assert [param(n) for n in (7, 8, 9)] == [("home", ""), ("back", ""), ("wait", "")]
    assert "42/step_10" not in steps and "42/step_11" not in steps


def test_meta_keeps_tap_points_elements_sizes_and_the_original(source, tmp_path):
    steps = _import(source, tmp_path / "out")
    first, second = steps["42/step_0"]["meta"], steps["42/step_1"]["meta"]
    assert first["tap_point"] == [30, 50] and [20, 40, 60, 70] in first["elements"]
    assert first["screen_size"] == [108, 240] and second["screen_size"] == [120, 260]
    assert first["original_action"] == {"action_type": "click", "x": 30, "y": 50}
    assert first["episode_id"] == "42" and first["episode_length"] == 12 and first["step_index"] == 0
    assert first["source"] == "androidcontrol" and first["goal"] == "set an alarm"
    assert steps["42/step_4"]["meta"]["tap_point"] == [50, 30]  # type's tap, kept beside the type action


def test_screens_history_and_action_list(source, tmp_path):
    root = tmp_path / "out"
    steps = _import(source, root)
    step0, step2 = steps["42/step_0"]["input"], steps["42/step_2"]["input"]
    assert (step0["screen_path1"], step0["screen_path2"]) == ("", "42_0.png")
    assert (step2["screen_path1"], step2["screen_path2"]) == ("42_1.png", "42_2.png")
    assert step2["history_path_all"] == ["tap the alarm tab", "tap the corner"]
    assert set(step0["action_type_list"]) == {
        "click",
        "long_click",
        "swipe",
        "type",
        "open_app",
        "home",
        "back",
        "wait",
    }
    assert (root / "42" / "42_1.png").read_bytes()[:4] == b"\x89PNG"
    assert steps["42/step_0"]["output"]["action_description"] == "tap the alarm tab"


def test_high_and_low_instruction(source, tmp_path):
    high = _import(source, tmp_path / "high")["42/step_0"]["input"]["task_content"]
    low = _import(source, tmp_path / "low", options=ImportOptions(instruction="low"))
    assert high == "set an alarm"
    assert low["42/step_0"]["input"]["task_content"] == "set an alarm\nStep instruction: tap the alarm tab"


def test_report_and_summary_count_what_was_lost(source, tmp_path):
    root = tmp_path / "out"
    _import(source, root)
    lines = report_lines(root)
    by_step = {(r["episode_id"], r["step_index"]): r["reason"] for r in lines if r["step_index"] is not None}
    assert "unknown action_type 'teleport'" in by_step[("42", 10)]
    assert "outside the screen" in by_step[("42", 11)]
    unit_problems = [r for r in lines if r["step_index"] is None]
    assert len(unit_problems) == 3  # the bad record, the damaged second file, the cut third one
    assert any("00001-of-00002" in r["source"] for r in unit_problems)
    summary = json.loads((root / "import.summary.json").read_text())
    assert summary["episodes"] == 2 and summary["steps_written"] == 11 and summary["steps_skipped"] == 2
    assert summary["episode_lengths"] == {"42": 12, "7": 1} and summary["complete"] is True


def test_limit_stops_after_n_episodes(source, tmp_path):
    steps = _import(source, tmp_path / "out", limit=1)
    assert {k.split("/")[0] for k in steps} == {"42"}


def test_workers_write_the_same_corpus(source, tmp_path):
    one = _import(source, tmp_path / "one")
    two = _import(source, tmp_path / "two", workers=2)
    assert one == two


def test_cli_imports_and_refuses_user_mistakes(source, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["import", "androidcontrol", str(source), "--output", str(out)]) == 0
    assert "imported 11 step(s) in 2 task folder(s)" in capsys.readouterr().err
    assert main(["import", "androidcontrol", str(source), "--output", str(out)]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err
    fresh = str(tmp_path / "fresh")
    assert main(["import", "androidcontrol", str(source), "-o", fresh, "--screen-size", "1080x2400"]) == 2
    assert "--screen-size" in capsys.readouterr().err
    assert main(["import", "androidcontrol", str(tmp_path / "missing"), "-o", fresh]) == 2
    assert main(["import", "androidcontrol", str(source), "-o", str(source / "inside")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
