"""Hostile corpora (issue 11, items 4, 7, 8): ``build`` never hangs, never aborts on one bad entry,
writes only samples every other command accepts, and reports every entry it does not use."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

import gui_agent_rl.cli as cli
from gui_agent_rl.cli import data as data_cli
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.images import ImageError, check_image
from gui_agent_rl.datagen.stats import dataset_stats
from gui_agent_rl.datagen.walk import CorpusError, scan_root, step_files
from gui_agent_rl.schemas import JsonlError, read_samples, visual_tokens

PROMPT = "前缀:请根据输入给出下一步动作。\n"


@contextmanager
def deadline(seconds: int):
    """Raise TimeoutError in this thread after ``seconds`` (a blocked open() is interrupted too)."""

    def fire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _build(root: Path, tmp_path: Path, **kw):
    out = tmp_path / "out.jsonl"
    with deadline(60):
        summary = build_dataset(root, out, prompt=PROMPT, **kw)
    samples = list(read_samples(out))
    report = [json.loads(line) for line in summary.report.read_text("utf-8").splitlines()]
    return summary, samples, report


def _by_path(report) -> dict[str, dict]:
    return {r["path"]: r for r in report}


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (valid IHDR and IEND, no pixels): passes a header check."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _every_command_accepts(path: Path) -> None:
    """What stats/show/score/eval/viz/train need of each line: a valid Sample whose markers match its
    images, and sizes Qwen's processor accepts."""
    for sample in read_samples(path):
        assert sample.prompt.count("<image>") == len(sample.images)
        for w, h in sample.image_sizes or []:
            assert visual_tokens(w, h) > 0
    dataset_stats(path)


# --- item 4: non-regular files and walk errors -------------------------------------------------


class TestNonRegularFiles:
    def test_a_fifo_screenshot_is_refused_without_opening_it(self, corpus, tmp_path, monkeypatch):
        corpus.step("1", 0)
        corpus.step("1", 1, screen_path2="pipe.jpg")
        (corpus.root / "1" / "pipe.jpg").unlink()  # the fixture made a real image
        os.mkfifo(corpus.root / "1" / "pipe.jpg")
        real_open = os.open

        def no_fifo_open(path, *a, **kw):
            assert not str(path).endswith("pipe.jpg"), "opened the FIFO"
            return real_open(path, *a, **kw)

        monkeypatch.setattr(os, "open", no_fifo_open)
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [0]
        (line,) = report
        assert line["path"] == "1/step_1.json" and line["kind"] == "image"
        assert "FIFO" in line["reason"]

    @pytest.mark.parametrize("mode", ["quick", "full"])
    def test_check_image_names_each_kind_of_non_regular_file(self, tmp_path, mode):
        os.mkfifo(tmp_path / "fifo.png")
        (tmp_path / "dir.png").mkdir()
        os.symlink("/dev/null", tmp_path / "dev.png")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / "sock.png"))
        try:
            with deadline(10):
                for name, words in [
                    ("fifo.png", "FIFO"),
                    ("dir.png", "folder"),
                    ("dev.png", "device"),
                    ("sock.png", "socket"),
                ]:
                    with pytest.raises(ImageError, match=words):
                        check_image(tmp_path / name, mode)
        finally:
            sock.close()

    def test_a_self_looping_symlink_as_screenshot_is_one_report_line(self, corpus, tmp_path):
        corpus.step("1", 0)
        corpus.step("1", 1, screen_path2="loop.jpg")
        (corpus.root / "1" / "loop.jpg").unlink()
        os.symlink("loop.jpg", corpus.root / "1" / "loop.jpg")
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [0]
        assert _by_path(report)["1/step_1.json"]["kind"] == "image"


