"""Is this screenshot a readable, complete image, and how big is it?

Two levels, both catching the defects an annotation export really produces (a file cut short, a
file of garbage with an image name, an empty file):

* ``quick`` (default), for PNG and JPEG: the header is parsed here (signature, IHDR or the JPEG
  segments up to the start-of-frame marker, which give width and height) and the file must end as
  its format ends: a PNG with its ``IEND`` chunk, a JPEG with its ``EOI`` marker (a file cut short
  loses them; inside JPEG entropy-coded data ``FF D9`` cannot occur). One open, two small reads
  (one for a file under 4 KiB): ~6 us per file, most of it the open, where Pillow's ``open`` alone
  takes ~45 us. Other formats are decoded. A file with data appended after its end marker (some
  cameras add a trailer) fails this check: use ``full`` for such corpora.
* ``full``: Pillow decodes every pixel (~5 ms for a 1080x2400 JPEG, ~24 ms for a PNG): it also
  catches damage in the middle of the compressed data, at a few hundred times the cost.

>>> check_image("examples/corpus/1001/1001_0.jpg")  # doctest: +SKIP
(1080, 2400)
"""

from __future__ import annotations

import os
import struct

from PIL import Image, UnidentifiedImageError

IMAGE_CHECKS = ("quick", "full")
_JPEG_EOI = b"\xff\xd9"
_TAIL = 64  # bytes searched for the end marker: some encoders pad a few bytes after it


class ImageError(ValueError):
    """The file is missing, unreadable, or not a complete image; the message says which."""


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT/JPG/DAC)
_HEAD = 4096
_TWO_SHORTS = struct.Struct(">HH").unpack_from


def _jpeg_size(fd: int, head: bytes) -> tuple[int, int]:
    """Walk the JPEG segments up to the start-of-frame marker, which holds height and width."""
    data, pos, end = head, 2, len(head)
    while True:
        if pos + 9 > end:  # a large EXIF block: read on
            more = os.pread(fd, max(_HEAD, pos + 9 - end), end)
            if not more:
                raise ImageError("truncated JPEG (no frame header)")
            data += more
            end = len(data)
            continue
        if data[pos] != 0xFF:
            raise ImageError(f"corrupt JPEG (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker in _JPEG_SOF:
            height, width = _TWO_SHORTS(data, pos + 5)
            return width, height
        # a fill byte (FF FF) moves on by one; a segment by its marker and its length
        pos += 1 if marker == 0xFF else 2 + (data[pos + 2] << 8 | data[pos + 3])


def _tail(fd: int, head: bytes) -> bytes:
    """The last bytes of the file: already in ``head`` when the file is that short."""
    if len(head) < _HEAD:  # pread only returns less than asked at the end of the file
        return head[-_TAIL:]
    # A seek from the end needs no fstat (a syscall and a stat_result object per image).
    os.lseek(fd, -_TAIL, os.SEEK_END)
    return os.read(fd, _TAIL)


def _quick(path: str) -> tuple[int, int] | None:
    """Size of a complete PNG or JPEG from its header and its last bytes; ``None`` for other formats."""
    # Raw descriptors and pread: a buffered file object costs more than the two small reads.
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, _HEAD, 0)
        if not head:
            raise ImageError("empty file")
        if head.startswith(_PNG_SIGNATURE):
            if len(head) < 24 or head[12:16] != b"IHDR":
                raise ImageError("corrupt PNG (no IHDR header)")
            if not _tail(fd, head).endswith(_PNG_IEND):
                raise ImageError("truncated PNG (no IEND chunk at the end)")
            return struct.unpack_from(">II", head, 16)
        if head.startswith(b"\xff\xd8\xff"):
            width, height = _jpeg_size(fd, head)
            if not _tail(fd, head).rstrip(b"\x00\r\n\t ").endswith(_JPEG_EOI):
                raise ImageError("truncated JPEG (no end-of-image marker)")
            return width, height
    finally:
        os.close(fd)
    return None


def _decode(path: str) -> tuple[int, int]:
    with Image.open(path) as img:
        img.load()
        return img.size


def check_image(path: str | os.PathLike[str], mode: str = "quick") -> tuple[int, int]:
    """``(width, height)`` of a complete image; :class:`ImageError` naming the defect otherwise."""
    path = os.fspath(path)
    try:
        size = _quick(path) if mode == "quick" else None
        if size is None:
            size = _decode(path)
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised or corrupt header)") from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        # Pillow reports truncation and corrupt data as OSError/SyntaxError with a short text.
        raise ImageError(f"corrupt or truncated image ({exc})") from None
    if size[0] <= 0 or size[1] <= 0:
        raise ImageError(f"image has no pixels ({size[0]}x{size[1]})")
    return size
