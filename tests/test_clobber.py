"""Outputs never overwrite inputs (issue 11, item 5): exit 2 with one line, the input byte-identical.

Before the fix each of these command lines exited 0 and replaced the input (a step file, a screenshot,
the prompt file, the dataset, the predictions, a checkpoint folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gui_agent_rl.cli import main
from gui_agent_rl.cli._common import UserError, new_or_empty_folder, refuse_clobber


def run(capsys, *argv: object) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def one_line_error(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"gui-agent-rl {command}: error:"), err
    return lines[0]


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


class TestRefuseClobber:
    def test_the_same_path_a_symlink_and_a_hard_link_are_the_input(self, tmp_path):
        data = tmp_path / "d.jsonl"
        data.write_text("{}\n")
        (tmp_path / "link.jsonl").symlink_to(data)
        os.link(data, tmp_path / "hard.jsonl")
        (tmp_path / "sub").mkdir()
        same = (data, tmp_path / "sub" / ".." / "d.jsonl", tmp_path / "link.jsonl", tmp_path / "hard.jsonl")
        for out in same:
            with pytest.raises(UserError, match="is the input"):
                refuse_clobber([out], [data])
        refuse_clobber([tmp_path / "other.jsonl"], [data])  # a new file is fine

    def test_a_folder_symlinked_into_the_root_is_inside_it(self, tmp_path):
        root = tmp_path / "corpus"
        (root / "1").mkdir(parents=True)
        (tmp_path / "alias").symlink_to(root / "1")
        for out in (root / "1" / "new.jsonl", root / "out.jsonl", tmp_path / "alias" / "x.jsonl"):
            with pytest.raises(UserError, match="inside the input folder"):
                refuse_clobber([out], roots=[root])
        refuse_clobber([tmp_path / "corpus.jsonl"], roots=[root])  # a sibling named like the root

    def test_two_outputs_that_are_one_file(self, tmp_path):
        (tmp_path / "a").write_text("x")
        os.link(tmp_path / "a", tmp_path / "b")
        with pytest.raises(UserError, match="two outputs"):
            refuse_clobber([tmp_path / "a", None, tmp_path / "b"])

    def test_model_folder_must_be_new_or_empty(self, tmp_path):
        assert new_or_empty_folder(tmp_path / "new") == tmp_path / "new"
        assert new_or_empty_folder(tmp_path) == tmp_path  # empty
        (tmp_path / "config.json").write_text("{}")
        with pytest.raises(UserError, match="not empty"):
            new_or_empty_folder(tmp_path)


@pytest.fixture
def corpus_root(corpus):
    for task in ("2", "10"):
        for n in range(2):
            corpus.step(task, n)
    (corpus.root / "prompt.txt").write_text("前缀 <answer>", encoding="utf-8")
    return corpus.root


class TestBuildRefuses:
    @pytest.mark.parametrize(
        "extra",
        [
            ["-o", "{root}/2/step_0.json"],
            ["-o", "{root}/2/2_1.jpg"],
            ["-o", "{root}/prompt.txt", "--prompt", "{root}/prompt.txt"],
            ["-o", "{tmp}/prompt.txt", "--prompt", "{tmp}/prompt.txt"],
            ["-o", "{tmp}/d.jsonl", "--report", "{root}/10/step_1.json"],
            ["-o", "{tmp}/d.jsonl", "--val-fraction", "0.5", "--val-output", "{root}/10/step_0.json"],
            ["-o", "{tmp}/alias/step_0.json"],
            ["-o", "{root}/new.jsonl"],
        ],
    )
    def test_output_onto_an_input_or_into_the_corpus(self, corpus_root, tmp_path, capsys, extra):
        (tmp_path / "prompt.txt").write_text("前缀 <answer>", encoding="utf-8")
        (tmp_path / "alias").symlink_to(corpus_root / "2")
        inputs = [*sorted(p for p in corpus_root.rglob("*") if p.is_file()), tmp_path / "prompt.txt"]
        before = snapshot(*inputs)
        argv = [a.format(root=corpus_root, tmp=tmp_path) for a in extra]
        code, err = run(capsys, "build", corpus_root, *argv)
        assert code == 2
        assert "input" in one_line_error(err, "build")
        assert snapshot(*inputs) == before
        assert not (corpus_root / "new.jsonl").exists() and not (tmp_path / "d.jsonl").exists()

    def test_an_output_beside_the_corpus_still_works(self, corpus_root, tmp_path, capsys):
        assert run(capsys, "build", corpus_root, "-o", tmp_path / "d.jsonl")[0] == 0


@pytest.fixture
def scored(tmp_path):
    """A dataset of one sample and its predictions (as `predict` writes them)."""
    sample = {
        "id": 1,
        "image": [],
        "conversations": [
            {"from": "human", "value": "go back"},
            {"from": "gpt", "value": json.dumps({"action_type": "back", "action_parameter": {}})},
        ],
    }
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(sample) + "\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": 1, "completion": "<answer>{}</answer>"}) + "\n", encoding="utf-8")
    return data, pred


class TestPredictScoreEvalRefuse:
    def test_predict_output_is_its_dataset(self, scored, tmp_path, capsys):
        data, _ = scored
        (tmp_path / "same.jsonl").symlink_to(data)
        before = snapshot(data)
        for out in (data, tmp_path / "same.jsonl"):
            argv = ["predict", "--model", "m", "--api-base", "http://127.0.0.1:9/v1", "--dataset", data]
            code, err = run(capsys, *argv, "--output", out)
            assert code == 2 and "is the input" in one_line_error(err, "predict")
        assert snapshot(data) == before

    @pytest.mark.parametrize("which", ["predictions", "dataset"])
    def test_score_output_is_an_input(self, scored, capsys, which):
        data, pred = scored
        target = pred if which == "predictions" else data
        before = snapshot(data, pred)
        code, err = run(capsys, "score", "--dataset", data, "--predictions", pred, "--output", target)
        assert code == 2 and "is the input" in one_line_error(err, "score")
        assert snapshot(data, pred) == before

    @pytest.mark.parametrize("option", ["--output", "--per-sample"])
    def test_eval_output_is_an_input(self, scored, tmp_path, capsys, option):
        data, pred = scored
        os.link(pred, tmp_path / "hard.jsonl")  # eval writes --output in place: a hard link is the file
        before = snapshot(data, pred)
        for target in (pred, data, tmp_path / "hard.jsonl"):
            code, err = run(capsys, "eval", "--dataset", data, "--predictions", pred, option, target)
            assert code == 2 and "is the input" in one_line_error(err, "eval")
        assert snapshot(data, pred) == before

    def test_eval_output_and_per_sample_are_one_file(self, scored, tmp_path, capsys):
        data, pred = scored
        out = tmp_path / "m.json"
        code, err = run(
            capsys, "eval", "--dataset", data, "--predictions", pred, "--output", out, "--per-sample", out
        )
        assert code == 2 and "two outputs" in one_line_error(err, "eval")


class TestTinyModelRefuses:
    def test_existing_checkpoint_is_left_alone(self, tmp_path, capsys):
        pytest.importorskip("torch")
        checkpoint = tmp_path / "checkpoint"
        checkpoint.mkdir()
        (checkpoint / "model.safetensors").write_bytes(b"trained weights")
        code, err = run(capsys, "tiny-model", checkpoint)
        assert code == 2 and "not empty" in one_line_error(err, "tiny-model")
        assert [p.name for p in checkpoint.iterdir()] == ["model.safetensors"]
        assert (checkpoint / "model.safetensors").read_bytes() == b"trained weights"
