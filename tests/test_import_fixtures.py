"""Fixture builders for the importer tests (imported by tests/test_import_*.py), and tests of the
builders' own ground: TFRecord framing, masked CRC-32C, Example and accessibility-forest encoding.

Records are written from the documented formats: google-research ``android_control/README.md`` and
``android_in_the_wild/README.md``, android_env ``proto/a11y/*.proto``, TensorFlow's record framing.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
from pathlib import Path

import pytest

from gui_agent_rl.importers.a11y import encode_forest, leaf_boxes, smallest_containing
from gui_agent_rl.importers.example import encode_example, parse_example
from gui_agent_rl.importers.tfrecord import (
    RecordError,
    crc32c_python,
    encode_record,
    iter_file_records,
    masked_crc,
    read_records,
)
from gui_agent_rl.importers.wire import encode_field

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def png(width: int, height: int, colour: int = 230) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def write_tfrecord(path: Path, records: list[bytes], compress: bool = True) -> Path:
    data = b"".join(encode_record(r) for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def leaf(box: tuple[int, int, int, int], node_id: int = 0) -> dict:
    return {"id": node_id, "box": box, "visible": True}


def forest(*boxes: tuple[int, int, int, int]) -> bytes:
    """One window: a root container (the whole screen) over the given leaves."""
    leaves = [leaf(b, i + 1) for i, b in enumerate(boxes)]
    root = {"id": 0, "box": (0, 0, 4000, 4000), "children": [n["id"] for n in leaves], "visible": True}
    return encode_forest([[root, *leaves]])


def ac_episode(
    episode_id: int, goal: str, steps: list[tuple[dict, str, bytes]], sizes: list[tuple[int, int]]
) -> bytes:
    """An AndroidControl Example: ``steps`` = (action, step instruction, forest) per action;
    ``sizes`` one (width, height) per screenshot (one more than the actions)."""
    assert len(sizes) == len(steps) + 1
    return encode_example(
        {
            "episode_id": [episode_id],
            "goal": [goal.encode()],
            "screenshots": [png(w, h) for w, h in sizes],
            "screenshot_widths": [w for w, _ in sizes],
            "screenshot_heights": [h for _, h in sizes],
            "accessibility_trees": [f for _, _, f in steps] + [forest()],
            "actions": [json.dumps(a).encode() for a, _, _ in steps],
            "step_instructions": [s.encode() for _, s, _ in steps],
        }
    )


def aitw_step(
    episode_id: str,
    step_id: int,
    length: int,
    action_type: int,
    *,
    touch=(-1.0, -1.0),
    lift=(-1.0, -1.0),
    text: str = "",
    size: tuple[int, int] = (100, 200),
    elements: list[float] | None = None,
    raw: bool = True,
    goal: str = "turn on wifi",
) -> bytes:
    """An AITW step Example; its screenshot raw uint8 RGB pixels (``tf.io.decode_raw``) or a PNG."""
    w, h = size
    image = bytes([200]) * (w * h * 3) if raw else png(w, h)
    return encode_example(
        {
            "episode_id": [episode_id.encode()],
            "step_id": [step_id],
            "episode_length": [length],
            "goal_info": [goal.encode()],
            "image/encoded": [image],
            "image/width": [w],
            "image/height": [h],
            "image/channels": [3],
            "image/ui_annotations_positions": elements or [],
            "results/action_type": [action_type],
            "results/yx_touch": list(touch),
            "results/yx_lift": list(lift),
            "results/type_action": [text.encode()],
        }
    )


def step_files(root: Path) -> dict[str, dict]:
    """``{"<task>/step_<n>": record}`` of an imported corpus."""
    return {
        f"{p.parent.name}/{p.stem}": json.loads(p.read_text()) for p in sorted(root.glob("*/step_*.json"))
    }


def report_lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "import.report.jsonl").read_text().splitlines()]


# --- the builders' own ground ---------------------------------------------------------------------
def test_crc32c_matches_the_standard_check_value():
    assert crc32c_python(b"123456789") == 0xE3069283  # RFC 3720 / iSCSI check value


def test_records_round_trip_gzip_and_plain(tmp_path):
    for compress in (True, False):
        path = write_tfrecord(tmp_path / f"r{compress}", [b"one", b"", b"three" * 1000], compress)
        assert [r for _, r in iter_file_records(path)] == [b"one", b"", b"three" * 1000]


def test_a_damaged_length_crc_is_a_record_error():
    data = bytearray(encode_record(b"abc"))
    data[8] ^= 0xFF
    with pytest.raises(RecordError, match="length CRC"):
        list(read_records(io.BytesIO(bytes(data))))


def test_a_truncated_record_is_a_record_error():
    data = encode_record(b"abcdef")[:-6]
    with pytest.raises(RecordError, match="file ends inside"):
        list(read_records(io.BytesIO(data)))


def test_a_damaged_payload_fails_when_data_crcs_are_checked():
    data = bytearray(encode_record(b"abcdef"))
    data[13] ^= 0x01
    with pytest.raises(RecordError, match="data CRC"):
        list(read_records(io.BytesIO(bytes(data)), verify_data=True))


def test_masked_crc_of_a_length_follows_tensorflow():
    length = struct.pack("<Q", 3)
    crc = crc32c_python(length)
    assert masked_crc(length) == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_example_reads_packed_unpacked_and_negative_numbers():
    unpacked = encode_field(3, encode_field(1, 7) + encode_field(1, -2))  # int64_list, values not packed
    entry = encode_field(1, encode_field(1, "n") + encode_field(2, unpacked))
    assert parse_example(encode_field(1, entry)) == {"n": [7, -2]}
    assert parse_example(encode_example({"f": [0.25, 1.5], "b": [b"x"], "i": [-1, 2**40]})) == {
        "f": [0.25, 1.5],
        "b": [b"x"],
        "i": [-1, 2**40],
    }


def test_forest_leaves_clip_to_the_screen_and_skip_invisible_nodes():
    hidden = {"id": 3, "box": (0, 0, 10, 10)}  # no visible flag while others carry it: invisible
    root = {"id": 0, "box": (0, 0, 100, 100), "children": [1, 2, 3], "visible": True}
    data = encode_forest([[root, leaf((10, 10, 50, 50), 1), leaf((-5, 90, 30, 120), 2), hidden]])
    assert leaf_boxes(data, 100, 100) == [(10, 10, 50, 50), (0, 90, 30, 100)]


def test_smallest_containing_box_wins():
    boxes = [(0, 0, 100, 100), (10, 10, 40, 40), (20, 20, 30, 30)]
    assert smallest_containing(boxes, 25, 25) == (20, 20, 30, 30)
    assert smallest_containing(boxes, 15, 15) == (10, 10, 40, 40)
    assert smallest_containing(boxes, 200, 5) is None


def test_importers_need_neither_tensorflow_nor_protobuf_nor_torch():
    import subprocess
    import sys

    code = (
        "import sys, importlib, pkgutil, gui_agent_rl.importers as m; "
        "[importlib.import_module(f'{m.__name__}.{s.name}') for s in pkgutil.iter_modules(m.__path__)]; "
        "print(sorted(x for x in ('torch', 'tensorflow', 'google.protobuf') if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
