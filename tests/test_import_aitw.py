"""``gui-agent-rl import aitw``: (y, x) normalised -> pixels, tap vs swipe at 0.04, keys, status, grouping."""

from __future__ import annotations

import json

import pytest
from test_import_fixtures import aitw_step, report_lines, step_files, write_tfrecord

from gui_agent_rl.importers import import_corpus

SIZE = (100, 200)  # width, height
# one element: y 0.1, x 0.2, height 0.05, width 0.3 -> pixels x 20..50, y 20..30
ELEMENT = [0.1, 0.2, 0.05, 0.3]


@pytest.fixture
def corpus(tmp_path):
    ep = "1234567890"
    records = [
        aitw_step(ep, 0, 9, 4, touch=(0.125, 0.3), lift=(0.13, 0.31), elements=ELEMENT),  # tap in the element
        aitw_step(ep, 1, 9, 4, touch=(0.9, 0.9), lift=(0.9, 0.91), elements=ELEMENT),  # tap outside it
        aitw_step(ep, 2, 9, 4, touch=(0.8, 0.5), lift=(0.2, 0.5)),  # finger moves up: a swipe
        aitw_step(ep, 3, 9, 3, text="coffee maker"),
        aitw_step(ep, 4, 9, 7),
        aitw_step(ep, 5, 9, 6, raw=False),
        aitw_step(ep, 6, 9, 5),
        aitw_step(ep, 7, 9, 10),
        aitw_step(ep, 8, 9, 11),
        aitw_step("555", 0, 2, 3, text=""),  # TYPE without text: skipped
        aitw_step("555", 1, 2, 10),
        aitw_step(ep, 9, 9, 10),  # the first episode again, after another one
    ]
    write_tfrecord(tmp_path / "general-0", records)
    root = tmp_path / "out"
    import_corpus("aitw", tmp_path / "general-0", root)
    return root


def _out(steps, key):
    o = steps[key]["output"]
    return o["action_type"], o["action_parameter"][o["action_type"]]


def test_dual_points_become_taps_on_elements_or_points_and_swipes(corpus):
    steps = step_files(corpus)
    assert _out(steps, "1234567890/step_0") == ("click", "20,20,50,30")
    assert steps["1234567890/step_0"]["meta"]["tap_point"] == [30, 25]  # x = 0.3 * 100, y = 0.125 * 200
    assert steps["1234567890/step_0"]["meta"]["elements"] == [[20, 20, 50, 30]]
    assert _out(steps, "1234567890/step_1") == ("click", "90,180")
    assert _out(steps, "1234567890/step_2") == ("swipe", "50,160,50,40")
    assert steps["1234567890/step_2"]["meta"]["lift_point"] == [50, 40]


def test_type_keys_and_status_actions(corpus):
    steps = step_files(corpus)
    got = [_out(steps, f"1234567890/step_{n}") for n in range(3, 9)]
    assert got == [
        ("type", "coffee maker"),
        ("key", "enter"),
        ("home", ""),
        ("back", ""),
        ("task_completed", "task complete"),
        ("task_impossible", "task impossible"),
    ]


def test_steps_group_by_episode_with_previous_screens_and_history(corpus):
    steps = step_files(corpus)
    inp = steps["1234567890/step_3"]["input"]
    assert inp["screen_path1"] == "1234567890_2.png" and inp["screen_path2"] == "1234567890_3.png"
    assert inp["history_path_all"][0] == "tap at (30, 25)"
    assert inp["task_content"] == "turn on wifi"
    assert (corpus / "1234567890" / "1234567890_0.png").read_bytes()[:4] == b"\x89PNG"  # raw pixels encoded
    assert steps["1234567890/step_0"]["meta"]["screen_size"] == [100, 200]


def test_report_lists_empty_type_and_regrouped_episode(corpus):
    reasons = {(r["episode_id"], r["step_index"]): r["reason"] for r in report_lines(corpus)}
    assert "TYPE with empty text" in reasons[("555", 0)]
    assert "appeared before" in reasons[("1234567890", 9)]
    summary = json.loads((corpus / "import.summary.json").read_text())
    assert summary["episode_lengths"] == {"1234567890": 9, "555": 2}
    assert summary["steps_written"] == 10 and summary["steps_skipped"] == 2


def test_limit_counts_episodes_not_step_records(tmp_path):
    records = [aitw_step("11", k, 3, 10) for k in range(3)] + [aitw_step("12", 0, 1, 10)]
    write_tfrecord(tmp_path / "single", records)
    import_corpus("aitw", tmp_path / "single", tmp_path / "out", limit=1)
    assert sorted(step_files(tmp_path / "out")) == ["11/step_0", "11/step_1", "11/step_2"]
