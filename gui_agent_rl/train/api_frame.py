"""Screens for an OpenAI-compatible server, in the frame the checkpoint was trained in.

Qwen2.5-VL answers in the pixels of the image its processor resized (``smart_resize`` with
``min_pixels``/``max_pixels``), and the rewards and ``eval`` score in that frame. A client that sends
screenshots to a server (``predict --api-base``) must therefore resize them with the training limits:
given on the command line, else read from the checkpoint folder's saved processor, else the training
defaults. A saved processor holds them as ``size.shortest_edge``/``size.longest_edge`` (transformers 5,
``processor_config.json`` -> ``image_processor``) or as ``min_pixels``/``max_pixels``
(``preprocessor_config.json`` of the Qwen2.5-VL-*-Instruct releases; these win, as in transformers).
:func:`image_data_url` resizes with training's own helper (:func:`~gui_agent_rl.train.data.open_screen`),
so the server receives the pixels the model was trained on, 28-aligned and within the limits: its own
``smart_resize`` leaves such an image unchanged unless its ``max_pixels`` is smaller.

>>> PixelLimits()
PixelLimits(min_pixels=3136, max_pixels=12845056)
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

from gui_agent_rl.schemas.geometry import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, smart_resize
from gui_agent_rl.train.data import DataError, open_screen

logger = logging.getLogger(__name__)

#: Where a saved processor keeps its image settings, newest layout first.
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


class PixelLimits(NamedTuple):
    """``smart_resize``'s total-pixel range (defaults: training's, i.e. Qwen2.5-VL-Instruct's)."""

    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS


TRAINING_LIMITS = PixelLimits()


def _image_settings(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable processor config ({exc})") from None
    if not isinstance(config, dict):
        return {}
    nested = config.get("image_processor")
    return nested if isinstance(nested, dict) else config


def saved_pixel_limits(model_path: str | Path) -> tuple[int | None, int | None]:
    """``(min_pixels, max_pixels)`` of the processor saved in a checkpoint folder; None where absent."""
    folder = Path(model_path)
    for name in PROCESSOR_FILES:
        if (folder / name).is_file():
            settings = _image_settings(folder / name)
            size = settings.get("size") if isinstance(settings.get("size"), dict) else {}
            low = settings.get("min_pixels") or size.get("shortest_edge")
            high = settings.get("max_pixels") or size.get("longest_edge")
            return (int(low) if low else None), (int(high) if high else None)
    return None, None


def resolve_pixel_limits(
    model_path: str | Path, min_pixels: int | None = None, max_pixels: int | None = None
) -> PixelLimits:
    """Each limit from the arguments, else the checkpoint folder's processor, else the training default."""
    saved_min, saved_max = (None, None) if min_pixels and max_pixels else saved_pixel_limits(model_path)
    if not (min_pixels or saved_min) or not (max_pixels or saved_max):
        logger.warning(
            "%s: no saved processor with pixel limits; screenshots are resized with the training defaults "
            "(give predict the run's --min-pixels/--max-pixels if it used others)",
            model_path,
        )
    limits = PixelLimits(
        min_pixels or saved_min or DEFAULT_MIN_PIXELS, max_pixels or saved_max or DEFAULT_MAX_PIXELS
    )
    if limits.min_pixels > limits.max_pixels:
        raise DataError(f"min_pixels {limits.min_pixels} is larger than max_pixels {limits.max_pixels}")
    return limits


def image_data_url(path: str, limits: PixelLimits = TRAINING_LIMITS) -> str:
    """A screenshot as a base64 PNG ``data:`` URL, resized as in training (``smart_resize`` to ``limits``).

    An RGB PNG already of that size goes as its own bytes (nothing to decode or encode).
    """
    from PIL import Image

    raw = Path(path).read_bytes()
    try:
        with Image.open(io.BytesIO(raw)) as img:
            as_is = img.format == "PNG" and img.mode == "RGB"
            height, width = img.height, img.width
        target = smart_resize(height, width, min_pixels=limits.min_pixels, max_pixels=limits.max_pixels)
        if not as_is or target != (height, width):
            screen, _ = open_screen(path, limits.max_pixels, limits.min_pixels)
            buf = io.BytesIO()
            screen.save(buf, format="PNG")
            raw = buf.getvalue()
    except (OSError, ValueError) as exc:  # an unreadable image, or a shape smart_resize refuses
        raise DataError(f"{path}: {exc}") from None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")
