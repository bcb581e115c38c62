"""`gui-agent-rl eval`: files in, metrics JSON and a table out, user mistakes as one line and exit 2."""

from __future__ import annotations

import json
import re
from typing import ClassVar

import pytest

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.report import format_report, table
from gui_agent_rl.rewards.accuracy import TAP_DISTANCE_THRESHOLD


def act(kind: str, value: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}}, ensure_ascii=False)


def write_jsonl(path, objs):
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def sample(sid, truth, task="T1", step=0):
    return {
        "id": sid,
        "image": ["T1/a.png"],
        "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": truth}],
        "image_sizes": [[1000, 2000]],
        "task_id": task,
        "step": step,
        "output_format": "answer",  # the predictions below are <answer> blocks alone
    }


TRUTHS = [act("click", "100,100,200,200"), act("type", "无锡"), act("back"), act("wait")]


@pytest.fixture
def files(tmp_path):
    """Four samples of one task; predictions right on 1-3 (frame original), none for 4."""
    data = write_jsonl(tmp_path / "data.jsonl", [sample(i, t, step=i) for i, t in enumerate(TRUTHS, 1)])
    preds = [
        f"<answer>{a}</answer>" for a in (act("click", "140,140,160,160"), act("type", "无锡"), act("back"))
    ]
    pred = write_jsonl(tmp_path / "pred.jsonl", [{"id": i, "completion": c} for i, c in enumerate(preds, 1)])
    return data, pred, tmp_path


def eval_args(data, pred, *extra):
    return ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original", *extra]


