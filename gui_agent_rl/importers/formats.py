"""The formats ``gui-agent-rl import`` reads, and the options they share.

Each format is a module of this package with:

* ``check(source, options)``: raise :class:`ImportUsageError` for a user mistake (wrong kind of
  source, an option the format cannot use), before anything is written;
* ``count(source)``: how many units there are, for the progress bar (None when it would need a read);
* ``units(source, options)``: the units in source order, cheaply, in the main process; a unit that
  cannot even be read comes as an :class:`EpisodeDraft` with ``problem`` set;
* ``convert(unit, options)``: a unit -> drafts; runs in worker processes; never raises (a bad record is
  a draft with ``problem``, a bad step a :class:`StepDraft` with ``reason``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

#: format name -> module of this package
FORMATS: dict[str, str] = {
    "androidcontrol": "androidcontrol",
    "aitw": "aitw",
    "aitz": "aitz",
    "gui-odyssey": "odyssey",
    "ui-r1": "uir1",
    "gui-r1": "guir1",
}
INSTRUCTION_LEVELS = ("high", "low")


class ImportUsageError(ValueError):
    """A mistake the user can fix (a source of the wrong kind, an option the format cannot use)."""


@dataclass(frozen=True)
class ImportOptions:
    """Options of an import.

    ``instruction``: AndroidControl's ``task_content``: ``high`` = the episode goal; ``low`` = the goal,
    a newline, then ``Step instruction: `` and the step's low-level instruction (the "low" setting of
    the papers, where the agent is told the goal and what to do next). ``image_folder``: where
    screenshots are (UI-R1, GUI-Odyssey). ``screen_size``: (width, height) for formats without sizes
    (UI-R1 without images: blank placeholder screenshots of that size are written).
    """

    instruction: str = "high"
    image_folder: Path | None = None
    screen_size: tuple[int, int] | None = None


def load_format(name: str) -> ModuleType:
    """The module of a format; :class:`ImportUsageError` naming the known ones otherwise."""
    if name not in FORMATS:
        raise ImportUsageError(f"unknown format {name!r}; one of {', '.join(FORMATS)}")
    return importlib.import_module(f"gui_agent_rl.importers.{FORMATS[name]}")


def files_of(source: Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """``source`` itself when it is a file, else its files (recursively, sorted by path, hidden ones
    and those not ending in one of ``suffixes`` left out)."""
    if source.is_file():
        return [source]
    found = [
        p
        for p in source.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(source).parts)
        and (not suffixes or p.name.lower().endswith(suffixes))
    ]
    return sorted(found)


def refuse_options(
    options: ImportOptions, fmt: str, *, instruction: bool = False, images: bool = False, size: bool = False
) -> None:
    """:class:`ImportUsageError` for an option ``fmt`` does not use (silently ignoring it would mislead)."""
    if options.instruction != "high" and not instruction:
        raise ImportUsageError(f"--instruction applies to androidcontrol; {fmt} has one instruction per step")
    if options.image_folder is not None and not images:
        raise ImportUsageError(f"--image-folder: {fmt} carries its screenshots itself")
    if options.screen_size is not None and not size:
        raise ImportUsageError(f"--screen-size: {fmt} records each screenshot's size itself")
