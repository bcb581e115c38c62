"""Draw phone-shaped screens with Pillow, and say where every drawn target is.

A :class:`Screen` is a page state (title, list rows, bottom buttons, search box, keyboard, a
long-press menu, a loading spinner, or the launcher's app grid); :func:`render` draws it and returns
a :class:`Layout` with the pixel box of each target, so synthetic steps can click exactly what was
drawn. Layout is designed on a 1080-pixel-wide grid and scaled to the requested size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from PIL import Image, ImageDraw

from gui_agent_rl.datagen.fonts import load_font
from gui_agent_rl.schemas import Box

ROW_HEIGHT = 150  # design units (1080-wide grid)
_BG, _INK, _GREY, _LINE, _ACCENT = (
    (255, 255, 255),
    (25, 25, 25),
    (140, 140, 140),
    (228, 228, 228),
    (22, 119, 255),
)
_ICON_COLOURS = ((7, 193, 96), (255, 80, 0), (232, 65, 66), (255, 196, 0), (22, 119, 255), (120, 90, 220))
_KEY_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")


@dataclass(frozen=True)
class Screen:
    """One page as the user sees it. ``scroll`` is the index of the first visible row."""

    title: str
    rows: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    search: str | None = None  # None: no search box; "": an empty one
    keyboard: bool = False
    menu: tuple[str, ...] = ()  # long-press menu items, drawn over the list
    loading: bool = False
    launcher: bool = False  # the home screen: rows are app names drawn as an icon grid
    scroll: int = 0

    def but(self, **changes: object) -> Screen:
        return replace(self, **changes)


@dataclass
class Layout:
    """Pixel boxes of what :func:`render` drew, keyed ``row:<label>``, ``button:<label>``, ``app:<name>``,
    ``search``, ``menu:<item>``; ``list`` is the scrollable list area."""

    boxes: dict[str, Box] = field(default_factory=dict)
    visible_rows: list[str] = field(default_factory=list)


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (width, height), _BG)
        self.draw = ImageDraw.Draw(self.image)
        self.s = width / 1080
        self.width, self.height = width, height

    def px(self, v: float) -> int:
        return round(v * self.s)

    def rect(self, x1: float, y1: float, x2: float, y2: float, **kw: object) -> Box:
        box = Box(self.px(x1), self.px(y1), self.px(x2), self.px(y2))
        self.draw.rounded_rectangle((box.x1, box.y1, box.x2, box.y2), radius=self.px(kw.pop("r", 0)), **kw)
        return box

    def text(
        self, x: float, y: float, text: str, size: int, *, fill: tuple = _INK, anchor: str = "lm"
    ) -> None:
        font = load_font(max(8, self.px(size)))
        self.draw.text((self.px(x), self.px(y)), text, font=font, fill=fill, anchor=anchor)


def _status_bar(c: _Canvas) -> None:
    c.text(50, 40, "9:41", 34)
    c.rect(940, 24, 1000, 56, outline=_INK, width=max(1, c.px(3)), r=6)
    c.rect(946, 30, 984, 50, fill=_INK)
    for i in range(4):
        c.rect(850 + i * 18, 50 - i * 8, 862 + i * 18, 56, fill=_INK)


def _title_bar(c: _Canvas, title: str) -> None:
    c.text(50, 150, "<", 52)
    c.text(540, 150, title, 48, anchor="mm")
    c.rect(0, 226, 1080, 228, fill=_LINE)


def _bottom(c: _Canvas, screen: Screen, layout: Layout) -> float:
    """Draw the keyboard or the button bar; returns the design-unit y where the list must end."""
    bottom = c.height / c.s
    if screen.keyboard:
        top = bottom - 760
        c.rect(0, top, 1080, bottom, fill=(210, 213, 219))
        for r, keys in enumerate(_KEY_ROWS):
            x0 = 12 + r * 50
            for i, key in enumerate(keys):
                x = x0 + i * 106
                c.rect(x, top + 30 + r * 160, x + 94, top + 160 + r * 160, fill=_BG, r=10)
                c.text(x + 47, top + 95 + r * 160, key, 40, anchor="mm")
        c.rect(230, top + 510, 850, top + 640, fill=_BG, r=10)
        c.text(540, top + 575, "空格", 36, anchor="mm")
        return top
    if not screen.buttons:
        return bottom - 40
    top = bottom - 200
    c.rect(0, top, 1080, top + 2, fill=_LINE)
    width = 1080 / len(screen.buttons)
    for i, label in enumerate(screen.buttons):
        box = c.rect(i * width + 20, top + 30, (i + 1) * width - 20, top + 150, fill=(240, 244, 255), r=24)
        c.text((i + 0.5) * width, top + 90, label, 38, fill=_ACCENT, anchor="mm")
        layout.boxes[f"button:{label}"] = box
    return top


def _rows(c: _Canvas, screen: Screen, top: float, bottom: float, layout: Layout) -> None:
    layout.boxes["list"] = Box(0, c.px(top), c.width, c.px(bottom))
    if screen.loading:
        c.text(540, (top + bottom) / 2, "加载中…", 44, fill=_GREY, anchor="mm")
        return
    y = top
    for label in screen.rows[screen.scroll :]:
        if y + ROW_HEIGHT > bottom:
            break
        box = c.rect(24, y + 10, 1056, y + ROW_HEIGHT - 10, fill=(248, 248, 248), r=18)
        c.draw.ellipse((c.px(60), c.px(y + 40), c.px(130), c.px(y + 110)), fill=_LINE)
        c.text(160, y + ROW_HEIGHT / 2, label, 42)
        c.text(1010, y + ROW_HEIGHT / 2, ">", 40, fill=_GREY)
        layout.boxes[f"row:{label}"] = box
        layout.visible_rows.append(label)
        y += ROW_HEIGHT


def _launcher(c: _Canvas, screen: Screen, layout: Layout) -> None:
    for i, name in enumerate(screen.rows):
        col, row = i % 4, i // 4
        x, y = 60 + col * 255, 300 + row * 300
        box = c.rect(x, y, x + 200, y + 250, fill=_BG)
        c.rect(x + 25, y, x + 175, y + 150, fill=_ICON_COLOURS[i % len(_ICON_COLOURS)], r=36)
        c.text(x + 100, y + 75, name[:1], 64, fill=_BG, anchor="mm")
        c.text(x + 100, y + 205, name, 34, anchor="mm")
        layout.boxes[f"app:{name}"] = box


def _menu(c: _Canvas, screen: Screen, layout: Layout) -> None:
    top = 900
    c.rect(150, top - 20, 950, top + 20 + 140 * len(screen.menu), fill=(60, 60, 60), r=28)
    for i, item in enumerate(screen.menu):
        y = top + i * 140
        box = c.rect(170, y, 930, y + 130, fill=(75, 75, 75), r=18)
        c.text(540, y + 65, item, 42, fill=_BG, anchor="mm")
        layout.boxes[f"menu:{item}"] = box


def render(screen: Screen, width: int = 1080, height: int = 2400) -> tuple[Image.Image, Layout]:
    """Draw ``screen`` at ``width`` x ``height`` pixels; return the image and where things are."""
    c, layout = _Canvas(width, height), Layout()
    _status_bar(c)
    if screen.launcher:
        _launcher(c, screen, layout)
        return c.image, layout
    _title_bar(c, screen.title)
    top = 250
    if screen.search is not None:
        layout.boxes["search"] = c.rect(40, 250, 1040, 360, fill=(242, 242, 242), r=55)
        c.text(100, 305, screen.search or "搜索", 40, fill=_INK if screen.search else _GREY)
        top = 390
    bottom = _bottom(c, screen, layout)
    _rows(c, screen, top, bottom, layout)
    if screen.menu:
        _menu(c, screen, layout)
    return c.image, layout
