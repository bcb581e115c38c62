"""The packaged prompt prefixes and reading a user's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gui_agent_rl.datagen.prompts import load_prompt, prompt_output_format, read_prompt_file
from gui_agent_rl.schemas import ACTION_TYPES, IMAGE_PLACEHOLDER, THINK_FIELDS


class TestPackagedPrompts:
    @pytest.mark.parametrize("think", [False, True])
    def test_prompt_names_every_action_type_and_both_screens(self, think):
        text = load_prompt(think=think)
        for action in ACTION_TYPES:
            assert re.search(rf"\b{action}\b", text), action
        for field in ("task_content", "task_path", "screen_path1", "screen_path2", "history_path_all"):
            assert field in text
        assert "action_description" in text

    @pytest.mark.parametrize("think", [False, True])
    def test_prompt_is_chinese_ends_ready_for_the_input_and_has_no_image_marker(self, think):
        text = load_prompt(think=think)
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 300
        assert text.endswith(":\n")
        assert IMAGE_PLACEHOLDER not in text

    def test_think_prompt_asks_for_the_four_fields_inside_think_then_the_answer(self):
        text = load_prompt(think=True)
        assert "<think>" in text and "</think>" in text and "<answer>" in text and "</answer>" in text
        for field in THINK_FIELDS:
            assert field in text
        assert text.index("<think>") < text.index("<answer>")

    def test_plain_prompt_asks_for_exactly_an_answer_block_and_no_think_block(self):
        text = load_prompt()
        assert "<think>" not in text and "<answer>{" in text and "</answer>" in text
        assert "<answer> 之前和 </answer> 之后都不能有任何内容" in text
        assert prompt_output_format(text) == "answer"

    def test_think_prompt_forbids_text_before_think_and_after_answer(self):
        text = load_prompt(think=True)
        assert "<think> 之前和 </answer> 之后都不能有任何内容" in text
        assert prompt_output_format(text) == "think"

    def test_current_screen_is_named_as_the_frame_of_the_coordinates(self):
        for text in (load_prompt(), load_prompt(think=True)):
            line = next(ln for ln in text.splitlines() if ln.startswith("- screen_path2"))
            assert "坐标" in line and "当前" in line


class TestUserPrompt:
    def test_user_prefix_is_used_verbatim(self, tmp_path: Path):
        path = tmp_path / "p.txt"
        path.write_text("  你是助手。\n\n输入:  ", encoding="utf-8")
        assert read_prompt_file(path) == "  你是助手。\n\n输入:  "

    def test_only_a_leading_byte_order_mark_is_dropped(self, tmp_path: Path):
        path = tmp_path / "p.txt"
        path.write_bytes("\ufeff你好\n".encode())
        assert read_prompt_file(path) == "你好\n"
