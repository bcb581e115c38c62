"""String normalisation and similarity for the text-carrying actions (type, open_app, task_*).

Two strings are compared after :func:`normalize_text` (NFKC, case-fold, whitespace and punctuation
removed), so full-width and half-width forms, letter case and "，" vs "," don't count as errors, and
then by the Levenshtein package's normalised InDel similarity (``Levenshtein.ratio``): one wrong
character in four gives 0.75, unrelated strings give about 0.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import Levenshtein

#: Unicode general categories dropped by :func:`normalize_text`: punctuation (P*) and separators (Z*).
DROPPED_CATEGORIES = ("P", "Z")


@lru_cache(maxsize=65536)  # the same truth string is compared G times per group
def normalize_text(s: str) -> str:
    """NFKC, case-fold, then drop punctuation (P*), separators (Z*) and other whitespace.

    >>> normalize_text("Hello, World！ ")
    'helloworld'
    >>> normalize_text("ＡＢＣ　无锡。")
    'abc无锡'
    """
    folded = unicodedata.normalize("NFKC", s).casefold()
    return "".join(
        ch for ch in folded if not ch.isspace() and unicodedata.category(ch)[0] not in DROPPED_CATEGORIES
    )


def text_similarity(a: str, b: str) -> float:
    """Similarity of two texts in [0, 1]: 1.0 when equal after normalisation.

    Two texts that normalise to nothing (e.g. ``""`` and ``"。"``) are equal; an empty text against a
    non-empty one scores 0.

    >>> text_similarity("无锡天汽", "无锡天气")
    0.75
    >>> text_similarity("Open WeChat.", "open wechat")
    1.0
    """
    na, nb = normalize_text(a), normalize_text(b)
    if na == nb:
        return 1.0
    return float(Levenshtein.ratio(na, nb))
