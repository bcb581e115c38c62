"""Drafts -> the seed corpus layout: ``ROOT/<task>/step_<n>.json``, screenshots, report and summary.

Task folders are named by the episode id when it is all ASCII digits and not taken yet, else by the
next free running number (the original id stays in ``meta.episode_id``). ``<n>`` is the original step
index; a skipped step leaves a gap and a report line. Screenshots are written as ``<task>_<n><ext>``,
only those a written step shows (its own, and its predecessor's as ``screen_path1``).

Consecutive drafts with one episode id are joined (formats with a record per step); an episode id met
again after another episode is reported, not merged: history and previous screens are built from the
steps held together, and holding every episode open would not stream.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gui_agent_rl.importers.actions import type_list
from gui_agent_rl.importers.drafts import EpisodeDraft, Screenshot, StepDraft

REPORT_NAME, SUMMARY_NAME = "import.report.jsonl", "import.summary.json"
# a list of numbers spread over lines by indent=2 (a JSON string never holds a raw newline, so a
# match cannot lie inside a string value)
_NUMBER_LIST = re.compile(r"\[(?=[^\]]*\n)[-\d\s,.eE+]*\]")


def dump_step(record: dict[str, Any]) -> str:
    """A step file's text: indent 2 like the seed's, but each list of numbers (a box, a point, a size)
    on one line, so a screen's hundred element boxes stay readable."""
    text = json.dumps(record, ensure_ascii=False, indent=2)
    return _NUMBER_LIST.sub(lambda m: "[" + " ".join(m.group()[1:-1].split()) + "]", text)


@dataclass
class ImportSummary:
    """What an import did; ``as_json()`` is ``ROOT/import.summary.json``."""

    format: str
    source: str
    episodes: int = 0
    steps_written: int = 0
    steps_skipped: int = 0
    units_skipped: int = 0
    complete: bool = False
    episode_lengths: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "episodes": self.episodes,
            "steps_written": self.steps_written,
            "steps_skipped": self.steps_skipped,
            "units_skipped": self.units_skipped,
            "complete": self.complete,
            "episode_lengths": self.episode_lengths,
        }

    def format_line(self, root: Path) -> str:
        skipped = f"{self.steps_skipped} step(s) and {self.units_skipped} record(s)/file(s) skipped"
        return (
            f"imported {self.steps_written} step(s) in {self.episodes} task folder(s) into {root}; {skipped}"
            f" (see {root / REPORT_NAME})"
        )


