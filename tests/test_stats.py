"""Dataset statistics: counts, action mix, image sizes and prompt tokens on known data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gui_agent_rl.datagen.stats import (
    CHAT_TEMPLATE_TOKENS,
    VISION_WRAPPER_TOKENS,
    dataset_stats,
    estimate_text_tokens,
)
from gui_agent_rl.schemas import JsonlError, visual_tokens

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "corpus.jsonl"


def _sample(sid, task, action, images, sizes, text="点击设置 ok"):
    human = text + "<image>" * len(images)
    gpt = json.dumps({"action_type": action, "action_parameter": {action: ""}}, ensure_ascii=False)
    obj = {"id": sid, "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]}
    if images:
        obj |= {"image": images, "image_sizes": sizes}
    return obj | {"task_id": task, "step": 0}


@pytest.fixture
def known(tmp_path: Path) -> Path:
    rows = [
        _sample(1, "1", "wait", ["a.jpg", "b.jpg"], [[1080, 2400], [1080, 2400]]),
        _sample(2, "1", "back", ["c.png"], [[100, 200]]),
        _sample(3, "2", "wait", [], []),
    ]
    path = tmp_path / "known.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


class TestEstimate:
    @pytest.mark.parametrize(
        ("text", "tokens"), [("", 0), ("点击剑来", 4), ("abcd", 1), ("abcde", 2), ("打开 app", 2 + 1)]
    )
    def test_one_token_per_cjk_character_and_per_four_ascii(self, text, tokens):
        assert estimate_text_tokens(text) == tokens


class TestDatasetStats:
    def test_counts_mix_and_sizes(self, known):
        stats = dataset_stats(known)
        assert stats.samples == 3 and stats.task_ids == {"1", "2"}
        assert stats.action_mix == {"wait": 2, "back": 1}
        assert stats.images_per_sample == {2: 1, 1: 1, 0: 1}
        assert stats.image_sizes == {(1080, 2400): 2, (100, 200): 1}

    def test_prompt_tokens_are_text_plus_visual_tokens_per_image(self, known):
        stats = dataset_stats(known, min_pixels=3136, max_pixels=1003520)
        text = CHAT_TEMPLATE_TOKENS + estimate_text_tokens("点击设置 ok")
        big = visual_tokens(1080, 2400, 3136, 1003520) + VISION_WRAPPER_TOKENS
        small = visual_tokens(100, 200, 3136, 1003520) + VISION_WRAPPER_TOKENS
        assert big == 1272 + 2  # 1484x672 pixels seen -> 53 x 24 patches of 28
        assert list(stats.prompt_tokens) == [text + 2 * big, text + small, text]

    def test_budget_flags_only_the_samples_over_it(self, known):
        stats = dataset_stats(known, max_pixels=1003520, max_prompt_tokens=1000)
        assert stats.over_budget == 1 and stats.over_budget_ids == [1]
        assert "over the budget of 1000 tokens: 1 (ids 1)" in stats.format()

    def test_pixel_limits_change_the_visual_tokens(self, known):
        default = dataset_stats(known)
        capped = dataset_stats(known, max_pixels=200_000)
        assert capped.prompt_tokens[0] < default.prompt_tokens[0]
        assert capped.prompt_tokens[2] == default.prompt_tokens[2]

    def test_custom_text_counter_is_used(self, known):
        stats = dataset_stats(known, count_text=lambda text: 1000)
        assert stats.prompt_tokens[2] == CHAT_TEMPLATE_TOKENS + 1000

    def test_format_reports_percentiles(self, known):
        text = dataset_stats(known).format()
        assert "samples: 3" in text and "tasks: 2" in text and "prompt tokens per sample: min" in text
        assert "1080x2400: 2" in text

    def test_bad_line_names_file_and_line(self, tmp_path):
        path = tmp_path / "bad.jsonl"
        path.write_text('{"id": 1}\n', encoding="utf-8")
        with pytest.raises(JsonlError, match=r"bad\.jsonl:1:"):
            dataset_stats(path)

    def test_shipped_example_dataset(self):
        stats = dataset_stats(EXAMPLE)
        assert stats.samples == 30 and len(stats.task_ids) == 6
        assert len(stats.action_mix) == 10
        assert stats.images_per_sample == {1: 6, 2: 24}
        assert stats.image_sizes == {(1080, 2400): 54}


class TestTokenizer:
    def test_tokenizer_counter_counts_without_special_tokens(self, monkeypatch, known):
        calls = []

        class FakeTokenizer:
            def __call__(self, text, add_special_tokens=True):
                calls.append(add_special_tokens)
                return {"input_ids": list(range(len(text.split())))}

        class FakeAuto:
            @staticmethod
            def from_pretrained(path):
                assert path == "tok-dir"
                return FakeTokenizer()

        import sys
        import types

        monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=FakeAuto))
        from gui_agent_rl.datagen.stats import tokenizer_counter

        count = tokenizer_counter("tok-dir")
        assert count("a b c") == 3 and calls == [False]
        stats = dataset_stats(known, count_text=count)
        assert stats.prompt_tokens[2] == CHAT_TEMPLATE_TOKENS + 2  # "点击设置 ok" is two words


class TestPercentiles:
    def test_nearest_rank_percentiles(self):
        from gui_agent_rl.datagen.stats import DatasetStats

        stats = DatasetStats()
        assert stats.percentiles(50) == [0]
        stats.prompt_tokens.extend([5, 1, 4, 2, 3])
        assert stats.percentiles(0, 50, 95, 100) == [1, 3, 5, 5]
