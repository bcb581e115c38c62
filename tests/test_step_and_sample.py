"""StepRecord, ThinkBlock, Sample and the JSON-lines reader/writer."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from gui_agent_rl.schemas import (
    JsonlError,
    JsonlWriter,
    Sample,
    StepRecord,
    ThinkBlock,
    default_image_folder,
    read_samples,
    write_samples,
)

STEP = {
    "input": {
        "task_content": "打开淘宝 app。点击屏幕底部的 '购物车' 图标。",
        "task_path": {"1": "打开APP", "2": "点击底部购物车"},
        "screen_path1": "43688_2.jpg",
        "screen_path2": "43688_3.jpg",
        "history_path_all": ["打开APP"],
        "app_name": "淘宝",
        "action_type_list": {"open_app": "打开APP", "click": "点击"},
    },
    "output": {
        "action_type": "click",
        "action_parameter": {"click": "49,721,1368,1008"},
        "action_description": "点击",
    },
}


def sample(**overrides) -> dict:
    obj = {
        "id": 1,
        "image": ["43688/43688_2.jpg", "43688/43688_3.jpg"],
        "conversations": [
            {"from": "human", "value": 'PREFIX{"screen_path1": "<image>", "screen_path2": "<image>"}'},
            {"from": "gpt", "value": json.dumps(STEP["output"], ensure_ascii=False)},
        ],
        "image_sizes": [[1080, 2400], [1080, 2400]],
        "task_id": "43688",
        "step": 3,
    }
    obj.update(overrides)
    return obj


class TestStepRecord:
    def test_spec_step_parses(self):
        step = StepRecord.from_obj(STEP)
        assert step.output.action_type == "click"
        assert step.input.screens() == [("screen_path1", "43688_2.jpg"), ("screen_path2", "43688_3.jpg")]

    def test_first_step_without_previous_screen(self):
        obj = {**STEP, "input": {**STEP["input"], "screen_path1": ""}}
        assert StepRecord.from_obj(obj).input.screens() == [("screen_path2", "43688_3.jpg")]

    def test_optional_fields_may_be_absent(self):
        step = StepRecord.from_obj({"input": {"task_content": "x"}, "output": STEP["output"]})
        assert step.input.history_path_all == [] and step.input.screen_path1 is None

    def test_unknown_input_keys_are_kept(self):
        obj = {**STEP, "input": {**STEP["input"], "device": "pixel"}}
        assert StepRecord.from_obj(obj).input.model_extra == {"device": "pixel"}

    def test_bad_action_error_names_the_output_field(self):
        bad = {**STEP, "output": {"action_type": "click", "action_parameter": {"click": "5,5,1,1"}}}
        with pytest.raises(ValueError, match=r"^output\.action_parameter\.click: box must have"):
            StepRecord.from_obj(bad)

    def test_missing_task_content_is_named(self):
        with pytest.raises(ValueError, match=r"^input\.task_content: missing"):
            StepRecord.from_obj({"input": {}, "output": STEP["output"]})


class TestThinkBlock:
    FIELDS: ClassVar[dict[str, str]] = {
        "task_interpretation": "a",
        "current_page_audit": "b",
        "path_alignment_check": "c",
        "action_validation": "d",
    }

    def test_four_fields(self):
        assert ThinkBlock.model_validate(self.FIELDS).action_validation == "d"

    @pytest.mark.parametrize("bad", [{"action_validation": " "}, {"extra": "x"}])
    def test_blank_or_extra_fields_are_rejected(self, bad):
        with pytest.raises(ValueError):
            ThinkBlock.model_validate({**self.FIELDS, **bad})

    def test_missing_field_is_rejected(self):
        with pytest.raises(ValueError):
            ThinkBlock.model_validate({k: v for k, v in self.FIELDS.items() if k != "current_page_audit"})


class TestSample:
    def test_views(self):
        s = Sample.model_validate(sample())
        assert s.images == ["43688/43688_2.jpg", "43688/43688_3.jpg"]
        assert s.solution.startswith('{"action_type": "click"')
        assert s.prompt.count("<image>") == 2

    def test_single_image_as_a_string_and_text_only(self):
        one = sample(image="a.jpg", image_sizes=None)
        one["conversations"][0]["value"] = "<image>hi"
        assert Sample.model_validate(one).images == ["a.jpg"]
        none = sample(image_sizes=None)
        del none["image"]
        none["conversations"][0]["value"] = "text only"
        assert Sample.model_validate(none).images == []

    def test_marker_count_must_match_images(self):
        bad = sample(image=["a.jpg"], image_sizes=None)
        with pytest.raises(ValueError, match="2 <image> markers for 1 images"):
            Sample.model_validate(bad)

    def test_unknown_keys_are_kept(self):
        s = Sample.model_validate(sample(source="aitw"))
        assert s.model_extra == {"source": "aitw"}


class TestJsonl:
    def test_writer_keeps_chinese_unescaped_and_reader_reads_back(self, tmp_path):
        path = tmp_path / "d.jsonl"
        write_samples(path, [Sample.model_validate(sample()), sample(id=2)])
        raw = path.read_text(encoding="utf-8")
        assert "点击" in raw and "\\u" not in raw
        back = list(read_samples(path))
        assert [s.id for s in back] == [1, 2]
        assert back[0] == Sample.model_validate(sample())

    def test_bad_line_is_reported_with_its_number(self, tmp_path):
        path = tmp_path / "d.jsonl"
        good = json.dumps(sample(), ensure_ascii=False)
        path.write_text(f"{good}\n\n{{broken\n", encoding="utf-8")
        with pytest.raises(JsonlError, match=r"d\.jsonl:3: not valid JSON"):
            list(read_samples(path))

    def test_invalid_sample_is_reported_with_its_number_and_field(self, tmp_path):
        path = tmp_path / "d.jsonl"
        bad = sample()
        del bad["conversations"]
        path.write_text(json.dumps(sample()) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
        with pytest.raises(JsonlError, match=r"d\.jsonl:2: conversations: missing"):
            list(read_samples(path))

    def test_crash_inside_the_writer_leaves_the_old_file_and_no_temp(self, tmp_path):
        path = tmp_path / "d.jsonl"
        path.write_text("old\n")
        with pytest.raises(RuntimeError), JsonlWriter(path) as w:
            w.write({"id": 1})
            raise RuntimeError("crash")
        assert path.read_text() == "old\n"
        assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


class TestDefaultImageFolder:
    def test_the_dataset_folder_when_the_images_are_there(self, tmp_path):
        write_samples(tmp_path / "d.jsonl", [sample()])
        (tmp_path / "43688").mkdir()
        (tmp_path / "43688" / "43688_2.jpg").write_bytes(b"")
        assert default_image_folder(tmp_path / "d.jsonl") == tmp_path

    def test_the_folder_named_like_the_dataset_next(self, tmp_path):
        write_samples(tmp_path / "d.jsonl", [sample()])
        (tmp_path / "d" / "43688").mkdir(parents=True)
        (tmp_path / "d" / "43688" / "43688_2.jpg").write_bytes(b"")
        assert default_image_folder(tmp_path / "d.jsonl") == tmp_path / "d"

    def test_the_dataset_folder_when_the_images_are_nowhere(self, tmp_path):
        write_samples(tmp_path / "d.jsonl", [sample()])
        assert default_image_folder(tmp_path / "d.jsonl") == tmp_path
        assert default_image_folder(tmp_path / "missing.jsonl", "x.png") == tmp_path