class CorpusWriter:
    """Writes drafts into ``root`` (an empty or new folder); use as a context manager."""

    def __init__(self, root: Path, fmt: str, source: str, limit: int | None = None) -> None:
        self.root = Path(root)
        self.summary = ImportSummary(fmt, source)
        self.limit = limit
        self._pending: EpisodeDraft | None = None
        self._seen: set[str] = set()
        self._used: set[str] = set()
        self._next_number = 1
        self._blank: dict[tuple[int, int], bytes] = {}
        self._report: IO[str] | None = None

    def __enter__(self) -> CorpusWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        self._report = open(self.root / REPORT_NAME, "w", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._flush()
            self.summary.complete = True
        assert self._report is not None
        self._report.close()
        text = json.dumps(self.summary.as_json(), ensure_ascii=False, indent=2)
        (self.root / SUMMARY_NAME).write_text(text + "\n", encoding="utf-8")

    @property
    def full(self) -> bool:
        """Whether ``limit`` episodes have been taken (the next new episode would be refused)."""
        return self.limit is not None and len(self._seen) >= self.limit

    def add(self, draft: EpisodeDraft) -> bool:
        """Take a draft; False (and nothing done) when it starts an episode beyond ``limit``."""
        if draft.problem is not None:
            self._line(draft.source, draft.episode_id or None, None, draft.problem)
            self.summary.units_skipped += 1
            return True
        pending = self._pending
        if pending is not None and pending.episode_id == draft.episode_id:
            pending.steps += draft.steps
            pending.length = pending.length or draft.length
            pending.action_types = tuple(dict.fromkeys(pending.action_types + draft.action_types))
            return True
        if draft.episode_id in self._seen:
            for step in draft.steps:
                self._skip(
                    draft,
                    step,
                    "the episode id appeared before, separated from these steps by another "
                    "episode (group the records by episode); these steps were not imported",
                )
            return True
        if self.full:
            return False
        self._flush()
        self._seen.add(draft.episode_id)
        self._pending = draft
        return True

    def _line(self, source: str, episode: str | None, step: int | None, reason: str) -> None:
        record = {"source": source, "episode_id": episode, "step_index": step, "reason": reason}
        assert self._report is not None
        self._report.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _skip(self, episode: EpisodeDraft, step: StepDraft, reason: str) -> None:
        self._line(episode.source, episode.episode_id, step.index, reason)
        self.summary.steps_skipped += 1

    def _task_name(self, episode_id: str) -> str:
        if episode_id.isascii() and episode_id.isdigit() and str(int(episode_id)) not in self._used:
            name = str(int(episode_id))  # "007" and "7" would be one task for the walk
        else:
            while str(self._next_number) in self._used:
                self._next_number += 1
            name = str(self._next_number)
        self._used.add(name)
        return name

    def _flush(self) -> None:
        episode, self._pending = self._pending, None
        if episode is None:
            return
        steps = sorted(episode.steps, key=lambda s: s.index)
        keep = [s for s in steps if s.action is not None and s.reason is None]
        for step in steps:
            if step.action is None or step.reason is not None:
                self._skip(episode, step, step.reason or "no action")
        if not keep:
            return
        task = self._task_name(episode.episode_id)
        folder = self.root / task
        folder.mkdir()
        by_index = {s.index: s for s in steps}
        names: dict[int, str] = {}
        length = episode.length or steps[-1].index + 1
        for step in keep:
            for k in (step.index - 1, step.index):
                if k in by_index and k not in names and by_index[k].screenshot is not None:
                    names[k] = self._write_screen(folder, f"{task}_{k}", by_index[k].screenshot)
            history = [s.description for s in steps if s.index < step.index and s.description]
            record = self._record(episode, step, names, history, length)
            text = dump_step(record)
            (folder / f"step_{step.index}.json").write_text(text + "\n", encoding="utf-8")
        self.summary.steps_written += len(keep)
        self.summary.episodes += 1
        self.summary.episode_lengths[task] = length

    def _record(
        self, episode: EpisodeDraft, step: StepDraft, names: dict[int, str], history: list[str], length: int
    ) -> dict[str, Any]:
        kinds = tuple(dict.fromkeys((*episode.action_types, step.action["action_type"])))  # type: ignore[index]
        record: dict[str, Any] = {
            "input": {
                "task_content": step.task_content,
                "screen_path1": names.get(step.index - 1, ""),
                "screen_path2": names.get(step.index, ""),
                "history_path_all": history,
                "action_type_list": type_list(kinds),
            },
            "output": {**step.action, "action_description": step.description},  # type: ignore[dict-item]
        }
        if step.think:
            record["think"] = step.think
        meta = {"source": self.summary.format, "episode_id": episode.episode_id, "step_index": step.index}
        meta["episode_length"] = length
        if step.screenshot is not None:
            meta["screen_size"] = list(step.screenshot.size)
        record["meta"] = {**meta, **step.meta}
        return record

    def _write_screen(self, folder: Path, stem: str, shot: Screenshot) -> str:
        name = stem + shot.ext
        if shot.data is not None:
            (folder / name).write_bytes(shot.data)
        elif shot.source is not None:
            shutil.copyfile(shot.source, folder / name)
        else:
            (folder / name).write_bytes(self._blank_png(shot.size))
        return name

    def _blank_png(self, size: tuple[int, int]) -> bytes:
        if size not in self._blank:
            from PIL import Image

            buf = io.BytesIO()
            Image.new("L", size, 255).save(buf, format="PNG")
            self._blank[size] = buf.getvalue()
        return self._blank[size]
