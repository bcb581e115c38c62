"""String normalisation and similarity for the text-carrying actions (type, open_app, task_*, inquiry).

Two strings are compared after :func:`normalize_text` under a named *text match* rule, then by the
Levenshtein package's normalised InDel similarity (``Levenshtein.ratio``): one wrong character in
four gives 0.75, unrelated strings give about 0. The rules (``text_match``):

- ``faithful`` (the default): Unicode NFKC (full-width ``ＡＢＣ１`` = ``ABC1``, ``，`` = ``,``), whitespace
  runs collapsed to one space, both ends trimmed. Case, punctuation and signs count: an e-mail
  address without its ``@`` and ``.``, ``-5`` for ``5``, ``3.5`` for ``35`` or ``hunter2pass`` for
  ``Hunter2Pass`` is not the text the user asked to type.
- ``casefold``: faithful, and letter case ignored (``Straße`` = ``STRASSE``).
- ``loose``: casefold, and every punctuation mark (P*), separator (Z*) and whitespace dropped
  (``Hello, World!`` = ``helloworld``): the rule this project used before, kept for comparisons.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import Levenshtein

#: The text match rules, strictest first; ``faithful`` is the default everywhere.
TEXT_MATCH_MODES: tuple[str, ...] = ("faithful", "casefold", "loose")
DEFAULT_TEXT_MATCH = "faithful"
#: Unicode general categories dropped by the ``loose`` rule: punctuation (P*) and separators (Z*).
DROPPED_CATEGORIES = ("P", "Z")


def check_text_match(mode: str) -> str:
    """``mode`` itself when it names a rule of :data:`TEXT_MATCH_MODES`, else ``ValueError``."""
    if mode not in TEXT_MATCH_MODES:
        raise ValueError(f"unknown text match {mode!r}; expected one of {', '.join(TEXT_MATCH_MODES)}")
    return mode


def check_text_threshold(value: float | None) -> float | None:
    """``value`` when it is None or a number in (0, 1] (a similarity threshold), else ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"text_threshold must be a number in (0, 1] or unset, got {value!r}")
    return float(value)


@lru_cache(maxsize=65536)  # the same truth string is compared G times per group
def normalize_text(s: str, mode: str = DEFAULT_TEXT_MATCH) -> str:
    """``s`` as the text match rule ``mode`` compares it (see the module docstring).

    >>> normalize_text("  Ｈｉ,\\u3000 Bob! ")
    'Hi, Bob!'
    >>> normalize_text("Hello, World！ ", "loose")
    'helloworld'
    >>> normalize_text("ＡＢＣ　无锡。", "casefold")
    'abc 无锡。'
    """
    text = " ".join(unicodedata.normalize("NFKC", s).split())
    if mode == "faithful":
        return text
    folded = text.casefold()
    if mode == "casefold":
        return folded
    check_text_match(mode)
    return "".join(
        ch for ch in folded if not ch.isspace() and unicodedata.category(ch)[0] not in DROPPED_CATEGORIES
    )


def text_similarity(a: str, b: str, mode: str = DEFAULT_TEXT_MATCH) -> float:
    """Similarity of two texts in [0, 1]: 1.0 when equal after :func:`normalize_text` with ``mode``.

    Two texts that normalise to nothing (e.g. ``""`` and ``" "``) are equal; an empty text against a
    non-empty one scores 0.

    >>> text_similarity("无锡天汽", "无锡天气")
    0.75
    >>> text_similarity("Open WeChat", "open wechat", "casefold")
    1.0
    >>> text_similarity("3.5", "35"), text_similarity("3.5", "35", "loose")
    (0.8, 1.0)
    """
    na, nb = normalize_text(a, mode), normalize_text(b, mode)
    if na == nb:
        return 1.0
    return float(Levenshtein.ratio(na, nb))
