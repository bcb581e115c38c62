"""Find tasks and steps in a corpus (SPEC §2), in numeric order. Never reads step contents or images.

A task is a folder of ``ROOT`` whose name is all digits; a step is a file ``step_<n>.json`` inside
it. Folders sort by their number (``2 < 10 < 100``), steps by ``n`` (``step_2 < step_10``); anything
else (other folders, other files, empty task folders) is ignored without error.

>>> [t.task_id for t in iter_tasks("examples/corpus")][:2]  # doctest: +SKIP
['1001', '1002']
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple


# Named tuples, not dataclasses: a build makes one StepFile per step, and a frozen dataclass costs
# several times more to create; tuples also pickle small on their way to worker processes.
class TaskDir(NamedTuple):
    """One task folder: its id (the folder name) and its absolute path."""

    task_id: str
    path: str


class StepFile(NamedTuple):
    """One step file of a task: the step number ``n`` of ``step_<n>.json`` and its absolute path."""

    task_id: str
    step: int
    path: str

    def relative(self, root: str) -> str:
        """The path relative to ``root`` with ``/`` separators, as reports show it."""
        return os.path.relpath(self.path, root).replace(os.sep, "/")


def _numeric_key(name: str) -> tuple[int, str]:
    # "007" and "7" are the same number; the name breaks the tie so the order is still total.
    return int(name), name


def iter_tasks(root: str | os.PathLike[str]) -> Iterator[TaskDir]:
    """Task folders of ``root`` in numeric order (the listing is sorted up front, then streamed)."""
    root = os.path.abspath(root)
    with os.scandir(root) as entries:
        names = [e.name for e in entries if e.name.isascii() and e.name.isdigit() and e.is_dir()]
    for name in sorted(names, key=_numeric_key):
        yield TaskDir(name, os.path.join(root, name))


def step_files(task: TaskDir) -> list[StepFile]:
    """The ``step_<n>.json`` files of one task, ordered by ``n``; an empty list for an empty folder."""
    found: list[tuple[int, str]] = []
    with os.scandir(task.path) as entries:
        for entry in entries:
            name = entry.name
            # String tests instead of a regex: this runs for every file of the corpus, images too.
            if name.startswith("step_") and name.endswith(".json"):
                number = name[5:-5]
                if number.isascii() and number.isdigit() and entry.is_file():
                    found.append((int(number), name))
    found.sort()
    folder = task.path + os.sep
    return [StepFile(task.task_id, n, folder + name) for n, name in found]


def iter_steps(root: str | os.PathLike[str]) -> Iterator[StepFile]:
    """Every step of the corpus in walk order: tasks numerically, then steps numerically."""
    for task in iter_tasks(root):
        yield from step_files(task)