class TestWalkErrors:
    def test_an_unreadable_task_folder_is_one_report_line_and_the_build_goes_on(
        self, corpus, tmp_path, monkeypatch
    ):
        for task in ("1", "2", "3"):
            corpus.step(task, 0)
        locked = str(corpus.root / "2")
        real_scandir = os.scandir

        def scandir(path="."):
            if os.fspath(path) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", locked)
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.task_id for s in samples] == ["1", "3"]
        (line,) = report
        assert line["path"] == "2" and line["kind"] == "unreadable"
        assert "Permission denied" in line["reason"]

    def test_self_looping_symlinks_under_root_and_in_a_task_are_report_lines(self, corpus, tmp_path):
        corpus.step("1", 0)
        os.symlink("77", corpus.root / "77")  # a task-like name pointing at itself
        os.symlink("step_3.json", corpus.root / "1" / "step_3.json")
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [0]
        lines = _by_path(report)
        assert set(lines) == {"77", "1/step_3.json"}
        assert all(r["kind"] == "unreadable" for r in report)
        assert "symbolic links" in lines["77"]["reason"]

    def test_an_unreadable_root_is_a_one_line_error(self, corpus, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])
        corpus.step("1", 0)
        real_scandir = os.scandir

        def scandir(path="."):
            if os.fspath(path) == str(corpus.root):
                raise PermissionError(errno.EACCES, "Permission denied", str(corpus.root))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
        code = cli.main(["build", str(corpus.root), "-o", str(tmp_path / "o.jsonl")])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Permission denied" in err, err

    def test_worker_processes_report_the_same_lines_as_one_process(self, corpus, tmp_path):
        for task in range(1, 30):
            corpus.step(str(task), 0)
        os.mkfifo(corpus.root / "3" / "step_1.json")
        (corpus.root / "4" / "step_00.json").write_bytes((corpus.root / "4" / "step_0.json").read_bytes())
        (corpus.root / "5" / "step_0.json").rename(corpus.root / "5" / "step_0.JSON")
        corpus.step("6", 1, task_content="<image>")
        (corpus.root / "abc").mkdir()
        with deadline(60):
            one = build_dataset(corpus.root, tmp_path / "one.jsonl", prompt=PROMPT)
            two = build_dataset(corpus.root, tmp_path / "two.jsonl", prompt=PROMPT, workers=3)
        assert one.rejected == two.rejected and sum(one.rejected.values()) == 6
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
        assert one.report.read_bytes() == two.report.read_bytes()

    def test_a_step_file_that_is_a_fifo_or_a_folder_is_reported_not_opened(self, corpus, tmp_path):
        corpus.step("1", 0)
        os.mkfifo(corpus.root / "1" / "step_1.json")
        (corpus.root / "1" / "step_2.json").mkdir()
        _, samples, report = _build(corpus.root, tmp_path)
        lines = _by_path(report)
        assert "FIFO" in lines["1/step_1.json"]["reason"]
        assert "folder" in lines["1/step_2.json"]["reason"]
        assert [s.step for s in samples] == [0]


# --- item 7: only samples every other command accepts --------------------------------------------


