"""``gui-agent-rl build | stats | show | synth`` run in-process: exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gui_agent_rl.cli as cli
from gui_agent_rl.cli import data as data_cli
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
from gui_agent_rl.schemas import read_samples

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def only_data_commands(monkeypatch):
    """Parse with this module's subcommands only, so another command module cannot break these tests."""
    monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"gui-agent-rl {command}: error:")
    return lines[0]


@pytest.fixture
def good_corpus(corpus):
    for task in ("2", "10"):
        for n in range(2):
            corpus.step(task, n)
    return corpus


class TestBuild:
    def test_build_writes_output_report_and_summary(self, good_corpus, tmp_path, capsys):
        out = tmp_path / "d.jsonl"
        code, _, err = run(capsys, "build", good_corpus.root, "-o", out, "--think", "--reward-method", "iou")
        assert code == 0
        samples = list(read_samples(out))
        assert [(s.task_id, s.step) for s in samples] == [("2", 0), ("2", 1), ("10", 0), ("10", 1)]
        assert samples[0].prompt.startswith(load_prompt(think=True))
        assert samples[0].accu_reward_method == "iou"
        assert (tmp_path / "d.report.jsonl").read_text() == ""
        assert "kept 4 of 4 steps in 2 tasks" in err and "steps/s" in err

    def test_strict_exits_1_when_anything_was_rejected(self, good_corpus, tmp_path, capsys):
        good_corpus.step("10", 2, raw=b"{oops")
        report = tmp_path / "r.jsonl"
        out = tmp_path / "d.jsonl"
        assert run(capsys, "build", good_corpus.root, "-o", out, "--report", report)[0] == 0
        code, _, err = run(capsys, "build", good_corpus.root, "-o", out, "--report", report, "--strict")
        assert code == 1 and "rejected 1" in err
        (line,) = report.read_text("utf-8").splitlines()
        assert json.loads(line)["path"] == "10/step_2.json"

    def test_user_prompt_file_is_used_verbatim(self, good_corpus, tmp_path, capsys):
        prompt = tmp_path / "p.txt"
        prompt.write_text("我的前缀\n", encoding="utf-8")
        out = tmp_path / "d.jsonl"
        assert run(capsys, "build", good_corpus.root, "-o", out, "--prompt", prompt)[0] == 0
        assert next(read_samples(out)).prompt.startswith("我的前缀\n{")

    def test_split_writes_a_validation_file(self, good_corpus, tmp_path, capsys):
        out = tmp_path / "d.jsonl"
        code, _, err = run(
            capsys, "build", good_corpus.root, "-o", out, "--val-fraction", "0.5", "--workers", "2"
        )
        assert code == 0 and (tmp_path / "d.val.jsonl").exists() and "val 2" in err

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["build", "{tmp}/nowhere", "-o", "{tmp}/d.jsonl"], "no such folder"),
            (["build", "{tmp}/file.txt", "-o", "{tmp}/d.jsonl"], "not a folder"),
            (["build", "{root}", "-o", "{tmp}/missing/d.jsonl"], "output folder does not exist"),
            (["build", "{root}", "-o", "{tmp}"], "is a folder"),
            (
                ["build", "{root}", "-o", "{tmp}/d.jsonl", "--report", "{tmp}/d.jsonl"],
                "must be different files",
            ),
            (
                ["build", "{root}", "-o", "{tmp}/d.jsonl", "--reward-method", "nope"],
                "unknown --reward-method",
            ),
            (["build", "{root}", "-o", "{tmp}/d.jsonl", "--prompt", "{tmp}/marker.txt"], "contains <image>"),
            (["build", "{root}", "-o", "{tmp}/d.jsonl", "--prompt", "{tmp}/gbk.txt"], "not UTF-8"),
            (
                ["build", "{root}", "-o", "{tmp}/d.jsonl", "--val-output", "{tmp}/v.jsonl"],
                "needs --val-fraction",
            ),
        ],
    )
    def test_user_mistakes_exit_2_with_one_line(self, good_corpus, tmp_path, capsys, args, message):
        (tmp_path / "file.txt").write_text("x")
        (tmp_path / "marker.txt").write_text("看 <image>", encoding="utf-8")
        (tmp_path / "gbk.txt").write_bytes("前缀：请回答".encode("gbk"))
        argv = [a.format(tmp=tmp_path, root=good_corpus.root) for a in args]
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert message in _one_line_error(err, "build")
        assert not (tmp_path / "d.jsonl").exists()

    @pytest.mark.parametrize(
        "option", [["--val-fraction", "1.5"], ["--workers", "0"], ["--image-check", "x"]]
    )
    def test_bad_option_values_exit_2_via_argparse(self, good_corpus, tmp_path, capsys, option):
        code, _, err = run(capsys, "build", good_corpus.root, "-o", tmp_path / "d.jsonl", *option)
        assert code == 2 and "Traceback" not in err and "error:" in err


