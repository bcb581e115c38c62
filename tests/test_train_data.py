"""Builder JSONL -> TRL rows: prompts with images at the markers, lazy images, truth columns, budget."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("datasets")

from gui_agent_rl.train.data import (
    DataError,
    build_train_dataset,
    load_records,
    pair_sources,
    prompt_messages,
    prompt_token_counts,
    warn_over_budget,
)
from gui_agent_rl.train.tiny import write_tiny_dataset


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def sample(i, images=(), text=None, sizes=None, method=None):
    row = {
        "id": i,
        "conversations": [
            {"from": "human", "value": text if text is not None else "<image>" * len(images) + "任务"},
            {"from": "gpt", "value": '{"action_type": "wait"}'},
        ],
    }
    if images:
        row["image"] = list(images)
    if sizes:
        row["image_sizes"] = sizes
    if method:
        row["accu_reward_method"] = method
    return row


class TestPromptMessages:
    def test_images_go_where_the_markers_stood(self):
        content = prompt_messages("上一屏<image>当前屏<image>请输出", 2)[0]["content"]
        assert content == [
            {"type": "text", "text": "上一屏"},
            {"type": "image"},
            {"type": "text", "text": "当前屏"},
            {"type": "image"},
            {"type": "text", "text": "请输出"},
        ]

    def test_text_without_markers_gets_images_in_front(self):
        content = prompt_messages("look", 2)[0]["content"]
        assert [p["type"] for p in content] == ["image", "image", "text"]

    def test_text_only_prompt_is_one_text_part(self):
        assert prompt_messages("no pictures", 0) == [
            {"role": "user", "content": [{"type": "text", "text": "no pictures"}]}
        ]

    @given(st.lists(st.text(alphabet="ab任务 <>", max_size=5), min_size=2, max_size=5))
    def test_one_image_item_per_marker_and_text_kept_in_order(self, pieces):
        text = "<image>".join(pieces)
        n = len(pieces) - 1
        content = prompt_messages(text, n)[0]["content"]
        assert sum(p["type"] == "image" for p in content) == n
        assert "".join(p.get("text", "") for p in content) == "".join(pieces)


class TestPairSources:
    def test_one_folder_serves_every_file(self, tmp_path):
        a, b = write_jsonl(tmp_path / "a.jsonl", []), write_jsonl(tmp_path / "b.jsonl", [])
        sources = pair_sources([a, b], [tmp_path])
        assert [s.image_folder for s in sources] == [tmp_path, tmp_path]

    def test_default_folder_is_the_data_files_own(self, tmp_path):
        a = write_jsonl(tmp_path / "a.jsonl", [])
        assert pair_sources([a], [])[0].image_folder == tmp_path

    def test_unpaired_counts_are_rejected(self, tmp_path):
        files = [write_jsonl(tmp_path / f"{n}.jsonl", []) for n in "abc"]
        with pytest.raises(DataError, match="2 image folders for 3 data files"):
            pair_sources(files, [tmp_path, tmp_path])

    def test_missing_data_file_and_no_data(self, tmp_path):
        with pytest.raises(DataError, match="data file not found"):
            pair_sources([tmp_path / "x.jsonl"], [])
        with pytest.raises(DataError, match="no training data"):
            pair_sources([], [])


class TestLoadRecords:
    def test_missing_images_are_listed_with_ids(self, tmp_path):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(1, ["a.png"]), sample(2, ["b.png", "c.png"])])
        with pytest.raises(DataError, match=r"3 image files not found, e\.g\. .*id 1: .*a\.png"):
            load_records(pair_sources([data], []))

    def test_empty_file_is_an_error(self, tmp_path):
        data = write_jsonl(tmp_path / "d.jsonl", [])
        with pytest.raises(DataError, match="no samples"):
            load_records(pair_sources([data], []))

    def test_mixed_id_types_become_strings(self, tmp_path):
        data = write_jsonl(tmp_path / "d.jsonl", [sample(1, text="x"), sample("two", text="y")])
        assert [r["id"] for r in load_records(pair_sources([data], []))] == ["1", "two"]


class TestTrainDataset:
    def test_rows_carry_prompt_images_and_truth_columns(self, tmp_path):
        path = write_tiny_dataset(tmp_path, n_samples=2)
        ds = build_train_dataset(load_records(pair_sources([path], [tmp_path])))
        row = ds[1]
        assert row["id"] == "tiny-1" and '"click"' in row["solution"]
        assert [img.size for img in row["images"]] == [(112, 224), (112, 224)]
        assert row["image_sizes"] == [[112, 224], [112, 224]]
        assert [p["type"] for p in row["prompt"][0]["content"]] == ["text", "image", "text", "image", "text"]
        assert row["accu_reward_method"] is None

    def test_images_are_opened_on_access_and_sizes_filled_from_them(self, tmp_path):
        from PIL import Image

        Image.new("RGB", (56, 84)).save(tmp_path / "s.png")
        data = write_jsonl(
            tmp_path / "d.jsonl", [sample(7, ["s.png"], method="iou"), sample(8, text="text only")]
        )
        ds = build_train_dataset(load_records(pair_sources([data], [])))
        (tmp_path / "s.png").unlink()  # building did not open the image; reading it now fails
        with pytest.raises(FileNotFoundError):
            ds[0]
        Image.new("RGB", (56, 84)).save(tmp_path / "s.png")
        assert ds[0]["image_sizes"] == [[56, 84]] and ds[0]["accu_reward_method"] == "iou"
        assert ds[1]["images"] == [] and ds[1]["image_sizes"] == []


class TestRowTransform:
    def test_repeated_prompt_decodes_its_screens_once(self, tmp_path, monkeypatch):
        import pickle

        from gui_agent_rl.train import data as data_mod

        path = write_tiny_dataset(tmp_path, n_samples=2)
        ds = build_train_dataset(load_records(pair_sources([path], [tmp_path])), max_pixels=64 * 28 * 28)
        calls = []
        real = data_mod.open_screen
        monkeypatch.setattr(data_mod, "open_screen", lambda *a: calls.append(a[0]) or real(*a))
        rows = ds[[0, 0, 0, 0]]  # what RepeatSampler asks for with num_generations=4
        assert len(rows["images"]) == 4 and len(calls) == 2  # two screens, opened once each
        pickle.dumps(data_mod.RowTransform(100))  # dataloader workers receive a copy


class TestPromptBudget:
    def test_counts_image_tokens_from_sizes(self):
        class CharTokenizer:
            def __call__(self, texts):
                return {"input_ids": [list(t) for t in texts]}

        records = [{"id": 1, "human": "ab<image>", "image_sizes": [[280, 280]], "image_paths": ["x"]}]
        [(rid, n)] = prompt_token_counts(records, CharTokenizer(), 3136, 280 * 280)
        assert rid == 1 and n == 2 + 100 + 2 + 20  # text + 10x10 patches of 28 px + vision markers + template

    def test_warns_once_naming_the_largest(self, caplog):
        with caplog.at_level(logging.WARNING):
            assert warn_over_budget([("a", 10), ("b", 900), ("c", 700)], 500) == 2
        assert len(caplog.records) == 1 and "id b" in caplog.text
        assert warn_over_budget([("a", 10)], None) == 0


class TestOpenScreen:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
    def test_image_lands_on_the_rewards_resized_frame_and_reports_its_original_size(self, tmp_path, fmt):
        from PIL import Image

        from gui_agent_rl.schemas import smart_resize
        from gui_agent_rl.train.data import open_screen

        path = tmp_path / f"s.{fmt.lower()}"
        Image.new("RGB", (1079, 2401), (10, 200, 30)).save(path, format=fmt)
        img, size = open_screen(str(path), max_pixels=64 * 28 * 28, min_pixels=4 * 28 * 28)
        h, w = smart_resize(2401, 1079, min_pixels=4 * 28 * 28, max_pixels=64 * 28 * 28)
        assert size == [1079, 2401] and img.mode == "RGB" and img.size == (w, h)

    def test_without_pixel_limit_the_image_is_untouched(self, tmp_path):
        from PIL import Image

        from gui_agent_rl.train.data import open_screen

        Image.new("L", (30, 50)).save(tmp_path / "g.png")
        img, size = open_screen(str(tmp_path / "g.png"))
        assert img.size == (30, 50) and size == [30, 50] and img.mode == "RGB"

    @pytest.mark.parametrize("limit", [1000, 700])  # over the limit (Pillow warns), over twice it (errors)
    def test_a_decompression_bomb_is_refused_by_name_before_decoding(self, tmp_path, monkeypatch, limit):
        from PIL import Image

        from gui_agent_rl.train.data import open_screen

        Image.new("RGB", (30, 50)).save(tmp_path / "big.png")  # 1,500 pixels
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(ValueError, match=r"screenshot .*big\.png: .*1500 pixels"):
            open_screen(str(tmp_path / "big.png"), max_pixels=64 * 28 * 28)
