"""`gui-agent-rl viz` and the drawing helpers: one PNG per sample, of the size the layout promises."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.pictures import resolve_image_folder
from gui_agent_rl.evaluate.viz import (
    GAP,
    LABEL_HEIGHT,
    MARGIN,
    PRED_COLOUR,
    TRUTH_COLOUR,
    describe_action,
    load_caption_font,
    picture_size,
    safe_name,
    wrap_text,
)
from gui_agent_rl.schemas import Sample, parse_action


def act(kind: str, value: str = "", description: str | None = None) -> str:
    obj = {"action_type": kind, "action_parameter": {kind: value}}
    if description:
        obj["action_description"] = description
    return json.dumps(obj, ensure_ascii=False)


def answer(action_json: str) -> str:
    return f"<answer>{action_json}</answer>"


def sample(sid, truth, images, sizes):
    marks = "".join("<image>" for _ in images)
    return {
        "id": sid,
        "image": images,
        "conversations": [{"from": "human", "value": marks}, {"from": "gpt", "value": truth}],
        "image_sizes": sizes,
    }


@pytest.fixture
def corpus(tmp_path):
    """data.jsonl with its images under data/ (as `build` lays out examples/corpus.jsonl)."""
    (tmp_path / "data" / "T1").mkdir(parents=True)
    Image.new("RGB", (540, 1200), "lightblue").save(tmp_path / "data" / "T1" / "a.png")
    Image.new("RGB", (540, 1200), "lightyellow").save(tmp_path / "data" / "T1" / "b.png")
    Image.new("RGB", (300, 600), "white").save(tmp_path / "data" / "T1" / "small.png")
    two, big = ["T1/a.png", "T1/b.png"], [[540, 1200], [540, 1200]]
    rows = [
        sample(1, act("click", "100,100,400,300", "点击剑来"), two, big),
        sample(2, act("swipe", "270,1000,270,200"), two, big),
        sample(3, act("type", "无锡天气"), ["T1/small.png"], [[300, 600]]),
        sample(4, act("back"), two, big),
    ]
    preds = [
        (1, act("click", "240,190,260,210", "点击剑来")),  # centre (250, 200): inside
        (2, act("swipe", "270,200,270,1000")),  # the wrong way
        (3, act("type", "无锡天气")),
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(json.dumps({"id": i, "completion": answer(a)}, ensure_ascii=False) + "\n" for i, a in preds),
        encoding="utf-8",
    )
    return data, pred, tmp_path


def viz(data, pred, out, *extra):
    return main(
        [
            "viz",
            "--dataset",
            str(data),
            "--predictions",
            str(pred),
            "--output",
            str(out),
            "--frame",
            "original",
            *extra,
        ]
    )


class TestVizCommand:
    def test_one_png_per_sample_of_the_promised_size(self, corpus, capsys):
        data, pred, tmp = corpus
        assert viz(data, pred, tmp / "pics") == 0
        names = sorted(p.name for p in (tmp / "pics").iterdir())
        assert names == ["00000_1.png", "00001_2.png", "00002_3.png", "00003_4.png"]
        with Image.open(tmp / "pics" / "00000_1.png") as two_screens:
            # 540x1200 scaled to 360x800, twice, side by side; 8 caption lines of 24 px
            assert two_screens.size == picture_size((540, 1200), (540, 1200), 800) == (756, 1052)
        with Image.open(tmp / "pics" / "00002_3.png") as small:
            assert small.size == picture_size((300, 600), None, 800) == (720, 852)  # not scaled up
        assert "4 pictures of 4 samples" in capsys.readouterr().out

    def test_truth_and_prediction_are_drawn_on_the_current_screen(self, corpus):
        data, pred, tmp = corpus
        viz(data, pred, tmp / "pics", "--limit", "1")
        with Image.open(tmp / "pics" / "00000_1.png") as im:
            left = MARGIN + 360 + GAP  # the current screen starts after the previous one
            top = MARGIN + LABEL_HEIGHT
            scale = 800 / 1200
            assert im.getpixel((round(left + 250 * scale), round(top + 200 * scale))) == PRED_COLOUR
            assert im.getpixel((round(left + 250 * scale), round(top + 100 * scale))) == TRUTH_COLOUR

    def test_only_wrong_and_limit(self, corpus):
        data, pred, tmp = corpus
        assert viz(data, pred, tmp / "wrong", "--only-wrong") == 0
        assert sorted(p.name for p in (tmp / "wrong").iterdir()) == ["00001_2.png", "00003_4.png"]
        assert viz(data, pred, tmp / "one", "--only-wrong", "--limit", "1") == 0
        assert [p.name for p in (tmp / "one").iterdir()] == ["00001_2.png"]

    def test_missing_screenshot_exits_2_and_suggests_image_folder(self, corpus, capsys):
        data, pred, tmp = corpus
        (tmp / "data" / "T1" / "b.png").unlink()
        assert viz(data, pred, tmp / "pics") == 2
        err = capsys.readouterr().err
        assert "b.png" in err and "--image-folder" in err

    def test_explicit_image_folder(self, corpus, tmp_path):
        data, pred, tmp = corpus
        moved = tmp / "elsewhere"
        (tmp / "data").rename(moved)
        assert viz(data, pred, tmp / "pics") == 2
        assert viz(data, pred, tmp / "pics", "--image-folder", str(moved), "--limit", "1") == 0


class TestImageFolder:
    def test_dataset_folder_first_then_the_folder_named_like_the_dataset(self, tmp_path):
        s = Sample.model_validate(sample(1, act("back"), ["x.png"], [[10, 20]]))
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "x.png").write_bytes(b"")
        assert resolve_image_folder(tmp_path / "d.jsonl", [s]) == tmp_path / "d"
        (tmp_path / "x.png").write_bytes(b"")
        assert resolve_image_folder(tmp_path / "d.jsonl", [s]) == tmp_path
        assert resolve_image_folder(tmp_path / "d.jsonl", [s], tmp_path / "o") == tmp_path / "o"

    def test_names_both_places_when_the_image_is_nowhere(self, tmp_path):
        s = Sample.model_validate(sample(1, act("back"), ["x.png"], [[10, 20]]))
        with pytest.raises(ValueError, match=r"neither .*x\.png nor .*d/x\.png"):
            resolve_image_folder(tmp_path / "d.jsonl", [s])


class TestCaptionText:
    def test_describe_action_shows_box_and_description(self):
        assert (
            describe_action(parse_action(act("click", "1,2,3,4", "点击剑来")))
            == "click [1,2,3,4]  (点击剑来)"
        )
        assert describe_action(parse_action(act("wait"))) == "wait"

    def test_describe_inquiry_lists_candidates_and_answer(self):
        value = json.dumps(
            {"Question": "哪个?", "CandidatesList": "['甲', '乙']", "PicDescribe": "", "AnswerIndex": 1},
            ensure_ascii=False,
        )
        assert describe_action(parse_action(act("inquiry", value))) == "inquiry 哪个? ['甲', '乙'] -> #1"

    def test_wrap_breaks_chinese_without_spaces_and_marks_a_cut(self):
        font = load_caption_font()
        text = "点击屏幕底部的购物车图标" * 10
        lines = wrap_text(text, font, 200, 3)
        assert len(lines) == 3 and lines[-1].endswith("…")
        assert all(font.getlength(line) <= 200 for line in lines)
        assert wrap_text("短", font, 200, 3) == ["短"]

    def test_cjk_glyphs_differ_from_each_other(self):
        # With a CJK font every character has its own shape; Pillow's fallback draws them all as one box.
        font = load_caption_font()
        masks = [bytes(font.getmask(ch)) for ch in ("剑", "来")]
        assert masks[0] != masks[1]

    def test_safe_file_names(self):
        assert safe_name(3, "a/b c") == "00003_a_b_c.png"
