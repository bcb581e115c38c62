"""``tf.train.Example`` read and written without TensorFlow.

``Example{features: Features{feature: map<string, Feature>}}``, where a ``Feature`` holds one of
``bytes_list`` (1), ``float_list`` (2) or ``int64_list`` (3), each a message whose field 1 is the
repeated value (numbers packed or not: both are read). A parsed example is a plain
``dict[str, list]``: bytes, floats or ints.

>>> parse_example(encode_example({"goal": [b"open clock"], "n": [3]}))
{'goal': [b'open clock'], 'n': [3]}
"""

from __future__ import annotations

import struct

from gui_agent_rl.importers.wire import (
    FIXED32,
    LEN,
    VARINT,
    WireError,
    encode_field,
    iter_fields,
    packed_floats,
    packed_varints,
    signed,
)

Feature = list[bytes] | list[float] | list[int]


def _feature(data: bytes) -> Feature:
    for kind, _, body in iter_fields(data):
        if not isinstance(body, bytes):
            raise WireError("a Feature's list is not a message")
        if kind == 1:
            return [v for n, _, v in iter_fields(body) if n == 1 and isinstance(v, bytes)]
        if kind == 2:
            return _floats(body)
        if kind == 3:
            return _ints(body)
    return []


def _floats(body: bytes) -> list[float]:
    out: list[float] = []
    for n, wire, v in iter_fields(body):
        if n == 1 and wire == LEN:
            out += packed_floats(v)  # type: ignore[arg-type]
        elif n == 1 and wire == FIXED32:
            out.append(struct.unpack("<f", int(v).to_bytes(4, "little"))[0])  # type: ignore[arg-type]
    return out


def _ints(body: bytes) -> list[int]:
    out: list[int] = []
    for n, wire, v in iter_fields(body):
        if n == 1 and wire == LEN:
            out += [signed(x) for x in packed_varints(v)]  # type: ignore[arg-type]
        elif n == 1 and wire == VARINT:
            out.append(signed(v))  # type: ignore[arg-type]
    return out


def parse_example(data: bytes) -> dict[str, Feature]:
    """The features of a serialised ``tf.train.Example``; :class:`WireError` when malformed."""
    features: dict[str, Feature] = {}
    for n, _, body in iter_fields(data):
        if n != 1 or not isinstance(body, bytes):
            continue
        for m, _, entry in iter_fields(body):
            if m != 1 or not isinstance(entry, bytes):
                continue
            key, value = "", b""
            for k, _, part in iter_fields(entry):
                if k == 1 and isinstance(part, bytes):
                    key = part.decode("utf-8", "replace")
                elif k == 2 and isinstance(part, bytes):
                    value = part
            features[key] = _feature(value)
    return features


def _encode_feature(values: Feature | bytes | str | int | float) -> bytes:
    if not isinstance(values, list):
        values = [values]  # type: ignore[list-item]
    if all(isinstance(v, (bytes, str)) for v in values) and values:
        body = b"".join(encode_field(1, v) for v in values)  # type: ignore[arg-type]
        return encode_field(1, body)
    if all(isinstance(v, int) for v in values):
        packed = b"".join(encode_field(1, v)[1:] for v in values)  # the varints without their keys
        return encode_field(3, encode_field(1, packed) if values else b"")
    packed = struct.pack(f"<{len(values)}f", *values)
    return encode_field(2, encode_field(1, packed))


def encode_example(features: dict[str, Feature | bytes | str | int | float]) -> bytes:
    """A serialised ``tf.train.Example`` (for tests, fixtures and the benchmark).

    A list of ``bytes``/``str`` becomes a ``bytes_list``, of ints an ``int64_list`` (packed), of
    floats a ``float_list`` (packed); a scalar is a one-element list.
    """
    entries = b"".join(
        encode_field(1, encode_field(1, key) + encode_field(2, _encode_feature(value)))
        for key, value in features.items()
    )
    return encode_field(1, entries)
