"""Screenshot bytes and files: their kind and size without decoding pixels, raw pixels to PNG."""

from __future__ import annotations

import io
import struct
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def encoded_kind(data: bytes) -> str | None:
    """``".png"`` or ``".jpg"`` for encoded image bytes, None for anything else (raw pixels)."""
    if data.startswith(PNG_MAGIC):
        return ".png"
    if data.startswith(JPEG_MAGIC):
        return ".jpg"
    return None


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, None when ``data`` is not a PNG."""
    if data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def encoded_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes (PNG from its header; others through Pillow's header read)."""
    size = png_size(data)
    if size is not None:
        return size
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def file_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file, reading its header only; ``OSError`` when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except UnidentifiedImageError as exc:
        raise OSError(f"{path}: not an image") from exc


def raw_to_png(data: bytes, width: int, height: int, channels: int) -> bytes:
    """AITW's ``image/encoded``: raw uint8 pixels, row-major (height, width, channels) -> PNG bytes."""
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if channels not in modes or len(data) != width * height * channels:
        raise ValueError(
            f"image/encoded has {len(data)} bytes, not {width}x{height}x{channels} raw pixels nor PNG/JPEG"
        )
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes(modes[channels], (width, height), data).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
