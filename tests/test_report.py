"""The report builder without a browser: the folder, its data, the numbers, the thumbnails, mistakes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from report_fixtures import HOSTILE, make_corpus, read_data_js

from gui_agent_rl.cli import main as cli
from gui_agent_rl.datagen.processes import descendants
from gui_agent_rl.evaluate.curve import RunCurve
from gui_agent_rl.report.build import MARKER
from gui_agent_rl.report.records import episodes
from gui_agent_rl.report.svg import curve_svg
from gui_agent_rl.report.thumbs import thumb_scale


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    paths = make_corpus(root)
    paths["metrics"], paths["verdicts"] = root / "eval.json", root / "verdicts.jsonl"
    assert (
        cli(
            [
                "eval",
                "--dataset",
                str(paths["data"]),
                "--predictions",
                str(paths["pred"]),
                "--by-task",
                "--output",
                str(paths["metrics"]),
                "--per-sample",
                str(paths["verdicts"]),
            ]
        )
        == 0
    )
    paths["report"] = root / "out"
    assert (
        cli(["report", *_inputs(paths), "--compare", str(paths["other"]), "--output", str(paths["report"])])
        == 0
    )
    return paths


def _inputs(paths: dict[str, Path]) -> list[str]:
    return [
        "--dataset",
        str(paths["data"]),
        "--predictions",
        str(paths["pred"]),
        "--image-folder",
        str(paths["corpus"]),
    ]


def _verdicts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestFolder:
    def test_metrics_are_evals_own(self, scored: dict[str, Path]) -> None:
        mine = json.loads((scored["report"] / "metrics.json").read_text(encoding="utf-8"))
        assert mine == json.loads(scored["metrics"].read_text(encoding="utf-8"))
        assert read_data_js(scored["report"])["sides"][0]["metrics"] == mine

    def test_records_follow_the_dataset_and_evals_verdicts(self, scored: dict[str, Path]) -> None:
        data = read_data_js(scored["report"])
        verdicts = _verdicts(scored["verdicts"])
        assert [r["id"] for r in data["records"]] == [v["id"] for v in verdicts]
        assert [r["a"]["ok"] for r in data["records"]] == [v["step_ok"] for v in verdicts]
        for record, verdict in zip(data["records"], verdicts, strict=True):
            assert record["a"]["rewards"] == pytest.approx(verdict["rewards"], abs=1e-6)  # 6 places kept
        assert sum(not v["step_ok"] for v in verdicts) > 3

    def test_compare_side_and_disagreements(self, scored: dict[str, Path]) -> None:
        data = read_data_js(scored["report"])
        assert [s["name"] for s in data["sides"]] == ["pred.jsonl", "other.jsonl"]
        for r in data["records"]:
            assert r["disagree"] == (r["a"]["ok"] != r["b"]["ok"] or r["a"]["pred"] != r["b"]["pred"])
        assert 0 < sum(r["disagree"] for r in data["records"]) < len(data["records"])
        assert (scored["report"] / "compare.metrics.json").is_file()

    def test_episodes_list_steps_in_order(self, scored: dict[str, Path]) -> None:
        data = read_data_js(scored["report"])
        assert len(data["episodes"]) == 8
        for task, indices in data["episodes"].items():
            steps = [data["records"][i]["step"] for i in indices]
            assert steps == sorted(steps) == list(range(4))
            assert {data["records"][i]["task"] for i in indices} == {task}

    def test_thumbnails_exist_and_previous_screens_are_drawn_once(self, scored: dict[str, Path]) -> None:
        records = read_data_js(scored["report"])["records"]
        names = [n for r in records for n in r["thumbs"].values() if n]
        assert all((scored["report"] / n).is_file() for n in names)
        assert {k for r in records for k in r["thumbs"]} == {"a", "b", "prev"}
        prev = [r["thumbs"]["prev"] for r in records if "prev" in r["thumbs"]]
        assert len(prev) == 24 and len(set(prev)) == 24  # steps 1-3 of 8 tasks: each screen once
        with Image.open(scored["report"] / records[0]["thumbs"]["a"]) as image:
            assert image.height == 320

    def test_model_output_is_data_not_markup(self, scored: dict[str, Path]) -> None:
        data = read_data_js(scored["report"])
        assert any(r["a"]["completion"] == HOSTILE for r in data["records"])
        script = (scored["report"] / "report.js").read_text(encoding="utf-8")
        assert "innerHTML" not in script and "eval(" not in script

    def test_page_names_nothing_outside_the_folder(self, scored: dict[str, Path]) -> None:
        html = (scored["report"] / "index.html").read_text(encoding="utf-8")
        assert "default-src 'none'" in html and "connect-src 'none'" in html
        for name in ("index.html", "report.js", "report.css"):
            text = (scored["report"] / name).read_text(encoding="utf-8")
            assert not re.search(r"https?://|//cdn|@import|url\(", text), name
        assert set(re.findall(r'(?:src|href)="([^"#]+)"', html)) == {"report.css", "data.js", "report.js"}


class TestThumbnailMarks:
    def test_truth_green_and_prediction_red_on_a_missed_click(self, scored: dict[str, Path]) -> None:
        data = read_data_js(scored["report"])
        missed = next(
            r
            for r in data["records"]
            if r["ttype"] == "click" and r["a"]["ptype"] == "click" and not r["a"]["ok"]
        )
        with Image.open(scored["report"] / missed["thumbs"]["a"]) as image:
            raw = image.convert("RGB").tobytes()
        pixels = [tuple(raw[k : k + 3]) for k in range(0, len(raw), 3)]
        assert any(g > 120 and r < 80 and b < 110 for r, g, b in pixels)  # viz's TRUTH_COLOUR (0, 160, 60)
        assert any(r > 190 and g < 80 and b < 80 for r, g, b in pixels)  # viz's PRED_COLOUR (225, 30, 30)

    def test_thumb_scale_shrinks_phones_and_grows_tiny_screens_up_to_a_cap(self) -> None:
        assert thumb_scale((1080, 2400), 320) == pytest.approx(320 / 2400)
        assert thumb_scale((10, 10), 320) == 8.0


class TestRebuild:
    def test_workers_draw_the_same_thumbnails(self, scored: dict[str, Path], tmp_path: Path) -> None:
        out = tmp_path / "two"
        assert cli(["report", *_inputs(scored), "--output", str(out), "--workers", "2"]) == 0
        assert not descendants(os.getpid())  # the worker is gone
        for name in ("t/00005.jpg", "p/00003.jpg"):
            assert (out / name).read_bytes() == (scored["report"] / name).read_bytes()

    def test_a_report_replaces_the_previous_one(self, scored: dict[str, Path], tmp_path: Path) -> None:
        out = tmp_path / "r"
        assert cli(["report", *_inputs(scored), "--output", str(out), "--compare", str(scored["other"])]) == 0
        assert (out / "t" / "00000b.jpg").is_file()
        assert cli(["report", *_inputs(scored), "--output", str(out), "--no-images"]) == 0
        assert (out / MARKER).is_file() and not (out / "t" / "00000b.jpg").exists()
        assert not (out / "compare.metrics.json").exists()
        assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary folder left behind

    def test_missing_screenshot_is_left_out_with_a_note(
        self, scored: dict[str, Path], tmp_path: Path
    ) -> None:
        lines = scored["data"].read_text(encoding="utf-8").splitlines()
        sample = json.loads(lines[0])
        sample["image"] = ["nowhere/missing.jpg"]
        sample["image_sizes"] = sample["image_sizes"][-1:]
        data = tmp_path / "d.jsonl"
        data.write_text("\n".join([*lines[1:], json.dumps(sample)]) + "\n", encoding="utf-8")
        out = tmp_path / "r"
        args = [
            "--dataset",
            str(data),
            "--predictions",
            str(scored["pred"]),
            "--image-folder",
            str(scored["corpus"]),
        ]
        assert cli(["report", *args, "--output", str(out)]) == 0
        last = read_data_js(out)["records"][-1]
        assert last["thumbs"]["a"] is None and "missing.jpg" in last["notes"][0]


class TestMistakes:
    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--run", "no/such/run"], "no such run folder"),
            (["--rewards", "nonsense"], "nonsense"),
            (["--thumb-height", "8"], "at least 16"),
            (["--min-pixels", "9000", "--max-pixels", "10"], "larger than"),
        ],
    )
    def test_one_line_exit_2(self, scored, tmp_path, capsys, extra, message) -> None:
        assert cli(["report", *_inputs(scored), "--output", str(tmp_path / "r"), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err

    def test_output_folder_with_other_files_is_refused(self, scored, tmp_path, capsys) -> None:
        (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
        assert cli(["report", *_inputs(scored), "--output", str(tmp_path)]) == 2
        assert "holds no report" in capsys.readouterr().err
        assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"

    def test_inputs_inside_the_output_are_refused(self, scored, tmp_path, capsys) -> None:
        inside = tmp_path / "r" / "pred.jsonl"
        inside.parent.mkdir()
        inside.write_bytes(scored["pred"].read_bytes())
        (tmp_path / "r" / MARKER).write_text("", encoding="utf-8")
        args = [
            "--dataset",
            str(scored["data"]),
            "--predictions",
            str(inside),
            "--no-images",
            "--output",
            str(tmp_path / "r"),
        ]
        assert cli(["report", *args]) == 2
        assert "holds the input" in capsys.readouterr().err and inside.is_file()

    def test_output_inside_the_image_folder_is_refused(self, scored, capsys) -> None:
        out = scored["corpus"] / "report"
        assert cli(["report", *_inputs(scored), "--output", str(out)]) == 2
        assert "inside the input folder" in capsys.readouterr().err and not out.exists()

    def test_screens_missing_from_the_image_folder_are_left_out(self, scored, tmp_path) -> None:
        (tmp_path / "empty").mkdir()
        args = [*_inputs(scored), "--image-folder", str(tmp_path / "empty"), "--output", str(tmp_path / "r")]
        assert cli(["report", *args]) == 0  # the folder exists: screens left out, said per sample
        records = read_data_js(tmp_path / "r")["records"]
        assert all(r["thumbs"]["a"] is None for r in records)


class TestPieces:
    def test_curve_svg_draws_each_reward_and_breaks_at_gaps(self) -> None:
        run = RunCurve("<run&1>", Path("x"), [1, 2, 3, 4], {
            "rewards/format/mean": [0.1, 0.2, None, 0.5],
            "rewards/accuracy/mean": [0.0, 0.1, 0.3, 0.2],
            "loss": [1.0, 0.9, 0.8, 0.7],
        })  # fmt: skip
        svg = curve_svg(run)
        assert svg is not None and svg.count("<polyline") == 3  # format in two pieces, accuracy in one
        assert "&lt;run&amp;1&gt;" in svg and "<run&1>" not in svg
        assert ">format<" in svg and ">accuracy<" in svg and ">loss<" not in svg

    def test_curve_svg_of_a_run_without_rewards_is_none(self) -> None:
        assert curve_svg(RunCurve("sft", Path("x"), [1, 2], {"loss": [1.0, 0.5]})) is None

    def test_curve_svg_of_a_long_run_is_thinned(self) -> None:
        steps = list(range(1, 20001))
        svg = curve_svg(RunCurve("long", Path("x"), steps, {"reward": [s / 20000 for s in steps]}))
        assert svg is not None and len(svg) < 20000

    def test_episodes_put_unnumbered_steps_last(self) -> None:
        records = [
            {"i": 0, "task": "t", "step": None},
            {"i": 1, "task": "t", "step": 3},
            {"i": 2, "task": 5, "step": 1},
        ]
        assert episodes(records) == {"t": [1, 0], "5": [2]}


def test_runs_are_drawn_on_the_page(scored: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rollouts = [
        {"step": s, "rewards": {"format": s / 4, "accuracy": 0.1}, "completion": "x"} for s in range(4)
    ]
    (run / "rollouts.jsonl").write_text("\n".join(json.dumps(r) for r in rollouts) + "\n", encoding="utf-8")
    out = tmp_path / "r"
    assert cli(["report", *_inputs(scored), "--no-images", "--run", str(run), "--output", str(out)]) == 0
    runs = read_data_js(out)["runs"]
    assert [r["name"] for r in runs] == ["run"] and runs[0]["steps"] == 4 and "<polyline" in runs[0]["svg"]
    assert runs[0]["last"] == {"rewards/format/mean": "0.75", "rewards/accuracy/mean": "0.1"}
