"""``predict``'s progress file: every finished prediction is on disk at once, and a rerun resumes.

While ``predict --output P`` runs, each prediction line is appended to ``P.partial`` and flushed, after a
first line that records the run's settings (``{"predict_partial": {...}}``). At the end ``P`` is written
in dataset order and ``P.partial`` removed. A run that stops (a server that stays down, Ctrl-C, a kill)
leaves ``P.partial``; the next run with the same output and settings keeps its lines and predicts only
the samples it lacks (``--no-resume`` starts over). Settings that change the completions must match:
mixing greedy lines with sampled ones, or two models' answers, would give a meaningless file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from gui_agent_rl.schemas import JsonlWriter
from gui_agent_rl.train.data import DataError

logger = logging.getLogger(__name__)

HEADER_KEY = "predict_partial"


def partial_path(output: str | os.PathLike[str]) -> Path:
    """``preds.jsonl`` -> ``preds.jsonl.partial`` (beside the output)."""
    path = Path(output)
    return path.with_name(path.name + ".partial")


def sample_key(sample_id: Any) -> str:
    """A hashable key for a sample id of any JSON type (``1`` and ``"1"`` stay apart)."""
    return json.dumps(sample_id, sort_keys=True)


def read_partial(path: Path, stamp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The lines of a progress file written with ``stamp``, by :func:`sample_key`; {} when there is none.

    A line cut short by a crash is dropped (it is predicted again). DataError when the file was written
    with other settings.
    """
    if not path.is_file():
        return {}
    lines: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        _check_stamp(path, _json_or_none(f.readline()), stamp)
        for text in f:
            obj = _json_or_none(text)
            if isinstance(obj, dict) and "id" in obj:
                lines[sample_key(obj["id"])] = obj
    return lines


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_stamp(path: Path, header: Any, stamp: dict[str, Any]) -> None:
    old = header.get(HEADER_KEY) if isinstance(header, dict) else None
    if not isinstance(old, dict):
        raise DataError(f"{path}: not a predict progress file; move it away or rerun with --no-resume")
    changed = sorted(k for k in stamp.keys() | old.keys() if old.get(k) != stamp.get(k))
    if changed:
        raise DataError(
            f"{path}: left by a predict run with other {', '.join(changed)}; rerun with those settings "
            "to resume it, or with --no-resume to start over"
        )


class PartialLog:
    """Append-and-flush writer of a progress file; starts it over with ``stamp`` and the ``kept`` lines."""

    def __init__(self, path: Path, stamp: dict[str, Any], kept: Iterable[dict[str, Any]] = ()) -> None:
        self.path, self.stamp, self.kept = path, stamp, list(kept)
        self.count = len(self.kept)
        self._file: IO[str] | None = None

    def __enter__(self) -> PartialLog:
        with JsonlWriter(self.path) as w:  # atomic: a crash here leaves the old progress file whole
            w.write({HEADER_KEY: self.stamp})
            for line in self.kept:
                w.write(line)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def write(self, line: dict[str, Any]) -> None:
        assert self._file is not None, "PartialLog used outside a with-block"
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()
        self.count += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
        if exc_type is None:
            return
        if self.count:
            logger.warning("%d predictions kept in %s; run the same command to resume", self.count, self.path)
        else:
            self.path.unlink(missing_ok=True)


def finish(output: Path, records: list[dict[str, Any]], lines: dict[str, dict[str, Any]]) -> int:
    """Write ``output`` in dataset order from the finished ``lines``, remove the progress file; returns
    how many lines were written."""
    with JsonlWriter(output) as out:
        for record in records:
            out.write(lines[sample_key(record["id"])])
    partial_path(output).unlink(missing_ok=True)
    return out.count
