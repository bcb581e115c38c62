"""Boxes, points and the three coordinate frames a phone agent's numbers can live in.

Ground truth is in *original* screenshot pixels. Qwen2.5-VL never sees the original: its processor
resizes every image with :func:`smart_resize` (sides rounded to multiples of 28, total pixels clamped
to ``min_pixels..max_pixels``) and the model answers in the pixels of that *resized* image. Some
recipes instead ask for coordinates normalised to 0-1000 (*norm1000*). :class:`ImageFrame` converts
points and boxes between the three, per image.

Plain arithmetic on purpose: these run inside the reward loop (tens of thousands of calls per step);
shapely serves as the oracle in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

#: Qwen2.5-VL's patch (14 px) times its 2x2 spatial merge: one visual token covers 28x28 pixels.
PATCH_FACTOR = 28
#: Qwen2.5-VL-*-Instruct's ``preprocessor_config.json`` defaults.
DEFAULT_MIN_PIXELS = 56 * 56
DEFAULT_MAX_PIXELS = 28 * 28 * 16384
#: ``smart_resize`` refuses images more elongated than this.
MAX_ASPECT_RATIO = 200
#: Side of the normalised frame: x_norm = x / width * NORM_SCALE.
NORM_SCALE = 1000


class CoordinateFrame(str, Enum):
    """Where a pair of numbers is measured."""

    ORIGINAL = "original"  # pixels of the screenshot as stored on disk
    RESIZED = "resized"  # pixels of the image the model saw, after smart_resize
    NORM1000 = "norm1000"  # 0..1000 on both axes, independent of the image size


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float

    def distance(self, other: Point) -> float:
        return math.hypot(self.x - other.x, self.y - other.y)


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box ``(x1, y1)``-``(x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center(self) -> Point:
        return Point((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def contains(self, point: Point) -> bool:
        """True when ``point`` lies inside the box or on its edge."""
        return self.x1 <= point.x <= self.x2 and self.y1 <= point.y <= self.y2

    def scaled_about_center(self, factor: float) -> Box:
        """The box with width and height multiplied by ``factor``, same centre.

        ``factor=1.2`` makes a box 1.2x as wide and 1.2x as tall (AITW's "1.4x" augment grows each
        side by 1.4x the size on both ends, i.e. ``factor=2.4`` here).
        """
        c = self.center
        hw, hh = self.width * factor / 2, self.height * factor / 2
        return Box(c.x - hw, c.y - hh, c.x + hw, c.y + hh)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


def swipe_direction(start: Point, end: Point) -> str | None:
    """Direction of the finger's motion along its main axis; None for a zero-length swipe.

    Ties between the axes go to the vertical one (the common phone scroll).

    >>> swipe_direction(Point(500, 1800), Point(500, 600))
    'up'
    """
    dx, dy = end.x - start.x, end.y - start.y
    if dx == 0 and dy == 0:
        return None
    if abs(dy) >= abs(dx):
        return "down" if dy > 0 else "up"
    return "right" if dx > 0 else "left"


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, in [0, 1]; 0 when both are empty.

    >>> iou(Box(0, 0, 10, 10), Box(5, 0, 15, 10))
    0.3333333333333333
    """
    iw = min(a.x2, b.x2) - max(a.x1, b.x1)
    ih = min(a.y2, b.y2) - max(a.y1, b.y1)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def smart_resize(
    height: int,
    width: int,
    factor: int = PATCH_FACTOR,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """The ``(height, width)`` Qwen2.5-VL's image processor resizes an image to.

    A copy of ``transformers.models.qwen2_vl.image_processing_qwen2_vl.smart_resize`` so that data
    work needs no transformers; ``tests/test_geometry.py`` checks they agree.

    >>> smart_resize(2400, 1080)
    (2408, 1092)
    >>> smart_resize(2400, 1080, max_pixels=1003520)
    (1484, 672)
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got height={height}, width={width}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def visual_tokens(
    width: int, height: int, min_pixels: int = DEFAULT_MIN_PIXELS, max_pixels: int = DEFAULT_MAX_PIXELS
) -> int:
    """Number of ``<|image_pad|>`` tokens Qwen2.5-VL spends on one image of this size."""
    h, w = smart_resize(height, width, min_pixels=min_pixels, max_pixels=max_pixels)
    return (h // PATCH_FACTOR) * (w // PATCH_FACTOR)


@dataclass(frozen=True, slots=True)
class ImageFrame:
    """One screenshot's size plus the processor's pixel limits: enough to convert between frames.

    >>> f = ImageFrame(1080, 2400)
    >>> f.to_original(Point(546, 1204), CoordinateFrame.RESIZED)
    Point(x=540.0, y=1200.0)
    """

    width: int
    height: int
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS

    def resized_size(self) -> tuple[int, int]:
        """``(width, height)`` of the image the model sees."""
        h, w = smart_resize(self.height, self.width, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return w, h

    def scale(self, frame: CoordinateFrame | str) -> tuple[float, float]:
        """Factors ``(sx, sy)`` with ``x_frame = x_original * sx``."""
        frame = CoordinateFrame(frame)
        if frame is CoordinateFrame.ORIGINAL:
            return 1.0, 1.0
        if frame is CoordinateFrame.NORM1000:
            return NORM_SCALE / self.width, NORM_SCALE / self.height
        w, h = self.resized_size()
        return w / self.width, h / self.height

    def convert_point(self, p: Point, src: CoordinateFrame | str, dst: CoordinateFrame | str) -> Point:
        (sx0, sy0), (sx1, sy1) = self.scale(src), self.scale(dst)
        return Point(p.x / sx0 * sx1, p.y / sy0 * sy1)

    def convert_box(self, b: Box, src: CoordinateFrame | str, dst: CoordinateFrame | str) -> Box:
        (sx0, sy0), (sx1, sy1) = self.scale(src), self.scale(dst)
        fx, fy = sx1 / sx0, sy1 / sy0
        return Box(b.x1 * fx, b.y1 * fy, b.x2 * fx, b.y2 * fy)

    def to_original(self, p: Point, src: CoordinateFrame | str) -> Point:
        return self.convert_point(p, src, CoordinateFrame.ORIGINAL)

    @property
    def diagonal(self) -> float:
        return math.hypot(self.width, self.height)
