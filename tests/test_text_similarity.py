"""Text normalisation and Levenshtein similarity for the text-carrying actions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.rewards.text import normalize_text, text_similarity


class TestNormalizeText:
    def test_full_width_forms_become_ascii(self):
        assert normalize_text("ＷｅＣｈａｔ１２３") == "wechat123"

    def test_case_folds_beyond_lower(self):
        assert normalize_text("Straße") == normalize_text("STRASSE") == "strasse"

    def test_punctuation_and_separators_of_any_script_are_dropped(self):
        assert normalize_text("《剑来》，第一章！\u3000(新)\n\t") == "剑来第一章新"

    def test_symbols_and_digits_are_kept(self):
        assert normalize_text("¥100 + 5") == "¥100+5"


class TestTextSimilarity:
    def test_one_wrong_character_in_four_scores_three_quarters(self):
        assert text_similarity("无锡天汽", "无锡天气") == pytest.approx(0.75)

    def test_unrelated_texts_score_low(self):
        assert text_similarity("打开微信", "今日天气晴") < 0.2

    def test_texts_equal_after_normalisation_score_one(self):
        assert text_similarity("Hello, World!", "hello world") == 1.0

    def test_empty_against_non_empty_scores_zero(self):
        assert text_similarity("", "微信") == 0.0

    def test_two_texts_that_normalise_to_nothing_are_equal(self):
        assert text_similarity("", "。！") == 1.0

    @given(st.text(max_size=30), st.text(max_size=30))
    def test_symmetric_and_in_range(self, a, b):
        s = text_similarity(a, b)
        assert 0.0 <= s <= 1.0
        assert s == text_similarity(b, a)
        assert text_similarity(a, a) == 1.0
