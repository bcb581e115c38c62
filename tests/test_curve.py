"""``gui-agent-rl curve``: reading run logs (trainer_state.json, checkpoints, rollouts), table, CSV, PNG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.curve import format_csv, format_table, read_run, read_runs, smooth, table_rows
from gui_agent_rl.evaluate.curve_plot import panels


def grpo_entry(step: int, fmt: float, acc: float, **extra) -> dict:
    """One GRPO log entry as TRL 1.16 writes it (keys sorted, spreads and bookkeeping included)."""
    return {
        "clip_ratio/region_mean": 0.0,
        "completions/clipped_ratio": 0.5,
        "completions/max_length": 64.0,
        "completions/mean_length": 40.0 + step,
        "completions/min_length": 12.0,
        "entropy": 1.5,
        "epoch": step / 10,
        "grad_norm": 0.1 * step,
        "kl": 0.001 * step,
        "learning_rate": 1e-6 * (4 - step),
        "loss": 0.01 * step,
        "reward": fmt + acc,
        "reward_std": 0.3,
        "rewards/accuracy/mean": acc,
        "rewards/accuracy/std": 0.2,
        "rewards/format/mean": fmt,
        "rewards/format/std": 0.1,
        "step": step,
        "step_time": 1.25,
        **extra,
    }


GRPO_HISTORY = [
    grpo_entry(1, 0.5, 0.0),
    grpo_entry(2, 1.25, 0.125),
    {"eval_loss": 0.75, "eval_runtime": 3.0, "epoch": 0.2, "step": 2},  # merges into step 2's row
    grpo_entry(3, 2.0, 0.5),
    {"epoch": 0.3, "step": 3, "total_flos": 0.0, "train_loss": 0.02, "train_runtime": 9.0},  # summary
]


def write_state(folder: Path, history: list[dict], name: str = "trainer_state.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"global_step": 3, "log_history": history}), encoding="utf-8")
    return folder


def write_rollouts(path: Path, lines: list[dict], tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + tail, encoding="utf-8")


@pytest.fixture
def grpo_run(tmp_path) -> Path:
    return write_state(tmp_path / "grpo-a", GRPO_HISTORY)


class TestTrainerState:
    def test_table_has_a_row_per_step_and_the_headline_columns(self, grpo_run):
        assert format_table(read_run(grpo_run)).splitlines() == [
            f"grpo-a (3 logged steps from {grpo_run / 'trainer_state.json'})",
            "step  accuracy  format  reward     kl  len_mean  len_max  clipped  loss  entropy        lr",
            "   1         0     0.5     0.5  0.001        41       64      0.5  0.01      1.5  3.00e-06",
            "   2     0.125    1.25   1.375  0.002        42       64      0.5  0.02      1.5  2.00e-06",
            "   3       0.5       2     2.5  0.003        43       64      0.5  0.03      1.5  1.00e-06",
        ]

    def test_summary_entry_dropped_and_eval_merged_into_its_step(self, grpo_run):
        run = read_run(grpo_run)
        assert run.steps == [1, 2, 3]
        assert "train_runtime" not in run.metrics and "train_loss" not in run.metrics
        assert run.metrics["eval_loss"] == [None, 0.75, None]
        assert run.metrics["epoch"] == [0.1, 0.2, 0.3]  # eval entry's epoch at step 2, same value

    def test_smoothing_is_a_trailing_mean_except_the_learning_rate(self, grpo_run):
        lines = format_table(read_run(grpo_run), window=2).splitlines()
        assert lines[0].endswith("; trailing mean over 2 steps)")
        assert lines[2].split() == [
            "1",
            "0",
            "0.5",
            "0.5",
            "0.001",
            "41",
            "64",
            "0.5",
            "0.01",
            "1.5",
            "3.00e-06",
        ]
        assert lines[4].split()[:4] == ["3", "0.3125", "1.625", "1.938"]
        assert lines[4].split()[-1] == "1.00e-06"  # a schedule is printed as logged

    def test_long_run_prints_twenty_spaced_rows_and_the_last(self, tmp_path):
        run = read_run(write_state(tmp_path / "long", [grpo_entry(s, 1.0, 0.0) for s in range(1, 1001)]))
        lines = format_table(run).splitlines()
        assert "1000 logged steps" in lines[0] and "21 rows shown" in lines[0]
        steps = [int(line.split()[0]) for line in lines[2:]]
        assert len(steps) == 21 and steps[0] == 1 and steps[-1] == 1000
        assert steps == sorted(steps)

    def test_newest_checkpoint_when_the_top_level_state_is_missing(self, tmp_path):
        run_dir = tmp_path / "killed"
        write_state(run_dir / "checkpoint-9", GRPO_HISTORY[:1])
        write_state(run_dir / "checkpoint-10", GRPO_HISTORY[:2])  # numerically newest, not "9" > "10"
        write_state(run_dir / "checkpoint-best", GRPO_HISTORY)  # not a checkpoint-N folder
        run = read_run(run_dir)
        assert run.source == run_dir / "checkpoint-10" / "trainer_state.json"
        assert run.steps == [1, 2]

    def test_top_level_state_wins_over_checkpoints_and_rollouts(self, grpo_run):
        write_state(grpo_run / "checkpoint-1", GRPO_HISTORY[:1])
        write_rollouts(grpo_run / "rollouts.jsonl", [{"step": 0, "rewards": {"format": 2.0}}])
        assert read_run(grpo_run).source == grpo_run / "trainer_state.json"

    def test_a_trainer_state_file_is_accepted_as_run_dir(self, grpo_run):
        run = read_run(grpo_run / "trainer_state.json")
        assert run.name == "grpo-a" and run.steps == [1, 2, 3]


class TestRollouts:
    def test_per_step_reward_means_from_all_ranks_shifted_to_trainer_steps(self, tmp_path):
        run_dir = tmp_path / "no-state"
        write_rollouts(
            run_dir / "rollouts.jsonl",
            [
                {"step": 0, "id": "a", "completion": "abcd", "rewards": {"format": 1.0, "accuracy": 0.0}},
                {"step": 0, "id": "a", "completion": "ab", "rewards": {"format": 2.0, "accuracy": None}},
                {"step": 1, "id": "b", "completion": "abcdef", "rewards": {"format": 2.0, "accuracy": 1.0}},
            ],
            tail='{"step": 2, "id": "c", "compl',  # the half-written line of a killed run
        )
        write_rollouts(
            run_dir / "rollouts-rank1.jsonl",
            [{"step": 1, "id": "c", "completion": "ab", "rewards": {"format": 0.0, "accuracy": 0.5}}],
        )
        run = read_run(run_dir)
        assert run.source == run_dir / "rollouts.jsonl"
        assert run.steps == [1, 2]
        assert run.metrics["rewards/format/mean"] == [1.5, 1.0]
        assert run.metrics["rewards/accuracy/mean"] == [0.0, 0.75]  # None is not a zero
        assert run.metrics["completions/mean_chars"] == [3.0, 4.0]
        assert format_table(run).splitlines()[1:] == [
            "step  format  accuracy  chars_mean",
            "   1     1.5         0           3",
            "   2       1      0.75           4",
        ]

    def test_rollouts_used_when_the_state_has_no_logged_step(self, tmp_path):
        run_dir = write_state(tmp_path / "early", [])
        write_rollouts(run_dir / "rollouts.jsonl", [{"step": 4, "completion": "x", "rewards": {"f": 1}}])
        assert read_run(run_dir).steps == [5]


class TestSftAndPanels:
    def test_sft_keys_are_shown_generically(self, tmp_path):
        history = [
            {"step": s, "epoch": s / 4, "loss": 2.0 / s, "grad_norm": 1.0 + s, "learning_rate": 2e-5,
             "entropy": 1.0 / s, "num_tokens": 512.0 * s, "mean_token_accuracy": 0.5 + s / 10}
            for s in (1, 2, 3)
        ]  # fmt: skip
        run = read_run(write_state(tmp_path / "sft", history))
        assert format_table(run).splitlines()[1].split() == ["step", "loss", "tok_acc", "entropy", "lr"]
        assert panels([run]) == [
            ("loss", ["loss"]),
            ("mean token accuracy", ["mean_token_accuracy"]),
            ("entropy", ["entropy"]),
            ("learning rate", ["learning_rate"]),
            ("grad norm", ["grad_norm"]),
            ("num tokens", ["num_tokens"]),
        ]

    def test_grpo_panels_leave_spreads_and_constants_out(self, grpo_run):
        titled = dict(panels([read_run(grpo_run)]))
        assert titled["rewards (mean per step)"] == ["rewards/accuracy/mean", "rewards/format/mean", "reward"]
        assert titled["completion length"] == ["completions/mean_length", "completions/max_length"]
        assert titled["loss"] == ["loss", "eval_loss"]
        assert titled["grad norm"] == ["grad_norm"]
        keys = {k for ks in titled.values() for k in ks}
        assert not keys & {"reward_std", "rewards/format/std", "epoch", "step_time", "completions/min_length"}
        assert "clip_ratio/region_mean" not in keys  # constant 0.0

    def test_same_folder_names_are_told_apart_by_path(self, tmp_path):
        a = write_state(tmp_path / "a" / "run", GRPO_HISTORY)
        b = write_state(tmp_path / "b" / "run", GRPO_HISTORY)
        assert [r.name for r in read_runs([a, b])] == [str(a), str(b)]

    def test_smooth_window_counts_steps_not_logged_points(self):
        assert smooth([10, 20, 30], [1.0, 2.0, 3.0], 15) == [1.0, 1.5, 2.5]
        assert smooth([50, 100], [1.0, 3.0], 10) == [1.0, 3.0]

    def test_table_rows_small_and_large(self):
        assert table_rows(21) == list(range(21))
        assert len(table_rows(22)) == 21 and table_rows(22)[-1] == 21


class TestCli:
    def test_two_runs_overlay_into_one_png_and_csv(self, grpo_run, tmp_path, capsys):
        other = tmp_path / "grpo-b"
        write_rollouts(
            other / "rollouts.jsonl", [{"step": s, "rewards": {"format": s / 2}} for s in range(5)]
        )
        out, table = tmp_path / "curve.png", tmp_path / "table.csv"
        assert main(["curve", str(grpo_run), str(other), "--output", str(out), "--csv", str(table)]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith("grpo-a (3 logged steps") and "\ngrpo-b (5 logged steps" in printed
        assert f"panels written to {out}, all values to {table}" in printed
        with Image.open(out) as image:
            image.verify()
        with Image.open(out) as image:
            assert image.format == "PNG"
            assert image.size[0] == 1280 and 640 <= image.size[1] <= 2000
        assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "grpo-a", "grpo-b", "table.csv"]

    def test_csv_has_every_raw_number_headline_keys_first(self, grpo_run, tmp_path):
        out, table = tmp_path / "c.png", tmp_path / "t.csv"
        assert main(["curve", str(grpo_run), "-o", str(out), "--csv", str(table), "--smooth", "2"]) == 0
        lines = table.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        assert header[:6] == ["run", "step", "rewards/accuracy/mean", "rewards/format/mean", "reward", "kl"]
        assert {"reward_std", "step_time", "eval_loss", "epoch", "rewards/format/std"} <= set(header)
        assert len(lines) == 4
        row = dict(zip(header, lines[3].split(","), strict=True))  # raw, not smoothed
        assert row["run"] == "grpo-a" and row["step"] == "3"
        assert row["rewards/format/mean"] == "2.0" and row["learning_rate"] == "1e-06"
        assert dict(zip(header, lines[2].split(","), strict=True))["eval_loss"] == "0.75"
        assert row["eval_loss"] == ""  # not logged at step 3

    def test_format_csv_names_each_run(self, grpo_run):
        lines = format_csv([read_run(grpo_run)]).splitlines()
        assert [line.split(",")[:2] for line in lines[1:]] == [
            ["grpo-a", "1"],
            ["grpo-a", "2"],
            ["grpo-a", "3"],
        ]

    @pytest.mark.parametrize(
        ("setup", "message"),
        [
            (lambda d: None, "no such run folder"),
            (lambda d: d.mkdir(), "no logged steps"),
            (
                lambda d: (d.mkdir(), (d / "trainer_state.json").write_text("{oops")),
                "not a trainer_state.json",
            ),
            (lambda d: (d.mkdir(), (d / "rollouts.jsonl").write_text("garbage\n")), "no logged steps"),
        ],
        ids=["missing", "empty", "bad-json", "no-rollout-lines"],
    )
    def test_a_run_without_logs_is_one_line_exit_2(self, tmp_path, capsys, setup, message):
        run_dir = tmp_path / "bad-run"
        setup(run_dir)
        out = tmp_path / "c.png"
        assert main(["curve", str(run_dir), "--output", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("gui-agent-rl curve: error: ")
        assert str(run_dir) in err and message in err
        assert not out.exists()

    def test_output_folder_missing_is_exit_2(self, grpo_run, tmp_path, capsys):
        assert main(["curve", str(grpo_run), "--output", str(tmp_path / "nope" / "c.png")]) == 2
        assert "output folder does not exist" in capsys.readouterr().err

    def test_other_file_as_run_dir_is_exit_2(self, tmp_path, capsys):
        (tmp_path / "notes.txt").write_text("hello")
        assert main(["curve", str(tmp_path / "notes.txt"), "--output", str(tmp_path / "c.png")]) == 2
        assert "expected a run folder" in capsys.readouterr().err

    def test_smooth_must_be_positive(self, grpo_run, tmp_path, capsys):
        with pytest.raises(SystemExit) as exc:
            main(["curve", str(grpo_run), "--output", str(tmp_path / "c.png"), "--smooth", "0"])
        assert exc.value.code == 2

    def test_reading_and_cli_do_not_import_matplotlib(self):
        code = (
            "import sys, gui_agent_rl.cli, gui_agent_rl.evaluate.curve\n"
            "gui_agent_rl.cli.build_parser()\n"
            "assert 'matplotlib' not in sys.modules"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
@pytest.mark.train
def test_curve_of_a_real_two_step_grpo_run(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("trl")
    from gui_agent_rl.train.config import parse_train_args
    from gui_agent_rl.train.grpo import train
    from gui_agent_rl.train.tiny import build_tiny_model, write_tiny_dataset

    model = build_tiny_model(tmp_path / "model")
    data = write_tiny_dataset(tmp_path / "data", n_samples=4)
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "tiny-cpu.yaml"
    argv = ["--config", str(recipe), "--model_name_or_path", str(model), "--data_file_paths", str(data),
            "--image_folders", str(data.parent), "--output_dir", str(tmp_path / "run")]  # fmt: skip
    train(*parse_train_args(argv))
    capsys.readouterr()  # the trainer's own output
    assert main(["curve", str(tmp_path / "run"), "--output", str(tmp_path / "c.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run (2 logged steps from")
    assert lines[1].split()[:4] == ["step", "accuracy", "format", "reward"]
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    with Image.open(tmp_path / "c.png") as image:
        assert image.format == "PNG"