class TestUnusableSamples:
    @pytest.mark.parametrize("layout", ["compact", "seed"])
    @pytest.mark.parametrize(
        "field",
        [
            {"task_content": "看 <image> 这里"},
            {"history_path_all": ["打开", "<image>"]},
            {"app_name": "<image>"},
        ],
    )
    def test_an_image_marker_inside_step_text_is_rejected(self, corpus, tmp_path, layout, field):
        corpus.step("1", 0)
        corpus.step("1", 1, **field)
        corpus.step("1", 2, screen_path2="")  # text-only: one stray marker would be 1 for 0 images
        corpus.step("1", 3, screen_path2="", **field)
        _, samples, report = _build(corpus.root, tmp_path, layout=layout)
        assert [s.step for s in samples] == [0, 2]
        assert {r["path"] for r in report} == {"1/step_1.json", "1/step_3.json"}
        assert all(r["kind"] == "marker" and "<image>" in r["reason"] for r in report)
        _every_command_accepts(tmp_path / "out.jsonl")

    @pytest.mark.parametrize("mode", ["quick", "full"])
    @pytest.mark.parametrize(("size", "fmt"), [((4020, 20), "PNG"), ((20, 4020), "JPEG"), ((2, 500), "GIF")])
    def test_a_screenshot_more_elongated_than_200_to_1_is_rejected(self, corpus, tmp_path, mode, size, fmt):
        corpus.step("1", 0)
        corpus.image("1", "long.img", size=size, fmt=fmt)
        corpus.step("1", 1, screen_path2="long.img")
        _, samples, report = _build(corpus.root, tmp_path, image_check=mode)
        assert [s.step for s in samples] == [0]
        (line,) = report
        assert line["kind"] == "image" and "aspect ratio" in line["reason"]
        _every_command_accepts(tmp_path / "out.jsonl")

    def test_exactly_200_to_1_is_still_accepted(self, corpus, tmp_path):
        corpus.image("1", "edge.png", size=(4000, 20), fmt="PNG")
        corpus.step("1", 0, screen_path2="edge.png")
        _, samples, report = _build(corpus.root, tmp_path)
        assert len(samples) == 1 and report == []
        _every_command_accepts(tmp_path / "out.jsonl")

    @pytest.mark.parametrize("mode", ["quick", "full"])
    def test_a_900_megapixel_png_is_rejected_from_its_header_without_decoding(
        self, corpus, tmp_path, mode, monkeypatch
    ):
        corpus.step("1", 0)
        (corpus.root / "1" / "huge.png").write_bytes(_png_header_only(30000, 30000))
        corpus.step("1", 1, screen_path2="huge.png")
        load = Image.Image.load

        def guarded_load(img):
            assert img.width * img.height < 10**8, "decoded the huge image"
            return load(img)

        monkeypatch.setattr(Image.Image, "load", guarded_load)
        _, samples, report = _build(corpus.root, tmp_path, image_check=mode)
        assert [s.step for s in samples] == [0]
        (line,) = report
        assert line["kind"] == "image" and "30000x30000" in line["reason"]
        assert f"{Image.MAX_IMAGE_PIXELS:,}" in line["reason"]

    def test_the_pixel_cap_follows_pillows_limit(self, tmp_path, monkeypatch):
        path = tmp_path / "a.png"
        path.write_bytes(_png_header_only(100, 100))
        assert check_image(path) == (100, 100)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 9999)
        with pytest.raises(ImageError, match="10,000 pixels"):
            check_image(path)


class TestStatsOnUnusableSizes:
    @pytest.mark.parametrize("sizes", [[[1, 300]], [[0, 0]], [[-5, 10]]])
    def test_stats_names_the_line_instead_of_a_traceback(self, tmp_path, sizes):
        good = {"id": 1, "image": ["a.png"], "image_sizes": [[100, 200]]}
        bad = {"id": 2, "image": ["b.png"], "image_sizes": sizes}
        turns = [{"from": "human", "value": "看<image>"}, {"from": "gpt", "value": "{}"}]
        path = tmp_path / "d.jsonl"
        path.write_text("\n".join(json.dumps(s | {"conversations": turns}) for s in (good, bad)) + "\n")
        with pytest.raises(JsonlError, match=r"d\.jsonl:2: image_sizes\[0\]"):
            dataset_stats(path)

    def test_stats_command_exits_2_with_one_line(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])
        turns = [{"from": "human", "value": "看<image>"}, {"from": "gpt", "value": "{}"}]
        sample = {"id": 7, "image": ["b.png"], "image_sizes": [[1, 300]], "conversations": turns}
        path = tmp_path / "d.jsonl"
        path.write_text(json.dumps(sample) + "\n")
        code = cli.main(["stats", str(path)])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "aspect ratio" in err, err


# --- item 8: every task-like or step-like entry used or reported -------------------------------


