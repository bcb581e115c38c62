"""The dataset builder: every defect reported with its reason, the good steps around it kept in order."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
from pathlib import Path

import pytest
from PIL import Image

from gui_agent_rl.datagen import convert as convert_module
from gui_agent_rl.datagen.build import build_dataset, choose_val_tasks
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, parse_action, read_samples

PROMPT = "前缀:请根据输入给出下一步动作。\n"
CLICK = {"action_type": "click", "action_parameter": {"click": "1, 2, 30, 40"}, "action_description": "点击"}


def _build(corpus, tmp_path: Path, **kw):
    out = tmp_path / "out.jsonl"
    summary = build_dataset(corpus.root, out, prompt=PROMPT, **kw)
    samples = list(read_samples(out))
    report = [json.loads(line) for line in summary.report.read_text("utf-8").splitlines()]
    return summary, samples, report


def _keys(samples) -> list[tuple[int, str, int]]:
    return [(s.id, s.task_id, s.step) for s in samples]


def _jpeg_bytes(size=(60, 120)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _png_bytes(size=(60, 120)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def _defect(corpus, kind: str) -> None:
    """Write ``3/step_1.json`` with one defect of ``kind``."""
    task = corpus.root / "3"
    if kind == "bad_json":
        corpus.step("3", 1, raw=b'{"input": {"task_content": ')
    elif kind == "not_utf8":
        corpus.step(
            "3", 1, raw=json.dumps({"input": {"task_content": "打开"}}, ensure_ascii=False).encode("gbk")
        )
    elif kind == "not_an_object":
        corpus.step("3", 1, raw=b"[1, 2]")
    elif kind == "missing_task_content":
        corpus.step("3", 1, raw=json.dumps({"input": {"screen_path2": "3_0.jpg"}, "output": CLICK}).encode())
    elif kind == "inverted_box":
        corpus.step("3", 1, output={**CLICK, "action_parameter": {"click": "50,50,10,10"}})
    elif kind == "unknown_action":
        corpus.step("3", 1, output={"action_type": "tap", "action_parameter": {"tap": "1,2,3,4"}})
    elif kind == "parameter_key_mismatch":
        corpus.step("3", 1, output={"action_type": "click", "action_parameter": {"long_click": "1,2,3,4"}})
    elif kind == "missing_image":
        corpus.step("3", 1, screen_path2="nope/none.jpg")
    elif kind == "garbage_image":
        (task / "bad.jpg").write_bytes(b"this is not a picture at all" * 20)
        corpus.step("3", 1, screen_path2="bad.jpg")
    elif kind == "empty_image":
        (task / "empty.jpg").write_bytes(b"")
        corpus.step("3", 1, screen_path2="empty.jpg")
    elif kind == "truncated_jpeg":
        data = _jpeg_bytes()
        (task / "cut.jpg").write_bytes(data[: len(data) // 2])
        corpus.step("3", 1, screen_path2="cut.jpg")
    elif kind == "truncated_png":
        data = _png_bytes()
        (task / "cut.png").write_bytes(data[: len(data) // 2])
        corpus.step("3", 1, screen_path2="cut.png")
    elif kind == "image_is_folder":
        (task / "shots.jpg").mkdir()
        corpus.step("3", 1, screen_path2="shots.jpg")
    elif kind == "absolute_path":
        corpus.step("3", 1, screen_path2=str(task / "3_0.jpg"))
    elif kind == "escapes_root":
        (corpus.root.parent / "outside.jpg").write_bytes(_jpeg_bytes())
        corpus.step("3", 1, screen_path2="../../outside.jpg")
    elif kind == "click_without_current_screen":
        corpus.step("3", 1, output=CLICK, screen_path1="3_0.jpg", screen_path2="")
    elif kind == "box_outside_screen":
        corpus.step("3", 1, output={**CLICK, "action_parameter": {"click": "10,10,61,50"}})
    elif kind == "swipe_outside_screen":
        corpus.step("3", 1, output={"action_type": "swipe", "action_parameter": {"swipe": "30,100,30,500"}})
    else:
        raise AssertionError(kind)


DEFECTS = {
    "bad_json": "not valid JSON",
    "not_utf8": "not UTF-8",
    "not_an_object": "valid dictionary",
    "missing_task_content": "input.task_content: missing",
    "inverted_box": "output.action_parameter.click: box must have x1 < x2",
    "unknown_action": "unknown action type 'tap'",
    "parameter_key_mismatch": "exactly one key",
    "missing_image": "input.screen_path2: 3/nope/none.jpg: no such file",
    "garbage_image": "3/bad.jpg: not an image",
    "empty_image": "3/empty.jpg: empty file",
    "truncated_jpeg": "3/cut.jpg: truncated JPEG",
    "truncated_png": "3/cut.png: truncated PNG",
    "image_is_folder": "is a folder",
    "absolute_path": "input.screen_path2: absolute path",
    "escapes_root": "input.screen_path2: '../../outside.jpg' leaves the corpus root",
    "click_without_current_screen": "input.screen_path2: missing; a click needs the current screen",
    "box_outside_screen": "box 10,10,61,50 lies outside the current screen (60x120)",
    "swipe_outside_screen": "swipe 30,100,30,500 lies outside the current screen (60x120)",
}


class TestDefects:
    @pytest.mark.parametrize("kind", sorted(DEFECTS))
    def test_defect_is_reported_and_the_good_steps_around_it_are_kept_in_order(self, corpus, tmp_path, kind):
        corpus.step("3", 0)
        _defect(corpus, kind)
        corpus.step("3", 2)
        corpus.step("10", 0)
        summary, samples, report = _build(corpus, tmp_path)
        assert _keys(samples) == [(1, "3", 0), (2, "3", 2), (3, "10", 0)]
        assert len(report) == 1
        assert report[0]["path"] == "3/step_1.json"
        assert DEFECTS[kind] in report[0]["reason"]
        assert summary.steps == 4 and summary.kept == 3 and sum(summary.rejected.values()) == 1

    def test_full_image_check_catches_damage_the_quick_check_lets_through(self, corpus, tmp_path):
        data = bytearray(_png_bytes())
        data[len(data) // 2 : len(data) // 2 + 40] = bytes(40)  # ends intact, compressed data broken
        corpus.step("1", 0)
        (corpus.root / "1" / "mid.png").write_bytes(bytes(data))
        corpus.step("1", 1, screen_path2="mid.png")
        _, quick, _ = _build(corpus, tmp_path)
        _, full, report = _build(corpus, tmp_path, image_check="full")
        assert len(quick) == 2
        assert len(full) == 1 and "1/mid.png: corrupt or truncated image" in report[0]["reason"]

    def test_the_same_bad_image_rejects_every_step_that_uses_it(self, corpus, tmp_path):
        (corpus.root / "1").mkdir(parents=True)
        (corpus.root / "1" / "bad.jpg").write_bytes(b"garbage")
        corpus.step("1", 0, screen_path2="bad.jpg")
        corpus.step("1", 1, screen_path1="bad.jpg", screen_path2="1_1.jpg")
        summary, samples, report = _build(corpus, tmp_path)
        assert samples == [] and [r["path"] for r in report] == ["1/step_0.json", "1/step_1.json"]
        assert summary.rejected == {"image": 2}


class TestPaths:
    def test_dotdot_that_stays_inside_the_root_is_fine(self, corpus, tmp_path):
        corpus.image("10", "10_0.jpg")
        corpus.step("3", 0, screen_path2="../10/10_0.jpg")
        _, samples, report = _build(corpus, tmp_path)
        assert report == [] and samples[0].images == ["10/10_0.jpg"]

    def test_image_paths_are_relative_to_root_with_forward_slashes(self, corpus, tmp_path):
        corpus.image("4", "shots/a.jpg")
        corpus.step("4", 0, screen_path1="shots/a.jpg", screen_path2="4_0.jpg")
        _, samples, _ = _build(corpus, tmp_path)
        assert samples[0].images == ["4/shots/a.jpg", "4/4_0.jpg"]

    def test_each_distinct_image_is_checked_once(self, corpus, tmp_path, monkeypatch):
        calls: list[str] = []
        real = convert_module.check_image
        monkeypatch.setattr(convert_module, "check_image", lambda p, mode: calls.append(p) or real(p, mode))
        corpus.step("1", 0, screen_path2="a.jpg")
        corpus.step("1", 1, screen_path1="a.jpg", screen_path2="b.jpg")
        corpus.step("1", 2, screen_path1="b.jpg", screen_path2="c.jpg")
        _, samples, _ = _build(corpus, tmp_path)
        assert len(samples) == 3
        assert sorted(Path(p).name for p in calls) == ["a.jpg", "b.jpg", "c.jpg"]


class TestSamples:
    def test_sample_shape_follows_vlm_r1(self, corpus, tmp_path):
        corpus.image("7", "7_0.jpg", size=(100, 200))
        corpus.image("7", "7_1.jpg", size=(100, 200), fmt="PNG")
        corpus.step("7", 1, output=CLICK, screen_path1="7_0.jpg", screen_path2="7_1.jpg")
        _, (sample,), _ = _build(corpus, tmp_path)
        assert sample.id == 1 and sample.images == ["7/7_0.jpg", "7/7_1.jpg"]
        assert sample.image_sizes == [(100, 200), (100, 200)]
        assert (sample.task_id, sample.step, sample.accu_reward_method) == ("7", 1, None)
        assert sample.prompt.startswith(PROMPT)
        assert sample.solution == parse_action(CLICK).to_json()
        assert '"click": "1,2,30,40"' in sample.solution  # the wire format, normalised

    def test_screen_names_become_image_markers_and_the_rest_is_kept_verbatim(self, corpus, tmp_path):
        extra = {"app_name": "微信", "my_field": {"b": 1, "a": [2]}}
        corpus.step("7", 1, screen_path1="7_0.jpg", screen_path2="7_1.jpg", **extra)
        _, (sample,), _ = _build(corpus, tmp_path)
        obj = json.loads(sample.prompt.removeprefix(PROMPT))
        assert list(obj) == ["task_content", "screen_path1", "screen_path2", "app_name", "my_field"]
        assert obj["screen_path1"] == obj["screen_path2"] == IMAGE_PLACEHOLDER
        assert obj["my_field"] == {"b": 1, "a": [2]} and obj["app_name"] == "微信"
        assert sample.prompt.count(IMAGE_PLACEHOLDER) == len(sample.images) == 2

    def test_chinese_is_written_unescaped_and_compact(self, corpus, tmp_path):
        corpus.step("7", 0)
        _build(corpus, tmp_path)
        line = (tmp_path / "out.jsonl").read_text("utf-8")
        assert "打开设置" in line and "\\u" not in line
        assert '{\\"task_content\\":\\"打开设置\\",' in line

    def test_markers_follow_image_order_even_when_current_screen_key_comes_first(self, corpus, tmp_path):
        corpus.image("7", "prev.jpg", size=(60, 120))
        corpus.image("7", "cur.jpg", size=(80, 160))
        path = corpus.root / "7" / "step_0.json"
        record = {
            "input": {"screen_path2": "cur.jpg", "task_content": "x", "screen_path1": "prev.jpg"},
            "output": CLICK,
        }
        path.write_text(json.dumps(record), encoding="utf-8")
        _, (sample,), _ = _build(corpus, tmp_path)
        assert sample.images == ["7/prev.jpg", "7/cur.jpg"] and sample.image_sizes[-1] == (80, 160)
        assert list(json.loads(sample.prompt.removeprefix(PROMPT))) == [
            "screen_path1",
            "task_content",
            "screen_path2",
        ]

    def test_step_without_screens_is_a_text_only_sample(self, corpus, tmp_path):
        open_app = {"action_type": "open_app", "action_parameter": {"open_app": "微信"}}
        corpus.step("7", 0, output=open_app, screen_path2="")
        _, (sample,), _ = _build(corpus, tmp_path)
        assert sample.image == [] and sample.image_sizes == [] and IMAGE_PLACEHOLDER not in sample.prompt

    def test_byte_order_mark_is_accepted(self, corpus, tmp_path):
        path = corpus.step("7", 0)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        corpus.step("7", 1)
        summary, samples, _ = _build(corpus, tmp_path)
        assert summary.rejected == {} and _keys(samples) == [(1, "7", 0), (2, "7", 1)]

    def test_reward_method_column_only_when_asked(self, corpus, tmp_path):
        corpus.step("7", 0)
        _, (plain,), _ = _build(corpus, tmp_path)
        _, (tagged,), _ = _build(corpus, tmp_path, reward_method="iou")
        assert "accu_reward_method" not in (plain.model_extra or {}) and plain.accu_reward_method is None
        assert tagged.accu_reward_method == "iou"

    def test_prompt_with_an_image_marker_is_refused(self, corpus, tmp_path):
        corpus.step("7", 0)
        with pytest.raises(ValueError, match="<image>"):
            build_dataset(corpus.root, tmp_path / "o.jsonl", prompt="看图 <image> 然后回答")


class TestWorkers:
    def test_worker_pool_writes_the_same_bytes_as_one_process(self, corpus, tmp_path):
        for task in range(1, 30):
            for n in range(3):
                corpus.step(str(task), n)
        _defect(corpus, "truncated_jpeg")
        one = build_dataset(corpus.root, tmp_path / "one.jsonl", prompt=PROMPT, workers=1)
        two = build_dataset(corpus.root, tmp_path / "two.jsonl", prompt=PROMPT, workers=2)
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
        assert one.report.read_bytes() == two.report.read_bytes()
        assert (one.kept, one.rejected) == (two.kept, two.rejected) == (86, {"image": 1})

    @pytest.mark.parametrize("workers", [3, 4])
    def test_main_process_and_several_children_write_the_same_bytes_as_one_process(
        self, corpus, tmp_path, workers, monkeypatch
    ):
        from gui_agent_rl.datagen import processes

        monkeypatch.setattr(processes, "usable_cores", lambda: workers)  # not capped on 2 cores
        for task in range(1, 60):
            for n in range(2):
                corpus.step(str(task), n)
        _defect(corpus, "bad_json")
        build_dataset(corpus.root, tmp_path / "one.jsonl", prompt=PROMPT, workers=1)
        many = build_dataset(corpus.root, tmp_path / "many.jsonl", prompt=PROMPT, workers=workers)
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "many.jsonl").read_bytes()
        assert (many.kept, many.rejected) == (117, {"json": 1})

    @pytest.mark.skipif(
        multiprocessing.get_start_method() != "fork", reason="the patched converter must reach the child"
    )
    @pytest.mark.parametrize(
        ("failure", "message"),
        [
            (lambda: 1 / 0, "worker process failed:.*ZeroDivisionError"),
            (lambda: os._exit(3), r"worker process died \(exit code 3\)"),
        ],
        ids=["exception", "death"],
    )
    def test_a_failing_child_raises_in_the_main_process_and_leaves_the_previous_output(
        self, corpus, tmp_path, monkeypatch, failure, message
    ):
        for task in range(1, 40):
            corpus.step(str(task), 0)
        out = tmp_path / "out.jsonl"
        out.write_text("previous dataset\n", encoding="utf-8")
        real = convert_module.StepConverter.convert

        def convert_or_fail(self, step):
            # Task 1 is in the first job, which always goes to the child (the main process takes
            # a later one while it waits).
            return failure() if step.task_id == "1" else real(self, step)

        monkeypatch.setattr(convert_module.StepConverter, "convert", convert_or_fail)
        with pytest.raises(RuntimeError, match=message):
            build_dataset(corpus.root, out, prompt=PROMPT, workers=2)
        assert out.read_text("utf-8") == "previous dataset\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out.jsonl"]


class TestQuickImageCheck:
    def _noise_jpeg(self) -> bytes:
        buf = io.BytesIO()
        Image.effect_noise((200, 300), 80).convert("RGB").save(buf, "JPEG")
        assert len(buf.getvalue()) > 4096  # past the first read: the end is read on its own
        return buf.getvalue()

    def test_a_large_jpeg_is_measured_and_kept(self, corpus, tmp_path):
        (corpus.root / "1").mkdir(parents=True)
        (corpus.root / "1" / "big.jpg").write_bytes(self._noise_jpeg())
        corpus.step("1", 0, screen_path2="big.jpg")
        _, (sample,), report = _build(corpus, tmp_path)
        assert report == [] and sample.image_sizes == [(200, 300)]

    @pytest.mark.parametrize("cut", [1, 100, 3000])
    def test_a_large_jpeg_cut_short_is_rejected(self, corpus, tmp_path, cut):
        (corpus.root / "1").mkdir(parents=True)
        (corpus.root / "1" / "big.jpg").write_bytes(self._noise_jpeg()[:-cut])
        corpus.step("1", 0, screen_path2="big.jpg")
        _, samples, report = _build(corpus, tmp_path)
        assert samples == [] and "1/big.jpg: truncated JPEG" in report[0]["reason"]


class TestAtomicWrite:
    @pytest.mark.parametrize("crash", [RuntimeError("disk on fire"), KeyboardInterrupt()])
    def test_crash_mid_build_leaves_the_previous_output_and_no_partial_file(
        self, corpus, tmp_path, monkeypatch, crash
    ):
        for n in range(5):
            corpus.step("1", n)
        out = tmp_path / "out.jsonl"
        out.write_text("previous dataset\n", encoding="utf-8")
        real, seen = convert_module.StepConverter.convert, []

        def convert_then_crash(self, step):
            seen.append(step)
            if len(seen) == 3:
                raise crash
            return real(self, step)

        monkeypatch.setattr(convert_module.StepConverter, "convert", convert_then_crash)
        with pytest.raises(type(crash)):
            build_dataset(corpus.root, out, prompt=PROMPT)
        assert out.read_text("utf-8") == "previous dataset\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out.jsonl"]


class TestSplit:
    def _corpus(self, corpus, tasks=10):
        for task in range(1, tasks + 1):
            for n in range(2):
                corpus.step(str(task), n)

    def test_validation_split_is_by_task_disjoint_and_complete(self, corpus, tmp_path):
        self._corpus(corpus)
        summary = build_dataset(corpus.root, tmp_path / "d.jsonl", prompt=PROMPT, val_fraction=0.3, seed=1)
        train, val = list(read_samples(tmp_path / "d.jsonl")), list(read_samples(tmp_path / "d.val.jsonl"))
        train_tasks, val_tasks = {s.task_id for s in train}, {s.task_id for s in val}
        assert not train_tasks & val_tasks and len(val_tasks) == 3
        assert train_tasks | val_tasks == {str(i) for i in range(1, 11)}
        assert [s.id for s in train] == list(range(1, 15)) and [s.id for s in val] == list(range(1, 7))
        assert (summary.kept, summary.kept_val) == (14, 6)

    def test_split_is_deterministic_for_a_seed(self, corpus, tmp_path):
        self._corpus(corpus)
        runs = []
        for i, seed in enumerate((5, 5, 6)):
            build_dataset(corpus.root, tmp_path / f"{i}.jsonl", prompt=PROMPT, val_fraction=0.3, seed=seed)
            runs.append({s.task_id for s in read_samples(tmp_path / f"{i}.val.jsonl")})
        assert runs[0] == runs[1]
        assert choose_val_tasks([str(i) for i in range(100)], 0.3, 5) != choose_val_tasks(
            [str(i) for i in range(100)], 0.3, 6
        )

    @pytest.mark.parametrize(
        ("n", "fraction", "expected"), [(10, 0.2, 2), (3, 0.01, 1), (2, 0.9, 1), (1, 0.5, 0)]
    )
    def test_validation_gets_at_least_one_task_and_never_all_of_them(self, n, fraction, expected):
        assert len(choose_val_tasks([str(i) for i in range(n)], fraction, 0)) == expected

    def test_no_fraction_no_validation_file(self, corpus, tmp_path):
        self._corpus(corpus, tasks=2)
        summary = build_dataset(corpus.root, tmp_path / "d.jsonl", prompt=PROMPT)
        assert summary.val_output is None and not (tmp_path / "d.val.jsonl").exists()


class TestSummary:
    def test_summary_counts_rejections_by_kind(self, corpus, tmp_path):
        corpus.step("1", 0)
        corpus.step("1", 1, raw=b"{")
        corpus.step("1", 2, raw=b"{")
        corpus.step("1", 3, screen_path2="missing/x.jpg")
        summary, _, _ = _build(corpus, tmp_path)
        text = summary.format()
        assert summary.rejected == {"json": 2, "image": 1}
        assert "kept 1 of 4 steps in 1 tasks" in text and "rejected 3" in text and "json: 2" in text
        assert "steps/s" in text


class TestProgress:
    def test_progress_bar_goes_to_stderr_only_when_asked(self, corpus, tmp_path, capsys):
        corpus.step("1", 0)
        build_dataset(corpus.root, tmp_path / "a.jsonl", prompt=PROMPT)
        assert capsys.readouterr().err == ""
        build_dataset(corpus.root, tmp_path / "b.jsonl", prompt=PROMPT, progress=True)
        assert "task" in capsys.readouterr().err

    def test_a_root_without_tasks_warns_and_writes_an_empty_dataset(self, tmp_path, caplog):
        (tmp_path / "empty").mkdir()
        summary = build_dataset(tmp_path / "empty", tmp_path / "d.jsonl", prompt=PROMPT)
        assert summary.kept == 0 and (tmp_path / "d.jsonl").read_text() == ""
        assert "no task folders" in caplog.text


class TestImports:
    def test_dataset_building_never_imports_torch_or_transformers(self):
        import subprocess
        import sys

        code = (
            "import sys, gui_agent_rl.datagen.build, gui_agent_rl.datagen.stats, gui_agent_rl.datagen.synth, "
            "gui_agent_rl.datagen.show, gui_agent_rl.cli.data; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "[]"
