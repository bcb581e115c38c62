"""``gui-agent-rl score``: per-sample scores, means, accuracy by type, and one-line user errors."""

from __future__ import annotations

import json

import pytest

from gui_agent_rl.cli import main
from gui_agent_rl.schemas import iter_jsonl

THINK = json.dumps(
    {
        "task_interpretation": "a",
        "current_page_audit": "b",
        "path_alignment_check": "c",
        "action_validation": "d",
    }
)


def act(kind: str, param: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: param}}, ensure_ascii=False)


def sample(i: int, truth: str, **extra) -> dict:
    human = {"from": "human", "value": "任务 <image>"}
    return {
        "id": i,
        "image": "s.png",
        "image_sizes": [[1080, 2400]],
        "conversations": [human, {"from": "gpt", "value": truth}],
        **extra,
    }


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    data = write_jsonl(
        tmp_path / "data.jsonl",
        [
            sample(1, act("click", "100,100,300,300")),
            sample(2, act("type", "无锡天气")),
            sample(3, act("back")),
        ],
    )
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {
                "id": 1,
                "completion": f"<think>{THINK}</think><answer>{act('click', '180,180,220,220')}</answer>",
            },
            {
                "id": "2",
                "completion": [
                    {"role": "assistant", "content": f"<answer>{act('type', '无锡天汽')}</answer>"}
                ],
            },
        ],
    )
    return tmp_path, data, pred


def score(*args: str) -> int:
    return main(["score", *args])


class TestScoreCommand:
    def test_writes_per_sample_scores_and_prints_means(self, files, capsys):
        tmp, data, pred = files
        out = tmp / "scores.jsonl"
        assert (
            score("--dataset", data, "--predictions", pred, "--frame", "original", "--output", str(out)) == 0
        )
        rows = [obj for _, obj in iter_jsonl(out)]
        assert [r["id"] for r in rows] == [1, 2, 3]
        assert [r["format"] for r in rows] == [2.5, 1.0, 0.0]
        assert rows[0]["accuracy"] == 1.0 and rows[1]["accuracy"] == pytest.approx(0.75)
        assert rows[2] == {"id": 3, "predicted": False, "format": 0.0, "accuracy": 0.0}
        text = capsys.readouterr().out
        assert "samples 3  with predictions 2" in text
        assert "format" in text and "1.1667" in text
        assert "accuracy/type" in text and "0.7500" in text

    def test_resized_frame_changes_the_click_score(self, files, capsys):
        _, data, pred = files
        assert (
            score(
                "--dataset", data, "--predictions", pred, "--max-pixels", "1003520", "--rewards", "accuracy"
            )
            == 0
        )
        means = dict(line.split() for line in capsys.readouterr().out.splitlines()[1:])
        assert 0.0 < float(means["accuracy/click"]) < 0.5  # read as 672 x 1484 pixels, the tap lands beside

    def test_unknown_reward_is_a_user_error(self, files, capsys):
        _, data, pred = files
        assert score("--dataset", data, "--predictions", pred, "--rewards", "formt") == 2
        assert "unknown reward 'formt'" in capsys.readouterr().err

    def test_unknown_method_is_a_user_error(self, files, capsys):
        _, data, pred = files
        assert score("--dataset", data, "--predictions", pred, "--method", "nearest") == 2
        assert "'nearest'" in capsys.readouterr().err

    def test_duplicate_prediction_id_is_a_user_error_naming_the_line(self, files, capsys):
        tmp, data, _ = files
        pred = write_jsonl(tmp / "dup.jsonl", [{"id": 1, "completion": ""}, {"id": "1", "completion": ""}])
        assert score("--dataset", data, "--predictions", pred) == 2
        err = capsys.readouterr().err
        assert "dup.jsonl:2" in err and "duplicate id" in err

    def test_broken_truth_is_a_user_error_naming_the_sample(self, tmp_path, capsys):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(41, '{"action_type": "click"}')])
        pred = write_jsonl(tmp_path / "p.jsonl", [{"id": 41, "completion": "x"}])
        assert score("--dataset", data, "--predictions", pred, "--rewards", "accuracy") == 2
        assert "solution[0] (id 41): action_parameter: missing" in capsys.readouterr().err
