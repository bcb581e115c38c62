"""Atomic writers keep a file's permissions (issue 11, item 15).

A file replaced by a :class:`JsonlWriter` (``build``, ``predict``, ``score``...) or by ``curve``'s
``atomic_path`` keeps the old file's mode (a private dataset stays private on rebuild); a new file gets
what ``open()`` would give it, ``0o666 & ~umask``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui_agent_rl.evaluate.curve import atomic_path
from gui_agent_rl.schemas import JsonlWriter, write_samples
from gui_agent_rl.schemas.sample import current_umask


@pytest.fixture
def umask() -> Iterator[object]:
    """Set the process umask for one test (restored after)."""
    old = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_jsonl(path: Path) -> None:
    write_samples(path, [{"id": 1}])


def write_curve(path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("x")


WRITERS = [write_jsonl, write_curve]


@pytest.mark.parametrize("write", WRITERS, ids=["JsonlWriter", "curve.atomic_path"])
class TestModes:
    @pytest.mark.parametrize(
        "mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["022", "077", "002"]
    )
    def test_a_new_file_follows_the_umask(
        self, write, umask, tmp_path: Path, mask: int, expected: int
    ) -> None:
        umask(mask)
        write(tmp_path / "out.jsonl")
        assert mode(tmp_path / "out.jsonl") == expected

    @pytest.mark.parametrize("old_mode", [0o600, 0o640, 0o664], ids=["600", "640", "664"])
    def test_a_replaced_file_keeps_its_mode(self, write, umask, tmp_path: Path, old_mode: int) -> None:
        umask(0o022)
        path = tmp_path / "out.jsonl"
        path.write_text("old\n")
        path.chmod(old_mode)
        write(path)
        assert mode(path) == old_mode and path.read_text() != "old\n"


def test_the_umask_is_read_without_being_changed(umask) -> None:
    umask(0o027)
    assert current_umask() == 0o027
    assert current_umask() == 0o027


def test_a_failed_write_leaves_the_old_file_and_its_mode(umask, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    path.chmod(0o600)
    with pytest.raises(RuntimeError), JsonlWriter(path) as w:
        w.write({"id": 1})
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n" and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