class TestEvalCommand:
    def test_writes_metrics_json_with_every_key(self, files, capsys):
        data, pred, tmp = files
        assert main(eval_args(data, pred, "--output", str(tmp / "m.json"), "--by-task")) == 0
        m = json.loads((tmp / "m.json").read_text(encoding="utf-8"))
        assert (m["count"], m["step_success"], m["type_accuracy"], m["format_rate"]) == (4, 0.75, 0.75, 0.75)
        assert m["grounding_accuracy"] == 1.0
        assert m["rewards"] == {"format": 0.75, "accuracy": 0.75}
        assert m["per_type"]["wait"] == {"count": 1, "type_accuracy": 0.0, "step_success": 0.0}
        assert m["confusion"]["wait"] == {"invalid": 1}
        assert m["by_task"] == {
            "tasks": 1,
            "episode_success": 0.0,
            "goal_progress": 0.75,
            "missing_steps": 0,
            "lengths_from": {"dataset steps only (lengths unknown)": 1},
        }
        assert m["rules"]["frame"] == "original" and m["rules"]["tap_distance"] is None
        out = capsys.readouterr().out
        assert re.search(r"step_success +75.00%", out) and "metrics written to" in out

    def test_compare_prints_deltas_in_points(self, files, tmp_path, capsys):
        data, pred, tmp = files
        main(eval_args(data, pred, "--output", str(tmp / "old.json")))
        better = write_jsonl(
            tmp / "better.jsonl", [{"id": 4, "completion": f"<answer>{act('wait')}</answer>"}]
        )
        capsys.readouterr()
        assert main(eval_args(data, better, "--compare", str(tmp / "old.json"))) == 0
        out = capsys.readouterr().out
        assert "old.json" in out
        assert re.search(r"step_success +25.00% +75.00% +-50.00 pp", out)

    def test_tap_distance_alone_means_the_aitw_threshold(self, files):
        data, pred, tmp = files
        main(eval_args(data, pred, "--tap-distance", "--box-scale", "2.4", "--output", str(tmp / "m.json")))
        rules = json.loads((tmp / "m.json").read_text())["rules"]
        assert (rules["tap_distance"], rules["box_scale"]) == (TAP_DISTANCE_THRESHOLD, 2.4) == (0.14, 2.4)

    def test_per_sample_verdicts(self, files):
        data, pred, tmp = files
        assert main(eval_args(data, pred, "--per-sample", str(tmp / "v.jsonl"))) == 0
        lines = [json.loads(x) for x in (tmp / "v.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [v["step_ok"] for v in lines] == [True, True, True, False]
        assert lines[3]["reason"] == "no prediction" and lines[3]["pred_type"] == "invalid"

    def test_tap_distance_with_a_value(self, files):
        data, pred, tmp = files
        main(eval_args(data, pred, "--tap-distance", "0.04", "--output", str(tmp / "m.json")))
        assert json.loads((tmp / "m.json").read_text())["rules"]["tap_distance"] == 0.04

    def test_help_states_the_matching_rules(self, capsys):
        with pytest.raises(SystemExit):
            main(["eval", "--help"])
        out = capsys.readouterr().out
        assert "centre of the predicted box" in out and "AnswerIndex" in out and "--compare" in out


class TestEvalUserErrors:
    def test_bad_prediction_line_is_one_line_with_path_and_line(self, files, capsys):
        data, _, tmp = files
        bad = tmp / "bad.jsonl"
        bad.write_text('{"id": 1, "completion": "x"}\n{"id": 1, "completion": "y"}\n', encoding="utf-8")
        assert main(eval_args(data, bad)) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith("bad.jsonl:2: duplicate id 1 (first on line 1)") and "\n" not in err

    def test_by_task_without_task_ids_exits_2(self, tmp_path, capsys):
        data = write_jsonl(tmp_path / "d.jsonl", [{**sample(1, act("back")), "task_id": None}])
        pred = write_jsonl(tmp_path / "p.jsonl", [])
        assert main(eval_args(data, pred, "--by-task")) == 2
        assert "task_id" in capsys.readouterr().err

    def test_bad_truth_exits_2_naming_the_sample(self, tmp_path, capsys):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(9, act("click", "9,9,1,1"))])
        pred = write_jsonl(tmp_path / "p.jsonl", [])
        assert main(eval_args(data, pred)) == 2
        assert "sample 9" in capsys.readouterr().err

    def test_compare_with_a_file_that_is_not_metrics(self, files, capsys):
        data, pred, tmp = files
        (tmp / "x.json").write_text("[1]")
        assert main(eval_args(data, pred, "--compare", str(tmp / "x.json"))) == 2
        assert "not a metrics file" in capsys.readouterr().err

    def test_unknown_reward_name(self, files, capsys):
        data, pred, _ = files
        assert main(eval_args(data, pred, "--rewards", "format,nope")) == 2
        assert "unknown reward 'nope'" in capsys.readouterr().err


class TestReport:
    METRICS: ClassVar[dict] = {
        "count": 2,
        "type_accuracy": 1.0,
        "step_success": 0.5,
        "grounding_accuracy": None,
        "format_rate": 1.0,
        "rewards": {"accuracy": 0.5},
        "per_type": {"back": {"count": 2, "type_accuracy": 1.0, "step_success": 0.5}},
        "confusion": {"back": {"back": 2}},
        "rules": {"frame": "resized", "box_scale": 1.0, "tap_distance": None, "text_threshold": 0.8},
    }

    def test_table_aligns_numbers_right(self):
        assert table(["k", "v"], [["a", "1"], ["bbb", "100"]]).splitlines() == [
            "k      v",
            "a      1",
            "bbb  100",
        ]

    def test_missing_values_show_a_dash_and_rewards_as_numbers(self):
        text = format_report(self.METRICS)
        assert re.search(r"grounding_accuracy +-\n", text) and re.search(r"reward accuracy +0.5000", text)

    def test_compare_notes_different_rules(self):
        other = {**self.METRICS, "step_success": 0.25, "rules": {**self.METRICS["rules"], "box_scale": 1.2}}
        text = format_report(self.METRICS, other, "old.json")
        assert "note: old.json used other rules" in text and "+25.00 pp" in text
