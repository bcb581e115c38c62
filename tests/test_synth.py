"""Synthetic corpora: drawn screens whose boxes enclose what was drawn, all ten actions, deterministic."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFont

from gui_agent_rl.datagen import fonts
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.screens import Screen, render
from gui_agent_rl.datagen.synth import plan_actions, synthesize_corpus
from gui_agent_rl.schemas import ACTION_TYPES, StepRecord

SIZE = {"width": 270, "height": 600}  # a quarter of 1080x2400: same layout, quick to draw


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "corpus"
    synthesize_corpus(root, tasks=6, steps=5, seed=3, **SIZE)
    return root


def _records(root: Path):
    for path in sorted(root.glob("*/step_*.json")):
        yield path, StepRecord.from_obj(json.loads(path.read_text("utf-8")))


def _drawn_difference(a: Screen, b: Screen) -> tuple[int, int, int, int] | None:
    return ImageChops.difference(render(a, **SIZE)[0], render(b, **SIZE)[0]).getbbox()


def _inside(inner, box) -> bool:
    x1, y1, x2, y2 = inner
    return box.x1 <= x1 and box.y1 <= y1 and x2 <= box.x2 + 1 and y2 <= box.y2 + 1


class TestRender:
    def test_row_boxes_enclose_the_drawn_row(self):
        with_row = Screen(title="设置", rows=("WLAN", "蓝牙"))
        _, layout = render(with_row, **SIZE)
        changed = _drawn_difference(with_row, with_row.but(rows=("WLAN",)))
        assert changed is not None and _inside(changed, layout.boxes["row:蓝牙"])

    def test_button_menu_and_app_boxes_enclose_their_labels(self):
        cases = [
            (
                Screen(title="t", buttons=("确定", "取消")),
                Screen(title="t", buttons=("确定", "")),
                "button:取消",
            ),
            (Screen(title="t", menu=("复制", "删除")), Screen(title="t", menu=("复制", "")), "menu:删除"),
            (
                Screen(title="", rows=("微信", "淘宝"), launcher=True),
                Screen(title="", rows=("微信", "淘"), launcher=True),
                "app:淘宝",
            ),
        ]
        for screen, altered, key in cases:
            _, layout = render(screen, **SIZE)
            changed = _drawn_difference(screen, altered)
            assert changed is not None and _inside(changed, layout.boxes[key]), key

    def test_rows_below_the_list_area_are_not_drawn_or_reported(self):
        rows = tuple(f"第{i}项" for i in range(40))
        _, layout = render(Screen(title="t", rows=rows, keyboard=True), **SIZE)
        assert 0 < len(layout.visible_rows) < 40
        assert all(layout.boxes[f"row:{r}"].y2 <= layout.boxes["list"].y2 for r in layout.visible_rows)


class TestCorpus:
    def test_all_ten_action_types_and_the_corpus_builds_clean(self, small_corpus, tmp_path):
        kinds = {r.output.action_type for _, r in _records(small_corpus)}
        assert kinds == set(ACTION_TYPES)
        summary = build_dataset(small_corpus, tmp_path / "d.jsonl", prompt="p:")
        assert summary.rejected == {} and summary.kept == 30 and summary.tasks == 6

    def test_click_boxes_lie_on_something_drawn(self, small_corpus):
        checked = 0
        for path, record in _records(small_corpus):
            if record.output.action_type in ("click", "long_click"):
                box = record.output.box
                with Image.open(path.parent / record.input.screen_path2) as img:
                    assert box.x2 <= img.width and box.y2 <= img.height
                    low, high = img.convert("L").crop((box.x1, box.y1, box.x2, box.y2)).getextrema()
                assert high - low > 80, f"{path}: box {box} covers a flat area"
                checked += 1
        assert checked >= 3

    def test_swipes_run_vertically_inside_the_list(self, small_corpus):
        swipes = [(p, r) for p, r in _records(small_corpus) if r.output.action_type == "swipe"]
        assert swipes
        for path, record in swipes:
            start, end = record.output.start, record.output.end
            with Image.open(path.parent / record.input.screen_path2) as img:
                height = img.height
            assert start.x == end.x and start.y > end.y  # the finger moves up: the list scrolls on
            assert 0.1 * height < end.y < start.y < 0.95 * height

    def test_steps_chain_screens_and_history(self, small_corpus):
        records = [r for p, r in _records(small_corpus) if p.parent.name == "9"]
        assert records[0].input.screen_path1 is None and records[0].output.action_type == "open_app"
        for before, after in itertools.pairwise(records):
            assert after.input.screen_path1 == before.input.screen_path2
            assert len(after.input.history_path_all) == len(before.input.history_path_all) + 1

    def test_same_seed_same_files_other_seed_other_files(self, tmp_path):
        runs = []
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            synthesize_corpus(tmp_path / name, tasks=2, steps=3, seed=seed, **SIZE)
            runs.append(
                {p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*.*")}
            )
        assert runs[0] == runs[1]
        assert runs[0] != runs[2]


class TestPlan:
    @pytest.mark.parametrize("seed", range(8))
    @pytest.mark.parametrize(("tasks", "steps"), [(2, 6), (4, 4), (8, 3), (6, 5)])
    def test_every_action_type_is_planned_once_there_is_room(self, tasks, steps, seed):
        plans = plan_actions(tasks, steps, seed)
        assert {k for plan in plans for k in plan} == set(ACTION_TYPES)
        assert all(len(p) == steps and p[0] == "open_app" for p in plans)

    def test_long_press_is_followed_by_picking_from_its_menu(self):
        for plan in plan_actions(20, 6, 0):
            for a, b in itertools.pairwise(plan):
                if a == "long_click":
                    assert b in ("click", "task_completed", "task_impossible")


class TestFonts:
    def test_cjk_font_is_found_when_the_fonts_extra_is_installed(self):
        pytest.importorskip(fonts.FONT_PACKAGE)
        assert fonts.cjk_font_path().endswith(".otf")
        assert isinstance(fonts.load_font(20), ImageFont.FreeTypeFont)

    def test_without_any_cjk_font_pillow_default_is_used_with_a_warning(self, monkeypatch, caplog):
        monkeypatch.setattr(fonts, "_packaged_font", lambda: None)
        monkeypatch.setattr(fonts, "_system_font", lambda: None)
        fonts.cjk_font_path.cache_clear()
        fonts.load_font.cache_clear()
        try:
            with caplog.at_level(logging.WARNING, logger=fonts.__name__):
                font = fonts.load_font(17)
            assert font is not None and "no CJK font found" in caplog.text
        finally:
            fonts.cjk_font_path.cache_clear()
            fonts.load_font.cache_clear()


class TestShippedExample:
    def test_example_corpus_steps_are_what_synth_makes_with_the_defaults(self, tmp_path):
        shipped = Path(__file__).resolve().parents[1] / "examples" / "corpus"
        synthesize_corpus(tmp_path / "c", tasks=6, steps=5, seed=0)
        made = {p.relative_to(tmp_path / "c"): p.read_text("utf-8") for p in (tmp_path / "c").rglob("*.json")}
        assert made == {p.relative_to(shipped): p.read_text("utf-8") for p in shipped.rglob("*.json")}
        assert len(made) == 30
