"""AndroidControl's accessibility trees: an ``AndroidAccessibilityForest`` -> element boxes.

Field numbers from google-deepmind/android_env ``android_env/proto/a11y/*.proto``:
forest ``windows`` 1; window ``bounds_in_screen`` 1, ``window_type`` 6, ``tree`` 11; tree ``nodes`` 1;
node ``unique_id`` 1, ``bounds_in_screen`` 2, ``class_name`` 3, ``text`` 7, ``is_visible_to_user`` 23,
``child_ids`` 25 (packed); rect ``left`` 1, ``top`` 2, ``right`` 3, ``bottom`` 4.

An *element* is a leaf node (no children) with a non-empty box: leaves are what a finger lands on,
and the smallest leaf containing a tap is the tapped element (:func:`smallest_containing`). Nodes not
visible to the user are left out; proto3 drops ``false`` on the wire, so a node without the flag is
invisible, unless no node of the forest carries it (a forest recorded without the flag keeps all its
leaves).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from gui_agent_rl.importers.wire import WireError, encode_field, iter_fields, packed_varints, signed


class Node(NamedTuple):
    """A node's box (left, top, right, bottom, in screen pixels) and what matters of it."""

    box: tuple[int, int, int, int]
    leaf: bool
    visible: bool | None  # None: the flag was absent


def _rect(data: bytes) -> tuple[int, int, int, int]:
    values = [0, 0, 0, 0]
    for n, _, v in iter_fields(data):
        if 1 <= n <= 4 and isinstance(v, int):
            values[n - 1] = signed(v)
    return values[0], values[1], values[2], values[3]


def _node(data: bytes) -> Node:
    box, children, visible = (0, 0, 0, 0), False, None
    for n, _, v in iter_fields(data):
        if n == 2 and isinstance(v, bytes):
            box = _rect(v)
        elif n == 25:
            children = children or (bool(packed_varints(v)) if isinstance(v, bytes) else True)
        elif n == 23 and isinstance(v, int):
            visible = bool(v)
    return Node(box, not children, visible)


def forest_nodes(data: bytes) -> list[Node]:
    """Every node of every window's tree; :class:`WireError` when the bytes are not a forest."""
    nodes: list[Node] = []
    for n, _, window in iter_fields(data):
        if n != 1 or not isinstance(window, bytes):
            continue
        for m, _, tree in iter_fields(window):
            if m != 11 or not isinstance(tree, bytes):
                continue
            nodes += [_node(node) for k, _, node in iter_fields(tree) if k == 1 and isinstance(node, bytes)]
    return nodes


def leaf_boxes(data: bytes, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The leaf elements' boxes, clipped to the screen, empty ones dropped, duplicates once."""
    nodes = forest_nodes(data)
    flagged = any(node.visible is not None for node in nodes)
    boxes: dict[tuple[int, int, int, int], None] = {}
    for node in nodes:
        if not node.leaf or (flagged and not node.visible):
            continue
        x1, y1, x2, y2 = node.box
        x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if x1 < x2 and y1 < y2:
            boxes[(x1, y1, x2, y2)] = None
    return list(boxes)


def smallest_containing(
    boxes: Iterable[Sequence[int]], x: float, y: float
) -> tuple[int, int, int, int] | None:
    """The smallest-area box with ``x1 <= x <= x2`` and ``y1 <= y <= y2`` (first one on a tie)."""
    best, best_area = None, None
    for x1, y1, x2, y2 in boxes:
        if x1 <= x <= x2 and y1 <= y <= y2:
            area = (x2 - x1) * (y2 - y1)
            if best_area is None or area < best_area:
                best, best_area = (x1, y1, x2, y2), area
    return best


def encode_forest(windows: list[list[dict]]) -> bytes:
    """A serialised forest (tests, benchmark): one list of nodes per window; a node is
    ``{"id": int, "box": (l, t, r, b), "children": [ids], "visible": bool}`` (all optional)."""
    out = b""
    for nodes in windows:
        tree = b"".join(encode_field(1, _encode_node(node)) for node in nodes)
        out += encode_field(1, encode_field(11, tree))
    return out


def _encode_node(node: dict) -> bytes:
    rect = b"".join(encode_field(i + 1, v) for i, v in enumerate(node.get("box", (0, 0, 0, 0))))
    body = encode_field(1, node.get("id", 0)) + encode_field(2, rect)
    if node.get("children"):
        body += encode_field(25, b"".join(encode_field(1, c)[1:] for c in node["children"]))
    if node.get("visible"):
        body += encode_field(23, 1)
    return body


__all__ = ["Node", "WireError", "encode_forest", "forest_nodes", "leaf_boxes", "smallest_containing"]