class TestStatsAndShow:
    def test_stats_prints_figures_and_flags_over_budget(self, capsys):
        code, out, _ = run(capsys, "stats", EXAMPLES / "corpus.jsonl", "--max-prompt-tokens", "5000")
        assert code == 0
        assert "samples: 30" in out and "tasks: 6" in out and "1080x2400: 54" in out
        assert "over the budget of 5000 tokens: 24" in out  # every two-screen sample at full resolution

    def test_stats_with_smaller_max_pixels_fits_the_budget(self, capsys):
        code, out, _ = run(
            capsys,
            "stats",
            EXAMPLES / "corpus.jsonl",
            "--max-pixels",
            "1003520",
            "--max-prompt-tokens",
            "5000",
        )
        assert code == 0 and "over the budget of 5000 tokens: 0" in out

    def test_stats_on_a_broken_file_is_a_one_line_error(self, tmp_path, capsys):
        bad = tmp_path / "bad.jsonl"
        bad.write_text("{nope\n")
        code, _, err = run(capsys, "stats", bad)
        assert code == 2 and "bad.jsonl:1:" in _one_line_error(err, "stats")

    def test_show_expands_the_prompt_input_and_the_inquiry(self, capsys):
        inquiry_id = next(
            s.id for s in read_samples(EXAMPLES / "corpus.jsonl") if '"action_type": "inquiry"' in s.solution
        )
        code, out, _ = run(capsys, "show", EXAMPLES / "corpus.jsonl", "--id", inquiry_id)
        assert code == 0
        assert f"id {inquiry_id}" in out and '"screen_path2": "<image>"' in out
        assert '"Question":' in out and '"AnswerIndex":' in out  # the JSON string, expanded
        assert "prompt prefix:" in out and "# 角色" not in out

    def test_show_random_is_reproducible_with_a_seed_and_full_prompt_prints_it(self, capsys):
        first = run(capsys, "show", EXAMPLES / "corpus.jsonl", "--random", "--seed", "4", "--full-prompt")
        second = run(capsys, "show", EXAMPLES / "corpus.jsonl", "--random", "--seed", "4", "--full-prompt")
        assert first[0] == 0 and first[1] == second[1] and "# 角色" in first[1]

    def test_show_unknown_id_exits_2(self, capsys):
        code, _, err = run(capsys, "show", EXAMPLES / "corpus.jsonl", "--id", "999")
        assert code == 2 and "no sample with id 999" in _one_line_error(err, "show")


class TestSynth:
    def test_synth_then_build_is_clean(self, tmp_path, capsys):
        root = tmp_path / "syn"
        code, _, err = run(capsys, "synth", root, "--tasks", "2", "--steps", "3", "--size", "270x600")
        assert code == 0 and "wrote 6 steps" in err
        assert run(capsys, "build", root, "-o", tmp_path / "d.jsonl", "--strict")[0] == 0

    @pytest.mark.parametrize(("size", "message"), [("big", "must be WxH"), ("50x50", "too small")])
    def test_bad_size_exits_2(self, tmp_path, capsys, size, message):
        code, _, err = run(capsys, "synth", tmp_path / "s", "--size", size)
        assert code == 2 and message in _one_line_error(err, "synth")

    def test_refuses_a_folder_that_is_not_empty(self, tmp_path, capsys):
        (tmp_path / "s").mkdir()
        (tmp_path / "s" / "keep.txt").write_text("x")
        code, _, err = run(capsys, "synth", tmp_path / "s")
        assert code == 2 and "not an empty folder" in _one_line_error(err, "synth")


class TestShippedExample:
    def test_example_dataset_is_what_build_makes_from_the_example_corpus(self, tmp_path):
        out = tmp_path / "corpus.jsonl"
        summary = build_dataset(EXAMPLES / "corpus", out, prompt=load_prompt())
        assert summary.rejected == {}
        assert out.read_bytes() == (EXAMPLES / "corpus.jsonl").read_bytes()

    def test_example_corpus_stays_small(self):
        total = sum(p.stat().st_size for p in (EXAMPLES / "corpus").rglob("*") if p.is_file())
        total += (EXAMPLES / "corpus.jsonl").stat().st_size
        assert total < 2_000_000
