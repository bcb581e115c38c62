"""``make learn`` in miniature: every stage of the loop runs on both tasks and the summary has its rows.

The full run (``make learn``, ~10 minutes) is what shows GRPO improving the held-out agent; this test
proves the driver, the recipes in ``recipes/learn`` and the commands they call fit together.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from gui_agent_rl.learn import RECIPES, SUMMARY_KEYS, TASKS, main, recipe
from gui_agent_rl.train.config import parse_train_args
from gui_agent_rl.train.sft import parse_sft_args


@pytest.mark.parametrize("task", TASKS)
def test_learning_recipes_parse(task):
    script, _, _ = parse_sft_args(["--config", str(recipe(task, "sft"))])
    assert script.max_pixels >= script.min_pixels
    script, training, _ = parse_train_args(["--config", str(recipe(task, "grpo"))])
    assert "format_strict" in script.reward_funcs and training.mask_truncated_completions
    assert training.beta > 0


@pytest.mark.slow
@pytest.mark.train
def test_quick_loop_writes_rows_predictions_and_curves(tmp_path, capsys):
    out = tmp_path / "learn"
    assert main(["--quick", "--seed", "3", "--output", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "text SFT demonstrations: wait=back:0.5: " in printed
    assert "grounding SFT demonstrations: clean" in printed
    rows = json.loads((out / "summary.json").read_text())
    assert [(r["task"], r["stage"]) for r in rows] == [(t, s) for t in TASKS for s in ("sft", "grpo")]
    for r in rows:
        assert all(0.0 <= r[k] <= 1.0 for k in SUMMARY_KEYS)
        preds = [json.loads(line) for line in Path(r["predictions"]).read_text().splitlines()]
        assert preds and all(len(p["samples"]) == 4 for p in preds)
    # text's SFT learns from the slipping demonstrator, GRPO and the held-out steps are clean
    assert all(r["demonstrator"].startswith("wait=back:0.5: ") for r in rows if r["task"] == "text")
    assert all(r["demonstrator"] == "clean" for r in rows if r["task"] == "grounding")
    sft_demos, clean = (out / "text" / n for n in ("data.sft.jsonl", "data.jsonl"))
    assert sft_demos.read_text().count('"back\\"') > clean.read_text().count('"back\\"')
    for task in TASKS:
        assert (out / task / "sft.curve.png").stat().st_size > 10_000
        assert (out / task / "grpo.curve.png").stat().st_size > 10_000
    assert RECIPES.is_dir()


@pytest.mark.parametrize("slip", ["wait=back", "wait=click:0.5", "wait=back:2"])
def test_a_bad_slip_is_a_usage_error(slip, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--slip", slip, "--output", str(tmp_path)])
    assert exc.value.code == 2 and "slip" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_task_child_whose_parent_is_gone_exits_at_once():
    from gui_agent_rl.learn import die_with_parent

    with pytest.raises(SystemExit) as exc:
        die_with_parent(parent=-1)  # no process has that pid: the parent is gone
    assert exc.value.code == 143
