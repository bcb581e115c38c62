"""The prompt-budget check covers every record and stays fast (issue 10, item 9)."""

from __future__ import annotations

import logging

import pytest

from gui_agent_rl.train.budget import BOUND_PROBE, check_prompt_budget, text_token_bounds
from gui_agent_rl.train.data import prompt_token_counts, warn_over_budget

MIN_PIXELS, MAX_PIXELS = 3136, 280 * 280  # a 280x280 screen: 10x10 = 100 image tokens
BUDGET = 500
SHORT = "点击<image>按钮"  # 2 CJK characters (6 bytes): far under the budget
LONG = "很长的历史" * 100  # 500 characters: over the budget with any byte-level tokenizer


class CharTokenizer:
    """One token per character; counts the texts it is asked to tokenize."""

    def __init__(self, per_char: int = 1) -> None:
        self.per_char, self.seen = per_char, 0

    def __call__(self, texts):
        self.seen += len(texts)
        return {"input_ids": [[0] * (len(t) * self.per_char) for t in texts]}


def records(n: int, long_at: tuple[int, ...] = ()) -> list[dict]:
    """``n`` one-screen records (sizes recorded; no image files needed), long texts at ``long_at``."""
    screen = [[280, 280]]
    return [
        {"id": f"r{i}", "human": LONG if i in long_at else SHORT, "image_sizes": screen, "image_paths": []}
        for i in range(n)
    ]


class TestEveryRecordIsChecked:
    def test_a_record_past_position_2000_over_the_budget_is_reported(self, caplog):
        data = records(2600, long_at=(2500,))
        with caplog.at_level(logging.WARNING):
            counts = prompt_token_counts(data, CharTokenizer(), MIN_PIXELS, MAX_PIXELS)
            assert len(counts) == 2600 and warn_over_budget(counts, BUDGET) == 1
        assert "id r2500" in caplog.text and "1 of 2600" in caplog.text

    def test_the_fast_check_reports_it_too(self, caplog):
        data = records(2600, long_at=(2500, 2599))
        with caplog.at_level(logging.WARNING):
            assert check_prompt_budget(data, CharTokenizer(), MIN_PIXELS, MAX_PIXELS, BUDGET) == 2
        assert "2 of 2600" in caplog.text

    def test_no_budget_checks_nothing(self):
        assert check_prompt_budget(records(3), CharTokenizer(), MIN_PIXELS, MAX_PIXELS, None) == 0


class TestFastPath:
    def test_only_records_whose_bound_exceeds_the_budget_are_tokenized(self):
        tokenizer = CharTokenizer()
        data = records(5000, long_at=(10, 4000))
        counts = dict(prompt_token_counts(data, tokenizer, MIN_PIXELS, MAX_PIXELS, budget=BUDGET))
        # "" once (what the tokenizer adds), the probe, then the two long texts
        assert tokenizer.seen == 1 + BOUND_PROBE + 2
        assert counts["r4000"] == 500 + 100 + 2 + 20  # exact: text + image + markers + template
        assert counts["r1"] <= BUDGET  # a bound, which is all the check needs

    def test_counts_over_the_budget_are_the_exact_ones(self):
        data = records(300, long_at=(7, 250))
        exact = prompt_token_counts(data, CharTokenizer(), MIN_PIXELS, MAX_PIXELS)
        fast = prompt_token_counts(data, CharTokenizer(), MIN_PIXELS, MAX_PIXELS, budget=BUDGET)
        assert [c for c in fast if c[1] > BUDGET] == [c for c in exact if c[1] > BUDGET]
        assert all(f[1] >= e[1] for f, e in zip(fast, exact, strict=True))

    def test_a_tokenizer_beating_the_byte_bound_gets_every_text_tokenized(self):
        greedy = CharTokenizer(per_char=4)  # 4 tokens per ASCII byte: the bound does not hold
        data = [{"id": i, "human": "ab" * 40, "image_sizes": None, "image_paths": []} for i in range(100)]
        assert text_token_bounds([r["human"] for r in data], greedy) is None
        counts = prompt_token_counts(data, CharTokenizer(per_char=4), MIN_PIXELS, MAX_PIXELS, budget=300)
        assert {n for _, n in counts} == {320 + 20}  # exact, and over the budget: reported

    def test_images_without_recorded_sizes_are_read_from_their_headers(self, tmp_path):
        from PIL import Image

        path = tmp_path / "s.png"
        Image.new("RGB", (280, 280)).save(path)
        data = [{"id": 1, "human": "<image>", "image_sizes": None, "image_paths": [str(path)]}]
        assert prompt_token_counts(data, CharTokenizer(), MIN_PIXELS, MAX_PIXELS) == [(1, 100 + 2 + 20)]


@pytest.mark.train
def test_the_byte_bound_holds_for_a_qwen2_byte_level_tokenizer():
    pytest.importorskip("transformers")
    from gui_agent_rl.datagen.prompts import load_prompt
    from gui_agent_rl.train.tiny import train_tokenizer

    tokenizer = train_tokenizer()
    texts = [load_prompt(), load_prompt(think=True), "", "a", "🙂 emoji ✓", "<|vision_start|>", "x" * 50]
    bounds = text_token_bounds(texts, tokenizer)
    exact = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    assert bounds is not None and all(n <= b for n, b in zip(exact, bounds, strict=True))
