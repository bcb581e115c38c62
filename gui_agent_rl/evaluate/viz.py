"""Pictures of what the model did: truth and prediction drawn on the screenshot, one PNG per sample.

Layout, left to right: the previous screenshot (when the sample has two images), then the current one
(the last image: the actions' coordinates refer to it). On the current screen the true action is drawn
in green (box, point marker, or arrow for a swipe) and the predicted one in red (box plus its centre
point, point marker, or arrow); a swipe given by its direction is an arrow from the screen's centre, and
an action without a place (home, key) a coloured label at the screen's top left. Under the screens,
both actions are written out with the verdict of the matching rules.
Screens taller than ``height`` pixels (default 800) are scaled down to it, drawings included, and the
caption says by how much; coordinates in the text are always original pixels.

Text uses :func:`gui_agent_rl.datagen.fonts.load_font` so that Chinese renders (Noto Sans CJK when the
``fonts`` extra is installed; Pillow's default font, without CJK glyphs, as the last resort).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gui_agent_rl.schemas import Action, Box, Point, confined_image_path

DEFAULT_HEIGHT = 800
TRUTH_COLOUR = (0, 160, 60)
PRED_COLOUR = (225, 30, 30)
TEXT_COLOUR = (20, 20, 20)
FONT_SIZE = 18
LINE_HEIGHT = 24
MARGIN = 12
GAP = 12  # between the two screens
LABEL_HEIGHT = LINE_HEIGHT  # "previous" / "current" above each screen
MIN_WIDTH = 720  # room for the caption even beside one narrow screen
CAPTION_LINES = 8  # header, 3 for the truth, 3 for the prediction, footer: a fixed size per picture
ACTION_LINES = 3

MIN_HEIGHT = 64  # the smallest --height: a screen shown shorter than this shows nothing
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


class ScreenTooLarge(ValueError):
    """A screenshot over Pillow's decompression-bomb limit; the message names it and its size."""


@dataclass(frozen=True, slots=True)
class Marks:
    """What to draw on the current screen, in original pixels."""

    truth_box: Box | None = None
    truth_swipe: tuple[Point, Point] | None = None
    pred_box: Box | None = None
    pred_swipe: tuple[Point, Point] | None = None
    truth_point: Point | None = None
    pred_point: Point | None = None
    truth_label: str | None = None  # home, key enter: an action with no place on the screen
    pred_label: str | None = None


def scale_for(size: tuple[int, int], height: int) -> float:
    """Factor that brings a screen of ``(width, height)`` down to at most ``height`` pixels tall."""
    return min(1.0, height / size[1])


def shown_size(size: tuple[int, int], height: int) -> tuple[int, int]:
    """A screen's ``(width, height)`` as drawn: scaled by :func:`scale_for`, at least one pixel each way."""
    scale = scale_for(size, height)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def picture_size(current: tuple[int, int], previous: tuple[int, int] | None, height: int) -> tuple[int, int]:
    """``(width, height)`` of the PNG for screens of these original sizes.

    >>> picture_size((1080, 2400), (1080, 2400), 800)
    (756, 1052)
    """
    screens = [s for s in (previous, current) if s is not None]
    scaled = [shown_size(s, height) for s in screens]
    width = sum(w for w, _ in scaled) + GAP * (len(scaled) - 1) + 2 * MARGIN
    tallest = max(h for _, h in scaled)
    return max(
        MIN_WIDTH, width
    ), MARGIN + LABEL_HEIGHT + tallest + MARGIN + CAPTION_LINES * LINE_HEIGHT + MARGIN


def describe_action(action: Action) -> str:
    """One line: type, parameter and description, e.g. ``click [49,721,1368,1008] 点击剑来``."""
    wire = action.to_wire()
    params = wire["action_parameter"]
    value = params[action.action_type]
    if action.action_type == "inquiry":
        inquiry = action.inquiry
        value = f"{inquiry.question} {list(inquiry.candidates)} -> #{inquiry.answer_index}"
    elif action.action_type in ("click", "long_click", "swipe") and "," in value:
        value = f"[{value}]"
    if "duration" in params:
        value = f"{value} {params['duration']} ms"
    text = f"{action.action_type} {value}".rstrip()
    description = wire.get("action_description")
    return f"{text}  ({description})" if description else text


