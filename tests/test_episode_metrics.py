"""`eval --by-task` counts lost steps: lengths from meta, an import summary or build's report."""

from __future__ import annotations

import json

import pytest

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.episodes import (
    FROM_DATASET,
    FROM_META,
    LengthSources,
    episode_metrics,
    read_build_report,
    read_import_summary,
)
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.scoring import evaluate
from gui_agent_rl.rewards import RewardSettings
from gui_agent_rl.schemas import Sample

ORIGINAL = RewardSettings(coordinate_frame="original")
BACK = json.dumps({"action_type": "back", "action_parameter": {"back": ""}})
WAIT = json.dumps({"action_type": "wait", "action_parameter": {"wait": ""}})


def sample(sid, task, step, length=None) -> dict:
    data = {
        "id": sid,
        "image": [f"{task}/a.png"],
        "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": BACK}],
        "image_sizes": [[1000, 2000]],
        "task_id": task,
        "step": step,
        "output_format": "answer",
    }
    if length is not None:
        data["meta"] = {"episode_length": length, "step_index": step}
    return data


def by_task(samples, predictions=None, sources=None):
    """Every sample predicted right unless ``predictions`` maps its id to another answer."""
    predictions = predictions or {}
    rows = [
        Scored(Sample.model_validate(s), f"<answer>{predictions.get(s['id'], BACK)}</answer>")
        for s in samples
    ]
    return evaluate(rows, settings=ORIGINAL, reward_names=(), by_task=True, sources=sources).metrics[
        "by_task"
    ]


class TestLengthsFromMeta:
    def test_three_of_five_steps_all_right_is_not_a_success(self):
        """The issue's case: build rejected 2 of 5 steps; the 3 kept are right; the episode failed."""
        m = by_task([sample(i, "7", step, length=5) for i, step in enumerate((0, 1, 3))])
        assert m["episode_success"] == 0.0
        assert m["goal_progress"] == pytest.approx(2 / 5)  # steps 0, 1 right; step 2 missing
        assert (m["missing_steps"], m["lengths_from"]) == (2, {FROM_META: 1})

    def test_a_missing_first_step_stops_progress_at_zero(self):
        m = by_task([sample(0, "7", 1, length=2)])
        assert (m["episode_success"], m["goal_progress"]) == (0.0, 0.0)

    def test_a_complete_episode_still_succeeds(self):
        m = by_task([sample(i, "7", i, length=3) for i in range(3)])
        assert (m["episode_success"], m["goal_progress"], m["missing_steps"]) == (1.0, 1.0, 0)

    def test_a_wrong_step_before_a_missing_one_counts_first(self):
        samples = [sample(0, "7", 0, length=4), sample(1, "7", 1, length=4)]
        m = by_task(samples, {1: WAIT})
        assert m["goal_progress"] == pytest.approx(1 / 4)

    def test_a_step_beyond_the_length_is_an_error_naming_the_task(self):
        with pytest.raises(ValueError, match=r"task '7': step 5 is outside its 5 steps"):
            by_task([sample(0, "7", 5, length=5)])

    def test_disagreeing_lengths_are_an_error(self):
        with pytest.raises(ValueError, match=r"disagree on meta\.episode_length"):
            by_task([sample(0, "7", 0, length=5), sample(1, "7", 1, length=6)])

    def test_a_bad_length_names_the_sample(self):
        with pytest.raises(ValueError, match=r"sample 0: meta.episode_length must be an integer >= 1"):
            by_task([sample(0, "7", 0, length="5")])


class TestOtherSources:
    def test_without_lengths_today_s_behaviour_and_it_says_so(self):
        m = by_task([sample(i, "7", step) for i, step in enumerate((0, 1, 3))])
        assert (m["episode_success"], m["goal_progress"], m["missing_steps"]) == (1.0, 1.0, 0)
        assert m["lengths_from"] == {FROM_DATASET: 1}

    def test_build_report_rejections_are_failed_steps_in_step_order(self, tmp_path):
        report = tmp_path / "data.report.jsonl"
        lines = [
            {"path": "7/step_2.json", "reason": "click box outside the screen", "kind": "invalid"},
            {"path": "task_x", "reason": "not digits", "kind": "layout"},  # names no step: skipped
        ]
        report.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        rejected = read_build_report(report)
        assert rejected == {"7": {2}}
        sources = LengthSources(rejected=rejected, report_name=report.name)
        m = by_task(
            [sample(i, t, step) for i, (t, step) in enumerate((("7", 1), ("7", 3), ("8", 0)))],
            sources=sources,
        )
        assert m["episode_success"] == 0.5  # task 8 lost nothing at build
        assert m["goal_progress"] == pytest.approx((1 / 3 + 1) / 2)  # task 7: steps 1, [2], 3
        assert m["lengths_from"] == {"build report data.report.jsonl": 2}

    def test_meta_wins_over_the_import_summary_which_wins_over_the_report(self, tmp_path):
        sources = LengthSources({"7": 9, "8": 2}, "import.summary.json", {"8": {5}, "9": {1}}, "r.jsonl")
        samples = [sample(0, "7", 0, length=1), sample(1, "8", 0), sample(2, "9", 0)]
        m = by_task(samples, sources=sources)
        assert m["lengths_from"] == {
            FROM_META: 1,
            "import summary import.summary.json": 1,
            "build report r.jsonl": 1,
        }
        assert m["missing_steps"] == 2  # task 8: step 1 of 2; task 9: rejected step 1

    def test_import_summary_reader(self, tmp_path):
        path = tmp_path / "import.summary.json"
        path.write_text(json.dumps({"format": "aitz", "episode_lengths": {"3": 4}}), encoding="utf-8")
        assert read_import_summary(path) == {"3": 4}
        path.write_text(json.dumps({"episode_lengths": {"3": 0}}), encoding="utf-8")
        with pytest.raises(ValueError, match=r"episode_lengths\['3'\] must be an integer >= 1"):
            read_import_summary(path)

    def test_episode_metrics_directly(self):
        m = episode_metrics({"1": [(0, True, 2)], "2": [(None, True, None), (0, False, None)]})
        assert (m["episode_success"], m["goal_progress"]) == (0.0, 0.25)


