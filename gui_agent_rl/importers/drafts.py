"""What a format's converter hands the writer: episodes of step drafts (picklable, no files yet).

A converter turns one unit of its source (a record, a JSON file) into :class:`EpisodeDraft` objects;
the writer (:mod:`gui_agent_rl.importers.writer`) names task folders, writes screenshots and step files
and the report. Converters run in worker processes, so drafts carry screenshot bytes or a source path,
never open files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Screenshot:
    """A step's screenshot: encoded ``data`` to write, or a ``source`` file to copy, or ``blank`` (a
    plain white placeholder of ``size``, when the format ships no images). ``size`` is (width, height)."""

    size: tuple[int, int]
    data: bytes | None = None
    source: str | None = None
    ext: str = ".png"
    blank: bool = False


@dataclass
class StepDraft:
    """One original step. ``action`` is the wire dict (``action_type``, ``action_parameter``) or None
    when the step is skipped, ``reason`` then saying why."""

    index: int
    screenshot: Screenshot | None
    action: dict[str, Any] | None
    description: str
    task_content: str
    meta: dict[str, Any] = field(default_factory=dict)
    think: dict[str, str] | None = None
    reason: str | None = None


@dataclass
class EpisodeDraft:
    """An episode, or a run of its steps (AITW and UI-R1 hold one step per record: the writer joins
    consecutive drafts with one ``episode_id``). ``length``: steps the original episode has.
    ``problem``: the whole unit could not be read (its steps are then unknown)."""

    source: str
    episode_id: str
    length: int | None
    steps: list[StepDraft] = field(default_factory=list)
    action_types: tuple[str, ...] = ()
    problem: str | None = None