def wrap_text(text: str, font: FontType, width: int, max_lines: int) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines of at most ``width`` pixels (CJK has no spaces,
    so break anywhere); the last line ends with an ellipsis when text was cut."""
    lines: list[str] = []
    current = ""
    for char in text.replace("\n", " "):
        if font.getlength(current + char) > width and current:
            lines.append(current)
            current = ""
        current += char
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def safe_name(order: int, sample_id: int | str) -> str:
    """File name for a sample's picture: dataset order first, so a folder listing follows the dataset."""
    return f"{order:05d}_{re.sub(r'[^0-9A-Za-z._-]', '_', str(sample_id))[:80]}.png"


def _arrow(
    draw: ImageDraw.ImageDraw, start: Point, end: Point, colour: tuple[int, int, int], width: int
) -> None:
    draw.line([(start.x, start.y), (end.x, end.y)], fill=colour, width=width)
    dx, dy = end.x - start.x, end.y - start.y
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    ux, uy = dx / length, dy / length
    head = 6 * width
    left = (end.x - head * ux + head * 0.5 * uy, end.y - head * uy - head * 0.5 * ux)
    right = (end.x - head * ux - head * 0.5 * uy, end.y - head * uy + head * 0.5 * ux)
    draw.polygon([(end.x, end.y), left, right], fill=colour)
    draw.ellipse([start.x - width, start.y - width, start.x + width, start.y + width], fill=colour)


def _point_marker(draw: ImageDraw.ImageDraw, p: Point, colour: tuple[int, int, int], truth: bool) -> None:
    """A dot in a ring: the truth's ring wider, so a prediction on top of it leaves it visible."""
    ring, dot, width = (16, 5, 4) if truth else (11, 7, 3)
    draw.ellipse([p.x - ring, p.y - ring, p.x + ring, p.y + ring], outline=colour, width=width)
    draw.ellipse([p.x - dot, p.y - dot, p.x + dot, p.y + dot], fill=colour)


def _label(
    draw: ImageDraw.ImageDraw, text: str, row: int, colour: tuple[int, int, int], font: FontType
) -> None:
    """A colour swatch and the action's name on a white strip, at the screen's top left."""
    top = 4 + row * LINE_HEIGHT
    width = font.getlength(text) + 28
    draw.rectangle([2, top, 2 + width, top + LINE_HEIGHT - 2], fill="white")
    draw.rectangle([6, top + 5, 18, top + 17], fill=colour)
    draw.text((24, top + 1), text, fill=colour, font=font)


def draw_marks(screen: Image.Image, marks: Marks, scale: float, font: FontType | None = None) -> None:
    """Draw truth and prediction onto an already scaled screen (``scale`` = output / original);
    ``font`` writes the labels of home and key (None: Pillow's default)."""
    draw = ImageDraw.Draw(screen)

    def box(b: Box) -> list[float]:
        return [b.x1 * scale, b.y1 * scale, b.x2 * scale, b.y2 * scale]

    def pair(p: tuple[Point, Point]) -> tuple[Point, Point]:
        return Point(p[0].x * scale, p[0].y * scale), Point(p[1].x * scale, p[1].y * scale)

    if marks.truth_box is not None:
        draw.rectangle(box(marks.truth_box), outline=TRUTH_COLOUR, width=4)
    if marks.truth_swipe is not None:
        _arrow(draw, *pair(marks.truth_swipe), TRUTH_COLOUR, 4)
    if marks.pred_box is not None:
        draw.rectangle(box(marks.pred_box), outline=PRED_COLOUR, width=3)
        c = marks.pred_box.center
        draw.ellipse([c.x * scale - 7, c.y * scale - 7, c.x * scale + 7, c.y * scale + 7], fill=PRED_COLOUR)
    if marks.pred_swipe is not None:
        _arrow(draw, *pair(marks.pred_swipe), PRED_COLOUR, 3)
    if marks.truth_point is not None:
        _point_marker(
            draw, Point(marks.truth_point.x * scale, marks.truth_point.y * scale), TRUTH_COLOUR, True
        )
    if marks.pred_point is not None:
        _point_marker(draw, Point(marks.pred_point.x * scale, marks.pred_point.y * scale), PRED_COLOUR, False)
    labels = [(t, c) for t, c in ((marks.truth_label, TRUTH_COLOUR), (marks.pred_label, PRED_COLOUR)) if t]
    for row, (text, colour) in enumerate(labels):
        _label(draw, text, row, colour, font or ImageFont.load_default(FONT_SIZE))


