"""``gui-agent-rl import ui-r1``: the documented JSON list (tests/fixtures/import/ui-r1), episodes from
image names with gaps in k, blank screens of --screen-size, taps beyond the screen reported."""

from __future__ import annotations

import json

import pytest
from test_import_fixtures import FIXTURES, png, report_lines, step_files

from gui_agent_rl.cli import main
from gui_agent_rl.importers import ImportOptions, import_corpus

SOURCE = FIXTURES / "ui-r1" / "ac_sample.json"


def _out(steps, key):
    o = steps[key]["output"]
    return o["action_type"], o["action_parameter"][o["action_type"]]


def test_screen_size_placeholders_gaps_and_flips(tmp_path):
    root = tmp_path / "out"
    import_corpus("ui-r1", SOURCE, root, ImportOptions(screen_size=(1080, 2400)))
    steps = step_files(root)
    assert sorted(steps) == ["13/step_0", "13/step_1", "13/step_3", "13/step_4", "20/step_1"]
    assert _out(steps, "13/step_0") == ("open_app", "Clock")
    assert _out(steps, "13/step_1") == ("click", "540,1200")
    assert _out(steps, "13/step_3") == ("swipe", "up")  # AndroidControl "down" is the content's
    assert _out(steps, "13/step_4") == ("back", "")
    assert _out(steps, "20/step_1") == ("type", "weather")
    step3 = steps["13/step_3"]
    assert step3["input"]["task_content"] == "Swipe up to see more alarms"
    assert step3["input"]["history_path_all"] == ["Open the Clock app", "Tap on the alarm tab"]
    assert step3["input"]["screen_path1"] == ""  # screenshot 2 is not in the file
    assert step3["meta"]["placeholder_screen"] is True and step3["meta"]["screen_size"] == [1080, 2400]
    assert (root / "13" / "13_3.png").is_file()
    summary = json.loads((root / "import.summary.json").read_text())
    assert summary["episode_lengths"] == {"13": 5, "20": 2}


def test_taps_beyond_the_screen_and_bad_names_are_reported(tmp_path):
    root = tmp_path / "out"
    import_corpus("ui-r1", SOURCE, root, ImportOptions(screen_size=(1080, 2400)))
    lines = report_lines(root)
    assert any(
        r["episode_id"] == "20" and r["step_index"] == 0 and "outside the screen" in r["reason"]
        for r in lines
    )
    assert any("not named episode_<id>-screenshot_<k>" in r["reason"] for r in lines)


def test_image_folder_sizes_come_from_the_images(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "episode_20-screenshot_0.png").write_bytes(png(1440, 3200))  # a larger device: the tap fits
    root = tmp_path / "out"
    import_corpus("ui-r1", SOURCE, root, ImportOptions(image_folder=images, screen_size=(1080, 2400)))
    step = step_files(root)["20/step_0"]
    assert _out({"s": step}, "s") == ("click", "1367,2952") and step["meta"]["screen_size"] == [1440, 3200]


def test_cli_needs_images_or_a_size(tmp_path, capsys):
    assert main(["import", "ui-r1", str(SOURCE), "-o", str(tmp_path / "a")]) == 2
    assert "--screen-size" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse's own error: usage and one line
        main(["import", "ui-r1", str(SOURCE), "-o", str(tmp_path / "b"), "--screen-size", "1080x"])
    assert exc.value.code == 2 and "is not WIDTHxHEIGHT" in capsys.readouterr().err
    assert (
        main(["import", "ui-r1", str(SOURCE), "-o", str(tmp_path / "c"), "--screen-size", "1080x2400"]) == 0
    )