class TestEveryEntryAccountedFor:
    def test_two_files_for_one_step_number_are_both_refused(self, corpus, tmp_path):
        corpus.step("1", 0)
        corpus.step("1", 1)
        os.rename(corpus.root / "1" / "step_1.json", corpus.root / "1" / "step_01.json")
        corpus.step("1", 1)
        corpus.step("1", 2)
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [0, 2]
        lines = _by_path(report)
        assert set(lines) == {"1/step_01.json", "1/step_1.json"}
        for line in report:
            assert line["kind"] == "layout" and "step_01.json, step_1.json" in line["reason"]

    def test_a_lone_zero_padded_step_is_still_used(self, corpus, tmp_path):
        corpus.step("1", 0)
        os.rename(corpus.root / "1" / "step_0.json", corpus.root / "1" / "step_007.json")
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [7] and report == []

    def test_step_like_names_that_are_not_steps_are_reported(self, corpus, tmp_path):
        corpus.step("1", 0)
        task = corpus.root / "1"
        for name in ("step_-1.json", "Step_2.json", "step_\u0663.json", "step_.json", "step_1.5.json"):
            (task / name).write_text("{}")
        (task / "step_4.json").mkdir()
        (task / "step_9999999999.json").write_text("{}")
        (task / "notes.txt").write_text("not a step")  # other files are not step-like
        (task / ".step_5.json").write_text("{}")  # hidden: ignored
        _, samples, report = _build(corpus.root, tmp_path)
        assert [s.step for s in samples] == [0]
        lines = _by_path(report)
        assert set(lines) == {
            "1/step_-1.json",
            "1/Step_2.json",
            "1/step_\u0663.json",
            "1/step_.json",
            "1/step_1.5.json",
            "1/step_4.json",
            "1/step_9999999999.json",
        }
        assert all(r["kind"] == "layout" for r in report)
        assert "folder" in lines["1/step_4.json"]["reason"]
        assert "too large" in lines["1/step_9999999999.json"]["reason"]

    def test_task_like_entries_under_root_that_are_not_tasks_are_reported(self, corpus, tmp_path):
        corpus.step("1", 0)
        for name in ("abc", "task_14", "\u0661\u0662", "-3"):
            (corpus.root / name).mkdir()
        (corpus.root / "15").write_text("a file named like a task")
        (corpus.root / "README.md").write_text("notes")  # a file with another name: not task-like
        (corpus.root / ".git").mkdir()  # hidden: ignored
        (corpus.root / "16").mkdir()  # a task folder without steps: nothing lost, no line
        summary, samples, report = _build(corpus.root, tmp_path)
        assert [s.task_id for s in samples] == ["1"]
        lines = _by_path(report)
        assert set(lines) == {"abc", "task_14", "\u0661\u0662", "-3", "15"}
        assert "non-ASCII digits" in lines["\u0661\u0662"]["reason"]
        assert "not a folder" in lines["15"]["reason"]
        assert summary.tasks == 2  # 1 and 16; the rejected entries are not tasks

    def test_a_single_task_folder_as_root_is_an_error_naming_the_parent(self, corpus):
        corpus.step("5", 0)
        with pytest.raises(CorpusError, match="parent folder"):
            scan_root(corpus.root / "5")

    def test_build_command_on_a_task_folder_exits_2_with_one_line(
        self, corpus, tmp_path, capsys, monkeypatch
    ):
        monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])
        corpus.step("5", 0)
        code = cli.main(["build", str(corpus.root / "5"), "-o", str(tmp_path / "o.jsonl"), "--strict"])
        err = capsys.readouterr().err
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "parent folder" in lines[0] and str(corpus.root) in lines[0]
        assert not (tmp_path / "o.jsonl").exists()

    def test_an_empty_result_under_strict_is_an_error(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])
        (tmp_path / "empty").mkdir()
        out = tmp_path / "o.jsonl"
        assert cli.main(["build", str(tmp_path / "empty"), "-o", str(out)]) == 0
        capsys.readouterr()
        assert cli.main(["build", str(tmp_path / "empty"), "-o", str(out), "--strict"]) == 2
        assert "no samples" in capsys.readouterr().err

    def test_step_files_lists_refused_entries_with_their_problem(self, corpus):
        corpus.step("1", 0)
        (corpus.root / "1" / "step_x.json").write_text("{}")
        tasks, rejected = scan_root(corpus.root)
        assert rejected == []
        steps = step_files(tasks[0])
        assert [(Path(s.path).name, s.problem is None) for s in steps] == [
            ("step_0.json", True),
            ("step_x.json", False),
        ]