@dataclass(frozen=True, slots=True)
class Caption:
    """The text under the screens."""

    header: str  # sample id, task, step and the verdict
    truth: str
    prediction: str
    footer: str  # frames, scaling


def render_picture(
    current: Image.Image,
    previous: Image.Image | None,
    marks: Marks,
    caption: Caption,
    *,
    font: FontType,
    height: int = DEFAULT_HEIGHT,
) -> Image.Image:
    """The whole picture for one sample, of size :func:`picture_size`."""
    size = picture_size(current.size, previous.size if previous else None, height)
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    x = MARGIN
    tallest = 0
    for label, screen in (("previous screen", previous), ("current screen", current)):
        if screen is None:
            continue
        scale = scale_for(screen.size, height)
        shown = screen.convert("RGB").resize(shown_size(screen.size, height))
        if screen is current:
            draw_marks(shown, marks, scale, font)
        draw.text((x, MARGIN), label, fill=TEXT_COLOUR, font=font)
        canvas.paste(shown, (x, MARGIN + LABEL_HEIGHT))
        x += shown.width + GAP
        tallest = max(tallest, shown.height)
    _write_caption(draw, caption, font, MARGIN + LABEL_HEIGHT + tallest + MARGIN, size[0] - 2 * MARGIN)
    return canvas


def _write_caption(draw: ImageDraw.ImageDraw, caption: Caption, font: FontType, top: int, width: int) -> None:
    rows: list[tuple[str, tuple[int, int, int]]] = [(caption.header, TEXT_COLOUR)]
    for text, colour in (
        (f"truth: {caption.truth}", TRUTH_COLOUR),
        (f"model: {caption.prediction}", PRED_COLOUR),
    ):
        lines = wrap_text(text, font, width, ACTION_LINES)
        rows += [(line, colour) for line in lines] + [("", colour)] * (ACTION_LINES - len(lines))
    rows.append((caption.footer, TEXT_COLOUR))
    for i, (line, colour) in enumerate(rows):
        draw.text((MARGIN, top + i * LINE_HEIGHT), wrap_text(line, font, width, 1)[0], fill=colour, font=font)


def load_caption_font(size: int = FONT_SIZE) -> FontType:
    """The CJK-capable font of the data generator (it degrades to Pillow's default with a warning)."""
    from gui_agent_rl.datagen.fonts import load_font

    return load_font(size)


def open_screen(folder: Path, relative: str) -> Image.Image:
    """Open one screenshot; ``FileNotFoundError`` names the path tried.

    ``relative`` must stay inside ``folder`` (:class:`~gui_agent_rl.schemas.ImagePathError` otherwise),
    and an image over Pillow's pixel limit (``Image.MAX_IMAGE_PIXELS``, where Pillow would only warn and
    then decode it all, or refuse with its own error) raises :class:`ScreenTooLarge`.
    """
    path = confined_image_path(folder, relative)
    if not path.is_file():
        raise FileNotFoundError(f"screenshot not found: {path}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                image.load()
                return image
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ScreenTooLarge(f"screenshot {path}: {exc}") from None
