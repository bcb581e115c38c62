"""The protobuf wire format, read and written by hand (no ``protobuf`` package, no generated code).

The importers need two messages only (``tf.train.Example`` and android_env's
``AndroidAccessibilityForest``), and of those a handful of fields: a 100-line reader is simpler to
ship and audit than descriptors built at run time for the ``protobuf`` package. Wire types
(https://protobuf.dev/programming-guides/encoding/): 0 varint, 1 fixed 64-bit, 2 length-delimited,
5 fixed 32-bit; groups (3, 4) are obsolete and refused.

>>> list(iter_fields(encode_field(1, 150)))
[(1, 0, 150)]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """``(value, next position)`` of the varint at ``pos`` (an unsigned 64-bit value)."""
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def signed(value: int) -> int:
    """A varint read as int32/int64 (negative numbers travel as 10-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of each field: an int for numbers, bytes for LEN fields."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == LEN:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise WireError(f"field {number} runs past the end of its message")
            value, pos = bytes(buf[pos : pos + size]), pos + size
        elif wire == FIXED64:
            if pos + 8 > end:
                raise WireError("truncated fixed64")
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise WireError("truncated fixed32")
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise WireError(f"unsupported wire type {wire} (field {number})")
        yield number, wire, value


def packed_varints(data: bytes) -> list[int]:
    """The values of a packed repeated varint field."""
    values, pos = [], 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        values.append(value)
    return values


def packed_floats(data: bytes) -> list[float]:
    """The values of a packed repeated ``float`` field."""
    if len(data) % 4:
        raise WireError("packed floats are not a multiple of 4 bytes")
    return list(struct.unpack(f"<{len(data) // 4}f", data))


# Writing: the tests, the benchmark and small fixtures build records with these.
def encode_varint(value: int) -> bytes:
    value &= _MASK64  # negative int32/int64 -> two's complement, 10 bytes
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def encode_field(number: int, value: int | bytes | str) -> bytes:
    """One field: an int as a varint, bytes or str as a length-delimited field."""
    if isinstance(value, int):
        return encode_varint(number << 3 | VARINT) + encode_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return encode_varint(number << 3 | LEN) + encode_varint(len(data)) + data
