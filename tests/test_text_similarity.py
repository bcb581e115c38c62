"""Text normalisation and Levenshtein similarity for the text-carrying actions.

The default rule is ``faithful`` (NFKC and whitespace only); ``casefold`` and ``loose`` (the old
default: case, punctuation and separators dropped) are opt-in.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gui_agent_rl.rewards.text import TEXT_MATCH_MODES, check_text_match, normalize_text, text_similarity


class TestNormalizeTextFaithful:
    def test_full_width_forms_become_ascii_and_case_stays(self):
        assert normalize_text("ＷｅＣｈａｔ１２３") == "WeChat123"

    def test_whitespace_runs_collapse_and_ends_are_trimmed(self):
        assert normalize_text("\t Hello \u3000\n  World  ") == "Hello World"

    def test_punctuation_and_symbols_are_kept(self):
        assert normalize_text("《剑来》，第一章！") == "《剑来》,第一章!"  # NFKC: full-width ， ！ -> , !
        assert normalize_text("¥100 + 5") == "¥100 + 5"


class TestNormalizeTextOptIn:
    def test_casefold_folds_beyond_lower(self):
        assert normalize_text("Straße", "casefold") == normalize_text("STRASSE", "casefold") == "strasse"

    def test_loose_drops_punctuation_and_separators_of_any_script(self):
        assert normalize_text("《剑来》，第一章！\u3000(新)\n\t", "loose") == "剑来第一章新"

    def test_loose_keeps_symbols_and_digits(self):
        assert normalize_text("¥100 + 5", "loose") == "¥100+5"

    def test_unknown_rule_is_an_error_naming_the_choices(self):
        with pytest.raises(ValueError, match="faithful, casefold, loose"):
            check_text_match("exact")
        with pytest.raises(ValueError):
            normalize_text("a", "exact")


class TestTextSimilarity:
    def test_one_wrong_character_in_four_scores_three_quarters(self):
        assert text_similarity("无锡天汽", "无锡天气") == pytest.approx(0.75)

    def test_unrelated_texts_score_low(self):
        assert text_similarity("打开微信", "今日天气晴") < 0.2

    def test_punctuation_and_case_count_by_default(self):
        assert text_similarity("Hello, World!", "hello world") < 1.0
        assert text_similarity("Hello, World!", "hello world", "loose") == 1.0

    def test_spacing_alone_does_not_count(self):
        assert text_similarity(" Hello   World ", "Hello World") == 1.0

    def test_empty_against_non_empty_scores_zero(self):
        assert text_similarity("", "微信") == 0.0

    def test_two_texts_that_normalise_to_nothing_are_equal(self):
        assert text_similarity("", " \u3000") == 1.0
        assert text_similarity("", "。！", "loose") == 1.0

    @given(st.text(max_size=30), st.text(max_size=30), st.sampled_from(TEXT_MATCH_MODES))
    def test_symmetric_and_in_range(self, a, b, mode):
        s = text_similarity(a, b, mode)
        assert 0.0 <= s <= 1.0
        assert s == text_similarity(b, a, mode)
        assert text_similarity(a, a, mode) == 1.0
