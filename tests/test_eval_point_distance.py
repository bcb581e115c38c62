"""``gui-agent-rl eval --point-distance``: the radius for truths recorded as a point ``"x,y"``, passed
to the accuracy reward and to the step rule alike (as ``score --point-distance`` does for the reward)."""

from __future__ import annotations

import json

import pytest

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.metrics import MatchRules


def _wire(kind: str, value: str) -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}})


@pytest.fixture
def files(tmp_path) -> list[str]:
    """One point truth (540, 1200) on 1080x2400 and a prediction 144 px lower: 0.06 of the height."""
    row = {
        "id": 1,
        "image": "s.png",
        "image_sizes": [[1080, 2400]],
        "conversations": [
            {"from": "human", "value": "task <image>"},
            {"from": "gpt", "value": _wire("click", "540,1200")},
        ],
    }
    pred = {"id": 1, "completion": f"<answer>{_wire('click', '540,1344')}</answer>"}
    data, preds = tmp_path / "d.jsonl", tmp_path / "p.jsonl"
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    preds.write_text(json.dumps(pred) + "\n", encoding="utf-8")
    base = ["eval", "--dataset", str(data), "--predictions", str(preds), "--frame", "original"]
    return [*base, "--rewards", "accuracy", "--accuracy-method", "center_in_box"]


def _metrics(base: list[str], out, *extra: str) -> dict:
    assert main([*base, "--output", str(out), *extra]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_default_is_androidcontrols_radius(files, tmp_path):
    m = _metrics(files, tmp_path / "m.json")
    assert m["step_success"] == 0.0 and m["rewards"]["accuracy"] == 0.0
    assert "point_distance" not in m["rules"]  # the default is not recorded (older files lack it)


def test_a_wider_radius_reaches_the_reward_and_the_step_rule(files, tmp_path):
    m = _metrics(files, tmp_path / "m.json", "--point-distance", "0.1")
    assert m["step_success"] == 1.0 and m["rewards"]["accuracy"] == 1.0
    assert m["rules"]["point_distance"] == 0.1


def test_tap_distance_still_rules_the_step_but_not_the_reward(files, tmp_path):
    m = _metrics(files, tmp_path / "m.json", "--point-distance", "0.1", "--tap-distance", "0.05")
    assert m["step_success"] == 0.0  # 0.06 > --tap-distance 0.05
    assert m["rewards"]["accuracy"] == 1.0  # the reward's radius is --point-distance


@pytest.mark.parametrize("bad", ["-1", "nan", "inf"])
def test_bad_values_are_one_line_errors(files, capsys, bad):
    assert main([*files, f"--point-distance={bad}"]) == 2
    err = capsys.readouterr().err
    assert "point_distance must be a finite number >= 0" in err and "Traceback" not in err


def test_compare_names_the_other_radius(files, tmp_path, capsys):
    wide = tmp_path / "wide.json"
    _metrics(files, wide, "--point-distance", "0.1")
    capsys.readouterr()
    assert main([*files, "--compare", str(wide)]) == 0
    out = capsys.readouterr().out
    assert "used other rules" in out and "point distance 0.1" in out


def test_match_rules_checks_the_radius():
    assert MatchRules().point_distance == 0.04
    with pytest.raises(ValueError, match="point_distance"):
        MatchRules(point_distance=-0.5)


def test_help_is_the_score_help():
    from gui_agent_rl.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    helps = [
        next(a.help for a in sub.choices[name]._actions if a.dest == "point_distance")
        for name in ("eval", "score")
    ]
    assert helps[0] == helps[1] and "AndroidControl's rule" in helps[0]