class TestCli:
    @pytest.fixture
    def files(self, tmp_path):
        data = tmp_path / "data.jsonl"
        rows = [sample(i, "7", step) for i, step in enumerate((0, 1, 3))]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        pred = tmp_path / "pred.jsonl"
        pred.write_text(
            "".join(json.dumps({"id": i, "completion": f"<answer>{BACK}</answer>"}) + "\n" for i in range(3)),
            encoding="utf-8",
        )
        report = tmp_path / "data.report.jsonl"
        report.write_text(json.dumps({"path": "7/step_2.json", "reason": "r", "kind": "invalid"}) + "\n")
        return ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"], report

    def test_build_report_turns_a_full_success_into_a_failure_and_says_why(self, files, tmp_path, capsys):
        args, report = files
        out = tmp_path / "m.json"
        assert main([*args, "--by-task", "--build-report", str(report), "--output", str(out)]) == 0
        m = json.loads(out.read_text(encoding="utf-8"))["by_task"]
        assert (m["episode_success"], m["goal_progress"], m["missing_steps"]) == (0.0, 0.5, 1)
        text = capsys.readouterr().out
        assert (
            "lengths from build report data.report.jsonl: 1 task; 1 missing steps counted as failures" in text
        )

    def test_without_a_source_the_output_says_lengths_are_unknown(self, files, capsys):
        args, _ = files
        assert main([*args, "--by-task"]) == 0
        assert f"lengths from {FROM_DATASET}: 1 task; 0 missing" in capsys.readouterr().out

    def test_build_report_without_by_task_is_one_line_exit_2(self, files, capsys):
        args, report = files
        assert main([*args, "--build-report", str(report)]) == 2
        assert "add --by-task" in capsys.readouterr().err

    def test_an_import_report_given_as_build_report_is_one_line_exit_2(self, files, tmp_path, capsys):
        args, _ = files
        wrong = tmp_path / "import.report.jsonl"
        wrong.write_text(
            json.dumps({"source": "f", "episode_id": "1", "step_index": 2, "reason": "r"}) + "\n"
        )
        assert main([*args, "--by-task", "--build-report", str(wrong)]) == 2
        assert "not a build report line" in capsys.readouterr().err


class TestThroughBuild:
    """Step files with ``meta`` -> ``build`` -> ``eval --by-task --protocol``: lengths travel along."""

    def test_a_rejected_step_fails_the_episode_under_both_rules(self, tmp_path, capsys):
        import shutil

        root = tmp_path / "corpus"
        shutil.copytree("examples/corpus/144", root / "144")
        for n in range(5):
            path = root / "144" / f"step_{n}.json"
            step = json.loads(path.read_text(encoding="utf-8"))
            step["meta"] = {"screen_size": [1080, 2400], "episode_length": 5, "step_index": n}
            if step["output"]["action_type"] == "click":
                step["meta"]["tap_point"] = [540, 1815]
            if n == 2:
                step["output"] = {
                    "action_type": "click",
                    "action_parameter": {"click": "5,5,5,5"},
                }  # rejected
            path.write_text(json.dumps(step, ensure_ascii=False), encoding="utf-8")
        data = tmp_path / "data.jsonl"
        assert main(["build", str(root), "--output", str(data)]) == 0
        samples = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
        assert [s["step"] for s in samples] == [0, 1, 3, 4] and samples[1]["meta"]["tap_point"] == [540, 1815]
        pred = tmp_path / "pred.jsonl"
        lines = [
            {"id": s["id"], "completion": f"<answer>{s['conversations'][1]['value']}</answer>"}
            for s in samples
        ]
        pred.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        out = tmp_path / "m.json"
        args = ["eval", "--dataset", str(data), "--predictions", str(pred), "--by-task", "--protocol", "aitw"]
        assert main([*args, "--frame", "original", "--output", str(out)]) == 0
        m = json.loads(out.read_text(encoding="utf-8"))
        assert (m["step_success"], m["protocol"]["step_success"]) == (1.0, 1.0)
        for block in (m["by_task"], m["protocol"]["by_task"]):
            assert (block["episode_success"], block["goal_progress"], block["missing_steps"]) == (0.0, 0.4, 1)
            assert block["lengths_from"] == {FROM_META: 1}
