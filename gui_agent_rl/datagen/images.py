"""Is this screenshot a readable, complete image, and how big is it?

Two levels, both catching the defects an annotation export really produces (a file cut short, a
file of garbage with an image name, an empty file):

* ``quick`` (default), for PNG and JPEG: the header is parsed here (signature, IHDR or the JPEG
  segments up to the start-of-frame marker, which give width and height) and the file must end as
  its format ends: a PNG with its ``IEND`` chunk, a JPEG with its ``EOI`` marker (a file cut short
  loses them; inside JPEG entropy-coded data ``FF D9`` cannot occur). One stat, one open, two
  small reads (one for a file under 4 KiB): ~8 us per file, most of it the stat and the open (the
  path looked up twice), where Pillow's ``open`` alone takes ~45 us. Other formats are decoded. A
  file with data appended after its end marker (some cameras add a trailer) fails this check: use
  ``full`` for such corpora.
* ``full``: Pillow decodes every pixel (~5 ms for a 1080x2400 JPEG, ~24 ms for a PNG): it also
  catches damage in the middle of the compressed data, at a few hundred times the cost.

Both levels first ``stat`` the path and refuse anything but a regular file *without opening it* (a
FIFO would block the open forever, a device may act on it), and both check the size read from the
header before any pixel is decoded: the image every later reader will open must have pixels, an
aspect ratio of at most ``MAX_ASPECT_RATIO`` (200: Qwen2.5-VL's processor refuses more elongated
images) and at most Pillow's ``Image.MAX_IMAGE_PIXELS`` pixels (~89.5 M by default; above it
Pillow warns of a decompression bomb, above twice it refuses to open the file at all).

>>> check_image("examples/corpus/1001/1001_0.jpg")  # doctest: +SKIP
(1080, 2400)
"""

from __future__ import annotations

import os
import stat
import struct
import warnings

from PIL import Image, UnidentifiedImageError

from gui_agent_rl.datagen.walk import describe_mode, os_reason
from gui_agent_rl.schemas.geometry import MAX_ASPECT_RATIO

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


def _tail(fd: int, head: bytes, length: int) -> bytes:
    """The last bytes of the file (``length`` from its stat): already in ``head`` when that short."""
    if len(head) < _HEAD:  # pread only returns less than asked at the end of the file
        return head[-_TAIL:]
    return os.pread(fd, _TAIL, max(0, length - _TAIL))


def _quick(path: str, length: int, ending: bool = True) -> tuple[int, int] | None:
    """Size of a complete PNG or JPEG from its header and (``ending``) its last bytes; ``None`` for
    other formats."""
    # Raw descriptors and pread: a buffered file object costs more than the two small reads.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: should a FIFO replace the file
    try:
        head = os.pread(fd, _HEAD, 0)
        if not head:
            raise ImageError("empty file")
        if head.startswith(_PNG_SIGNATURE):
            if len(head) < 24 or head[12:16] != b"IHDR":
                raise ImageError("corrupt PNG (no IHDR header)")
            if ending and not _tail(fd, head, length).endswith(_PNG_IEND):
                raise ImageError("truncated PNG (no IEND chunk at the end)")
            return struct.unpack_from(">II", head, 16)
        if head.startswith(b"\xff\xd8\xff"):
            width, height = _jpeg_size(fd, head)
            if ending and not _tail(fd, head, length).rstrip(b"\x00\r\n\t ").endswith(_JPEG_EOI):
                raise ImageError("truncated JPEG (no end-of-image marker)")
            return width, height
    finally:
        os.close(fd)
    return None


def _decode(path: str) -> tuple[int, int]:
    """Decode every pixel, once the header's size has passed :func:`check_size`."""
    with warnings.catch_warnings():  # check_size says it better than Pillow's bomb warning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(path)  # lazy: reads the header only
    with img:
        check_size(*img.size)
        img.load()
        return img.size


def _regular_file(path: str) -> int:
    """The length of a regular file (links followed); anything else is refused before it is opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except OSError as exc:  # a symbolic link loop, no permission to search a folder
        raise ImageError(f"cannot read ({os_reason(exc)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"is {describe_mode(st.st_mode)}, not an image")
    return st.st_size


def check_size(width: int, height: int) -> None:
    """:class:`ImageError` unless every later reader accepts an image of this size (see above)."""
    if width <= 0 or height <= 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        ratio = max(width, height) / min(width, height)
        raise ImageError(
            f"{width}x{height}: aspect ratio {ratio:.1f}:1 is over {MAX_ASPECT_RATIO}:1, "
            "which Qwen2.5-VL's image processor refuses"
        )
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        raise ImageError(
            f"{width}x{height} = {width * height:,} pixels is over the {limit:,}-pixel limit "
            "(Pillow's MAX_IMAGE_PIXELS: a decompression bomb to every later reader)"
        )


def check_image(path: str | os.PathLike[str], mode: str = "quick") -> tuple[int, int]:
    """``(width, height)`` of a complete image; :class:`ImageError` naming the defect otherwise."""
    path = os.fspath(path)
    length = _regular_file(path)
    try:
        size = _quick(path, length, ending=mode == "quick")
        if mode != "quick" or size is None:
            if size is not None:  # the header's size first: Pillow refuses a bomb with less to say
                check_size(*size)
            size = _decode(path)
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised or corrupt header)") from None
    except Image.DecompressionBombError as exc:  # over twice the limit: Pillow will not even open it
        raise ImageError(f"too many pixels ({exc})") from None
    except ImageError:
        raise
    except OSError as exc:
        if exc.errno is not None:  # the system's error (permissions, I/O), not Pillow's
            raise ImageError(f"cannot read ({os_reason(exc)})") from None
        raise ImageError(f"corrupt or truncated image ({exc})") from None
    except (SyntaxError, ValueError, EOFError, struct.error) as exc:
        # Pillow reports truncation and corrupt data as OSError/SyntaxError with a short text.
        raise ImageError(f"corrupt or truncated image ({exc})") from None
    check_size(*size)
    return size
