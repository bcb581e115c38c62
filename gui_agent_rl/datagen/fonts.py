"""A font that can draw Chinese, for synthetic screens and pictures of actions.

Looked for in this order: the ``cvttf-notosanscjk-regular`` package (the ``[fonts]`` extra; it ships
``NotoSansCJKtc-Regular.otf``), a system CJK font (Noto/Source Han CJK, WenQuanYi, Droid Sans
Fallback), and last Pillow's built-in font, with a warning, since it draws Chinese as boxes.

>>> font = load_font(40)  # doctest: +SKIP
>>> font.getbbox("设置")  # doctest: +SKIP
(0, 6, 80, 46)
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
from functools import lru_cache

from PIL import ImageFont

log = logging.getLogger(__name__)

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"  # import name of the cvttf-notosanscjk-regular package
_FONT_SUFFIXES = (".otf", ".ttf", ".ttc")
_SYSTEM_FONT_GLOBS = (
    "/usr/share/fonts/**/*CJK*",
    "/usr/share/fonts/**/*SourceHan*",
    "/usr/share/fonts/**/wqy*",
    "/usr/share/fonts/**/DroidSansFallback*",
    "/System/Library/Fonts/PingFang*",
    "C:/Windows/Fonts/msyh*",
)


def _packaged_font() -> str | None:
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for name in sorted(os.listdir(folder)):
            if name.lower().endswith(_FONT_SUFFIXES):
                return os.path.join(folder, name)
    return None


def _system_font() -> str | None:
    for pattern in _SYSTEM_FONT_GLOBS:
        hits = sorted(p for p in glob.glob(pattern, recursive=True) if p.lower().endswith(_FONT_SUFFIXES))
        if hits:
            return hits[0]
    return None


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Path of the CJK font that :func:`load_font` uses, or ``None`` when there is none."""
    path = _packaged_font() or _system_font()
    if path is None:
        log.warning(
            "no CJK font found (pip install 'gui-agent-rl[fonts]'); Chinese text will be drawn as boxes"
        )
    return path


@lru_cache(maxsize=32)
def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of ``size`` pixels that draws Chinese when a CJK font is available."""
    path = cjk_font_path()
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)
