"""Assemble the report folder: the page's assets, its data as a script, the thumbnails, the metrics.

The folder opens from disk (``file://``) with no server: browsers refuse ``fetch()`` of local files,
so the data is a script (``data.js``: ``window.REPORT_DATA = {...}``) that ``index.html`` loads with
``<script src>``, beside ``report.js`` and ``report.css`` (package data, copied as they are). The page
forbids itself every network request with a Content-Security-Policy. The folder is built beside
``output`` and moved into place at the end, so a failed build leaves the previous report as it was;
an existing ``output`` is replaced only when it is empty or a report (:data:`MARKER` inside).

>>> side = Side("pred.jsonl", rows, ev.results, ev.metrics, settings)  # doctest: +SKIP
>>> build_report(ReportInputs([side], runs=[], image_folder=Path("corpus")), Path("report"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gui_agent_rl.evaluate.curve import RunCurve, format_value
from gui_agent_rl.evaluate.metrics import StepResult
from gui_agent_rl.evaluate.pictures import marks_for
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.scoring import image_frame
from gui_agent_rl.report.records import build_records, episodes
from gui_agent_rl.report.svg import curve_svg, reward_keys
from gui_agent_rl.report.thumbs import DEFAULT_THUMB_HEIGHT, Thumb, draw_thumbs
from gui_agent_rl.rewards.registry import RewardSettings

ASSETS = ("index.html", "report.js", "report.css")
MARKER = ".gui-agent-rl-report"
PAGE_FILES = (*ASSETS, "data.js")  # what the browser loads before any thumbnail


@dataclass(frozen=True)
class Side:
    """One predictions file scored as ``eval`` scores it: its verdicts, metrics and reward settings."""

    name: str
    rows: Sequence[Scored]
    results: Sequence[StepResult]
    metrics: dict
    settings: RewardSettings


@dataclass(frozen=True)
class ReportInputs:
    """Everything the page shows: one side, or two with ``--compare``; the runs' curves; the screens."""

    sides: Sequence[Side]
    runs: Sequence[RunCurve] = ()
    image_folder: Path | None = None
    title: str = "gui-agent-rl report"
    thumb_height: int = DEFAULT_THUMB_HEIGHT
    workers: int = 1


@dataclass
class ReportSummary:
    """What was written: the page, its size in bytes (without thumbnails), the thumbnails."""

    index: Path
    samples: int
    page_bytes: int
    thumbs: int
    thumb_bytes: int
    left_out: dict[str, str] = field(default_factory=dict)


def check_output(output: Path) -> None:
    """``ValueError`` unless ``output`` is new, an empty folder, or a report this command wrote."""
    if output.exists() and not output.is_dir():
        raise ValueError(f"{output}: exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        raise ValueError(f"{output}: folder exists, is not empty and holds no report; choose a new folder")


def plan_thumbs(inputs: ReportInputs, records: list[dict]) -> list[Thumb]:
    """Each record's thumbnails (names set in ``record["thumbs"]``); previous screens drawn once."""
    thumbs: list[Thumb] = []
    previous: dict[str, str] = {}
    keys = ("a", "b")
    for record in records:
        sample = inputs.sides[0].rows[record["i"]].sample
        names: dict[str, str | None] = {}
        if sample.images:
            for key, side in zip(keys, inputs.sides, strict=False):
                verdict = side.results[record["i"]]
                marks = marks_for(
                    verdict, image_frame(side.rows[record["i"]].sample, side.settings), side.settings
                )
                names[key] = f"t/{record['i']:05d}{'' if key == 'a' else key}.jpg"
                thumbs.append(Thumb(sample.images[-1], names[key], marks))
        if len(sample.images) > 1:
            image = sample.images[-2]
            if image not in previous:
                previous[image] = f"p/{len(previous):05d}.jpg"
                thumbs.append(Thumb(image, previous[image]))
            names["prev"] = previous[image]
        record["thumbs"] = names
    return thumbs


def _drop_missing(records: list[dict], left_out: dict[str, str]) -> None:
    """Thumbnails that could not be drawn become ``None`` and their reason a note on the record."""
    if not left_out:
        return
    for record in records:
        for key, name in record["thumbs"].items():
            if name in left_out:
                record["thumbs"][key] = None
                record.setdefault("notes", []).append(f"no {key} screen: {left_out[name]}")


def run_record(run: RunCurve) -> dict:
    """A run on the page: its name, where its numbers came from, the chart, the last reward values."""
    last = {
        key: next((format_value(v) for v in reversed(run.metrics[key]) if v is not None), "-")
        for key in reward_keys(run)
    }
    return {
        "name": run.name,
        "source": str(run.source),
        "steps": len(run.steps),
        "svg": curve_svg(run),
        "last": last,
    }


def page_data(inputs: ReportInputs, records: list[dict]) -> dict:
    """The object ``data.js`` gives the page."""
    rewards = list(dict.fromkeys(name for side in inputs.sides for name in side.metrics.get("rewards", {})))
    return {
        "title": inputs.title,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "sides": [{"name": side.name, "metrics": side.metrics} for side in inputs.sides],
        "rewards": rewards,
        "runs": [run_record(run) for run in inputs.runs],
        "records": records,
        "episodes": episodes(records),
        "thumb_height": inputs.thumb_height,
    }


def _write_page(folder: Path, data: dict, sides: Sequence[Side]) -> None:
    package = resources.files("gui_agent_rl.report") / "assets"
    for name in ASSETS:
        (folder / name).write_bytes((package / name).read_bytes())
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    (folder / "data.js").write_text(f"window.REPORT_DATA = {text};\n", encoding="utf-8")
    for side, name in zip(sides, ("metrics.json", "compare.metrics.json"), strict=False):
        (folder / name).write_text(
            json.dumps(side.metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    (folder / MARKER).write_text(
        "written by gui-agent-rl report; replaced by the next one\n", encoding="utf-8"
    )


def _move_into_place(built: Path, output: Path) -> None:
    """Replace ``output`` by ``built`` (the old report is removed only once the new one is in place)."""
    old = output.with_name(f".{output.name}.{os.getpid()}.old")
    if output.exists():
        output.rename(old)
    built.rename(output)
    shutil.rmtree(old, ignore_errors=True)


def _size(folder: Path, names: Sequence[str]) -> int:
    return sum((folder / n).stat().st_size for n in names)


def build_report(inputs: ReportInputs, output: Path) -> ReportSummary:
    """Write the report folder ``output`` (see the module docstring); return what was written."""
    check_output(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    first = inputs.sides[0]
    other = inputs.sides[1] if len(inputs.sides) > 1 else None
    records = build_records(
        first.rows, first.results, other.rows if other else None, other.results if other else None
    )
    built = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    shutil.rmtree(built, ignore_errors=True)
    try:
        (built / "t").mkdir(parents=True)
        (built / "p").mkdir()
        thumbs = plan_thumbs(inputs, records) if inputs.image_folder is not None else []
        if inputs.image_folder is None:
            for record in records:
                record["thumbs"] = {}
        left_out = draw_thumbs(
            thumbs, inputs.image_folder or Path("."), built, inputs.thumb_height, inputs.workers
        )
        _drop_missing(records, left_out)
        _write_page(built, page_data(inputs, records), inputs.sides)
        page_bytes = _size(built, PAGE_FILES)
        drawn = [t.name for t in thumbs if t.name not in left_out]
        thumb_bytes = _size(built, drawn)
        _move_into_place(built, output)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return ReportSummary(output / "index.html", len(records), page_bytes, len(drawn), thumb_bytes, left_out)
