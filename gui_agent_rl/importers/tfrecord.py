"""TFRecord files read one record at a time (never the whole file), GZIP or plain, without TensorFlow.

A record is ``length (uint64 LE) | masked CRC-32C of length (uint32) | data | masked CRC-32C of data``
(tensorflow/core/lib/io/record_writer.cc). The length's CRC is always checked, so a damaged frame is
found before a wrong length is trusted. The data's CRC is checked when a C CRC-32C module
(``google_crc32c`` or ``crc32c``) is installed; pure Python would cost about a second per megabyte of
screenshots. Without one, a GZIP file is still protected: Python's ``gzip`` checks the stream's own
CRC-32 at its end, and a damaged payload also fails to parse as a protobuf.

>>> import io
>>> stream = io.BytesIO(encode_record(b"abc") + encode_record(b"de"))
>>> [r for _, r in read_records(stream)]
[b'abc', b'de']
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8
MAX_RECORD = 1 << 31  # a record above 2 GiB is a damaged length, not data
GZIP_MAGIC = b"\x1f\x8b"


class RecordError(ValueError):
    """The file's framing is broken at ``offset`` (bytes into the uncompressed stream)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"record at byte {offset}: {reason}")
        self.offset = offset


def _table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c_python(data: bytes) -> int:
    """CRC-32C in pure Python (slow: for lengths, tests and records without a C module)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c() -> Callable[[bytes], int] | None:
    try:
        import google_crc32c  # type: ignore[import-not-found]

        return google_crc32c.value
    except ImportError:
        pass
    try:
        import crc32c  # type: ignore[import-not-found]

        return crc32c.crc32c
    except ImportError:
        return None


FAST_CRC32C = _fast_crc32c()


def masked_crc(data: bytes, crc: Callable[[bytes], int] = crc32c_python) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, add a constant."""
    value = crc(data)
    return ((value >> 15 | value << 17) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    """One framed record (tests, fixtures, the benchmark)."""
    length = struct.pack("<Q", len(data))
    crc = FAST_CRC32C or crc32c_python
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data, crc))


def _read_exactly(stream: BinaryIO, n: int, offset: int, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise RecordError(offset, f"file ends inside the {what} ({len(data)} of {n} bytes)")
    return data


def read_records(stream: BinaryIO, verify_data: bool | None = None) -> Iterator[tuple[int, bytes]]:
    """``(offset, data)`` of each record of an open uncompressed stream; :class:`RecordError` on a
    broken frame (reading cannot go on past it: the next record's start is unknown).

    ``verify_data``: check each record's data CRC (default: when a C CRC-32C module is installed).
    """
    check = FAST_CRC32C if verify_data is None else (FAST_CRC32C or crc32c_python) if verify_data else None
    offset = 0
    while True:
        header = stream.read(12)
        if not header:
            return
        if len(header) < 12:
            raise RecordError(offset, f"file ends inside a record header ({len(header)} of 12 bytes)")
        length_bytes, (length_crc,) = header[:8], struct.unpack("<I", header[8:])
        if masked_crc(length_bytes) != length_crc:
            raise RecordError(offset, "length CRC mismatch: not a TFRecord file, or damaged")
        (length,) = struct.unpack("<Q", length_bytes)
        if length > MAX_RECORD:
            raise RecordError(offset, f"record length {length} is implausible")
        data = _read_exactly(stream, length, offset, "record data")
        (data_crc,) = struct.unpack("<I", _read_exactly(stream, 4, offset, "data CRC"))
        if check is not None and masked_crc(data, check) != data_crc:
            raise RecordError(offset, "data CRC mismatch: the record is damaged")
        yield offset, data
        offset += 16 + length


def iter_file_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """Records of one TFRecord file, streamed; GZIP is recognised by its magic bytes, not by the name.

    ``OSError``/``EOFError`` from a damaged GZIP stream and :class:`RecordError` propagate (the importer
    reports them and moves on to the next file).
    """
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            yield from read_records(raw)
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield from read_records(stream)  # type: ignore[arg-type]


def read_error_draft(path: str | os.PathLike[str], exc: BaseException) -> Any:
    """A report draft for a file whose reading stopped (the rest of that file is skipped)."""
    from gui_agent_rl.importers.drafts import EpisodeDraft

    offset = f"@{exc.offset}" if isinstance(exc, RecordError) else ""
    return EpisodeDraft(
        f"{path}{offset}", "", None, problem=f"cannot read on: {exc}; the rest of this file was skipped"
    )
