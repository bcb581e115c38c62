"""Run an import: read a format's units, convert them (in worker processes with ``workers > 1``), write.

The main process reads the source (TFRecord frames, file names), hands units to the workers and writes
their drafts in source order. At most ``2 * workers`` units are in flight, so memory stays flat
however large the source is (a 15k-episode TFRecord is never held at once): see bench/bench_import.py.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from gui_agent_rl.datagen.processes import die_with_parent, expected_parent, ignore_main_signals, plan_workers
from gui_agent_rl.importers.drafts import EpisodeDraft
from gui_agent_rl.importers.formats import ImportOptions, load_format
from gui_agent_rl.importers.writer import CorpusWriter, ImportSummary

log = logging.getLogger(__name__)
IN_FLIGHT_PER_WORKER = 2
STREAMING_TASKS = 1 << 30  # the number of units of a stream is unknown: do not cap workers by it


def _child_init(parent: int | None) -> None:
    ignore_main_signals()
    die_with_parent(parent)


def _converted(
    units: Iterable[Any],
    convert: Callable[[Any, ImportOptions], list[EpisodeDraft]],
    options: ImportOptions,
    workers: int,
) -> Iterator[list[EpisodeDraft]]:
    """Drafts of each unit, in unit order. A unit that is already a draft (a read error) passes through."""
    if workers <= 1:
        for unit in units:
            yield [unit] if isinstance(unit, EpisodeDraft) else convert(unit, options)
        return
    pending: deque[Future | list[EpisodeDraft]] = deque()
    with ProcessPoolExecutor(workers, initializer=_child_init, initargs=(expected_parent(),)) as pool:
        try:
            for unit in units:
                pending.append(
                    [unit] if isinstance(unit, EpisodeDraft) else pool.submit(convert, unit, options)
                )
                while len(pending) > IN_FLIGHT_PER_WORKER * workers:
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        finally:
            for item in pending:
                if isinstance(item, Future):
                    item.cancel()


def _result(item: Future | list[EpisodeDraft]) -> list[EpisodeDraft]:
    return item.result() if isinstance(item, Future) else item


def _progress(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="unit", file=sys.stderr, dynamic_ncols=True, leave=False, disable=not enabled
    )


def import_corpus(
    fmt: str,
    source: Path,
    root: Path,
    options: ImportOptions | None = None,
    *,
    workers: int = 1,
    limit: int | None = None,
    progress: bool = False,
) -> ImportSummary:
    """Import ``source`` (a file or folder of format ``fmt``) into the corpus folder ``root``.

    ``limit``: stop after that many episodes. ``workers``: processes converting, capped at the
    usable cores. Bad records and steps go to ``root/import.report.jsonl``; never raises for them.
    """
    spec = load_format(fmt)
    options = options or ImportOptions()
    spec.check(source, options)  # user mistakes: UserError-like ValueError, before anything is written
    n = plan_workers(workers, STREAMING_TASKS) if workers > 1 else 1
    with (
        CorpusWriter(root, fmt, str(source), limit) as writer,
        _progress(spec.count(source), progress) as bar,
    ):
        for drafts in _converted(spec.units(source, options), spec.convert, options, n):
            bar.update(1)
            if not all(writer.add(d) for d in drafts):
                break
        log.info("%s: %d steps written", root, writer.summary.steps_written)
    return writer.summary
