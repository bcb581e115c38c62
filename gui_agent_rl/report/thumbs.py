"""Thumbnails of the screens: the current one with truth (green) and prediction (red) drawn by ``viz``'s
:func:`~gui_agent_rl.evaluate.viz.draw_marks`, the previous one plain; JPEG files, drawn in parallel.

Every thumbnail is ``height`` pixels tall (a phone screenshot is scaled down, a tiny synthetic one
up), so the marks keep the size ``viz`` gives them relative to the picture. A previous screen is drawn
once however many samples show it (``p/NNNNN.jpg``); the current screen once per predictions file
(``t/NNNNN.jpg``, ``t/NNNNNb.jpg`` for ``--compare``). Jobs of :data:`SAMPLES_PER_JOB` samples go to
``workers`` processes, this one included (capped by the usable cores,
:func:`~gui_agent_rl.datagen.processes.plan_workers`), dealt round-robin; the children die with the
main process and are killed (SIGKILL: they ignore SIGTERM, as the build's workers do) on any error.
A screenshot that is missing or unreadable leaves its thumbnail out (the page says so) instead of
stopping a report of thousands of samples.
"""

from __future__ import annotations

import logging
import multiprocessing
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from gui_agent_rl.datagen.processes import (
    die_with_parent,
    expected_parent,
    ignore_main_signals,
    plan_workers,
    signals_blocked,
)
from gui_agent_rl.evaluate.viz import Marks, ScreenTooLarge, draw_marks, open_screen

logger = logging.getLogger(__name__)

DEFAULT_THUMB_HEIGHT = 320
JPEG_QUALITY = 80
SAMPLES_PER_JOB = 32  # a few hundred ms of drawing: amortises the round trip, keeps the last job short
MAX_UPSCALE = 8.0  # a 56-pixel synthetic screen is shown at most 8 times its size


@dataclass(frozen=True, slots=True)
class Thumb:
    """One picture to draw: ``image`` (relative to the image folder) into ``name`` (relative to the
    report folder), with ``marks`` (original pixels) drawn on it, or plain when None."""

    image: str
    name: str
    marks: Marks | None = None


def thumb_scale(size: tuple[int, int], height: int) -> float:
    """Factor from a screen's original pixels to its thumbnail.

    >>> thumb_scale((1080, 2400), 320), thumb_scale((56, 56), 320)
    (0.13333333333333333, 5.714285714285714)
    """
    return min(height / max(1, size[1]), MAX_UPSCALE)


def draw_thumb(folder: Path, thumb: Thumb, out_dir: Path, height: int) -> str | None:
    """Write one thumbnail; None when done, else why not (one line)."""
    try:
        screen = open_screen(folder, thumb.image)
    except (OSError, UnidentifiedImageError, ScreenTooLarge, ValueError) as exc:
        return f"{thumb.image}: {exc}"
    scale = thumb_scale(screen.size, height)
    size = (max(1, round(screen.width * scale)), max(1, round(screen.height * scale)))
    shown = screen.convert("RGB").resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.NEAREST)
    if thumb.marks is not None:
        draw_marks(shown, thumb.marks, scale)
    shown.save(out_dir / thumb.name, "JPEG", quality=JPEG_QUALITY)
    return None


def _draw_job(folder: Path, job: Sequence[Thumb], out_dir: Path, height: int) -> list[tuple[str, str]]:
    """Draw a job's thumbnails; ``(name, why not)`` for those left out."""
    problems = []
    for thumb in job:
        why = draw_thumb(folder, thumb, out_dir, height)
        if why is not None:
            problems.append((thumb.name, why))
    return problems


def _child(
    conn: Connection,
    jobs: Sequence[Sequence[Thumb]],
    *,
    folder: Path,
    out_dir: Path,
    height: int,
    parent: int | None,
) -> None:
    """A worker process: draw its share of the jobs; send ``(True, problems)`` or ``(False, traceback)``."""
    ignore_main_signals()
    die_with_parent(parent)
    try:
        message = (True, [p for job in jobs for p in _draw_job(folder, job, out_dir, height)])
    except Exception:  # noqa: BLE001 - a bug or MemoryError: the main process raises it, traceback and all
        message = (False, traceback.format_exc())
    conn.send(message)
    conn.close()


def _start_children(
    shares: Sequence[Sequence[Sequence[Thumb]]], folder: Path, out_dir: Path, height: int
) -> list[tuple[Any, Connection]]:
    ctx = multiprocessing.get_context()
    children = []
    with (
        signals_blocked()
    ):  # a child ignores SIGINT/SIGTERM before it can get one (the main one handles them)
        for share in shares:
            receive, send = ctx.Pipe(duplex=False)
            where = {"folder": folder, "out_dir": out_dir, "height": height, "parent": expected_parent()}
            proc = ctx.Process(target=_child, args=(send, share), kwargs=where, daemon=True)
            children.append((proc, receive))
            proc.start()
            send.close()
    return children


def _collect(proc: Any, conn: Connection) -> list[tuple[str, str]]:
    try:
        ok, payload = conn.recv()
    except EOFError:  # it died (killed, out of memory) before sending
        proc.join()
        raise RuntimeError(f"thumbnail worker died (exit code {proc.exitcode})") from None
    proc.join()
    if not ok:
        raise RuntimeError(f"thumbnail worker failed:\n{payload}")
    return payload


def _in_processes(jobs: list[list[Thumb]], n: int, folder: Path, out_dir: Path, height: int) -> list:
    """Jobs dealt round-robin: share 0 drawn here, the others by ``n - 1`` children (killed on any error)."""
    children = _start_children([jobs[k::n] for k in range(1, n)], folder, out_dir, height)
    try:
        problems = [p for job in jobs[0::n] for p in _draw_job(folder, job, out_dir, height)]
        for proc, conn in children:
            problems += _collect(proc, conn)
    finally:
        for proc, conn in children:
            if proc.is_alive():
                proc.kill()  # SIGKILL: the children ignore SIGTERM
                proc.join()
            conn.close()
    return problems


def _jobs(thumbs: Sequence[Thumb]) -> Iterator[list[Thumb]]:
    for start in range(0, len(thumbs), SAMPLES_PER_JOB):
        yield list(thumbs[start : start + SAMPLES_PER_JOB])


def draw_thumbs(
    thumbs: Sequence[Thumb], folder: Path, out_dir: Path, height: int = DEFAULT_THUMB_HEIGHT, workers: int = 1
) -> dict[str, str]:
    """Draw every thumbnail into ``out_dir``; ``{name: why}`` for those left out (logged as warnings)."""
    jobs = list(_jobs(thumbs))
    n = plan_workers(workers, max(1, len(jobs)))
    if n <= 1:
        found = [p for job in jobs for p in _draw_job(folder, job, out_dir, height)]
    else:
        found = _in_processes(jobs, n, folder, out_dir, height)
    problems = dict(found)
    for name, why in sorted(problems.items())[:5]:
        logger.warning("thumbnail %s left out: %s", name, why)
    if len(problems) > 5:
        logger.warning("%d more thumbnails left out", len(problems) - 5)
    return problems
