"""Find tasks and steps in a corpus (SPEC §2), in numeric order. Never reads step contents or images.

A task is a folder of ``ROOT`` whose name is ASCII digits; a step is a regular file ``step_<n>.json``
(``n`` in ASCII digits) inside it. Folders sort by their number (``2 < 10 < 100``), steps by ``n``
(``step_2 < step_10``). Every entry that looks meant as a task or a step but cannot be one is
accounted for with a reason for the report, kind ``layout`` (its name or type) or ``unreadable``
(the system refused to list or examine it: permissions, a symbolic link loop):

* under ``ROOT``: a folder not named by ASCII digits (``abc``, ``task_14``, ``١٢``), an entry named by
  digits that is not a folder, a step file lying directly under ``ROOT``;
* in a task folder: a name like ``step_*.json`` that is not ``step_<n>.json`` (``step_-1.json``,
  ``Step_2.json``), a step name that is not a regular file (a folder, FIFO, device, socket, broken
  link), two files with one number (``step_01.json`` and ``step_1.json``: *both* are refused, since
  which one is meant cannot be known), a task folder that cannot be listed.

A task folder without step files yields nothing and no report line: no step is lost (some corpora keep
a task's screenshots in another task's folder, ``../10/10_0.jpg``).

Names starting with ``.`` are hidden and skipped, and so are other files (screenshots, notes). A
``ROOT`` that is itself a task folder (step files, no task folders) raises :class:`CorpusError`.

>>> [t.task_id for t in iter_tasks("examples/corpus")][:2]  # doctest: +SKIP
['1001', '1002']
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from itertools import pairwise
from typing import NamedTuple

LAYOUT, UNREADABLE = "layout", "unreadable"  # report kinds of the entries the walk refuses
MAX_STEP = 10**9  # step numbers stay small integers for every JSON and Arrow reader
_STEP_FORM = "step files are named step_<n>.json, n in ASCII digits 0-9 (SPEC §2)"
_TASK_FORM = "a task is a folder named by ASCII digits 0-9 (SPEC §2: ROOT/<digits>/step_<n>.json)"

Rejection = tuple[str, str, str]  # (path relative to ROOT, kind, reason): one report line


class CorpusError(ValueError):
    """``ROOT`` is not a corpus root (it is a single task folder); the message says what to give."""


# Named tuples, not dataclasses: a build makes one StepFile per step, and a frozen dataclass costs
# several times more to create; tuples also pickle small on their way to worker processes.
class TaskDir(NamedTuple):
    """One task folder: its id (the folder name) and its absolute path."""

    task_id: str
    path: str


class StepFile(NamedTuple):
    """A step file of a task: the ``n`` of ``step_<n>.json`` and its absolute path. ``problem`` is
    ``(kind, reason)`` for an entry the walk refuses (``step`` is then -1 when it has no number)."""

    task_id: str
    step: int
    path: str
    problem: tuple[str, str] | None = None

    def relative(self, root: str) -> str:
        """The path relative to ``root`` with ``/`` separators, as reports show it."""
        return os.path.relpath(self.path, root).replace(os.sep, "/")


def describe_mode(mode: int) -> str:
    """What a ``st_mode`` is, in words: ``"a folder"``, ``"a FIFO (named pipe)"``, ..."""
    for test, words in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    """``strerror`` of an OS error (``Permission denied``), else its text."""
    return exc.strerror or str(exc)


def _what(entry: os.DirEntry[str]) -> str:
    """What an entry is, links followed; never raises."""
    try:
        return describe_mode(entry.stat().st_mode)
    except FileNotFoundError:
        return "a broken symbolic link"
    except OSError as exc:
        return f"not examinable ({os_reason(exc)})"


def _numeric_key(name: str) -> tuple[int, str]:
    # "007" and "7" are the same number; the name breaks the tie so the order is still total.
    return int(name), name


def _is_digits(name: str) -> bool:
    return name.isascii() and name.isdigit()


def _step_like(name: str) -> bool:
    """``step_*.json`` in any case (hidden names start with ``.``, so they never match)."""
    return (name.startswith("step_") or name[:5].lower() == "step_") and name[-5:].lower() == ".json"


def _root_entry(entry: os.DirEntry[str], tasks: list[str], loose: list[str]) -> Rejection | None:
    """Sort one entry of ROOT into ``tasks`` or ``loose`` (step files), or say why it is refused."""
    name = entry.name
    try:
        is_dir = entry.is_dir()
    except OSError as exc:  # a symbolic link loop, a permission error on a link's target
        return name, UNREADABLE, f"cannot examine this entry ({os_reason(exc)})"
    if _is_digits(name):
        if is_dir:
            tasks.append(name)
            return None
        return name, LAYOUT, f"named like a task but {_what(entry)}, not a folder; {_TASK_FORM}"
    if is_dir:
        if name.isdigit():
            return name, LAYOUT, f"task folder name has non-ASCII digits; {_TASK_FORM}"
        return name, LAYOUT, f"not a task folder: the name is not digits; {_TASK_FORM}"
    if _step_like(name):
        loose.append(name)
    return None


def scan_root(root: str | os.PathLike[str]) -> tuple[list[TaskDir], list[Rejection]]:
    """The task folders of ``root`` in numeric order, and the entries refused there (name order).

    ``OSError`` when ``root`` itself cannot be listed; :class:`CorpusError` when it holds step files
    but no task folder (a single task folder was given for the corpus root).
    """
    root = os.path.abspath(root)
    names: list[str] = []
    loose: list[str] = []
    rejected: list[Rejection] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.name.startswith(".") and (line := _root_entry(entry, names, loose)):
                rejected.append(line)
    if loose and not names:
        first = min(loose, key=lambda n: (len(n), n))
        raise CorpusError(
            f"{root} holds {len(loose)} step file(s) ({first}) but no task folder: it looks like a "
            f"single task folder; give its parent folder {os.path.dirname(root)} "
            "(ROOT/<digits>/step_<n>.json)"
        )
    rejected += [(n, LAYOUT, f"a step file directly under ROOT; {_TASK_FORM}") for n in loose]
    rejected.sort()
    return [TaskDir(n, os.path.join(root, n)) for n in sorted(names, key=_numeric_key)], rejected


def iter_tasks(root: str | os.PathLike[str]) -> Iterator[TaskDir]:
    """Task folders of ``root`` in numeric order (the refused entries: :func:`scan_root`)."""
    yield from scan_root(root)[0]


def _step_entry(entry: os.DirEntry[str]) -> tuple[int, tuple[str, str] | None]:
    """``(n, None)`` for a usable step file; ``(n or -1, (kind, reason))`` for a refused one."""
    name = entry.name
    number = name[5:-5]
    if not (name.startswith("step_") and name.endswith(".json")):
        return -1, (LAYOUT, f"not lower case; {_STEP_FORM}")
    if not _is_digits(number):
        return -1, (LAYOUT, f"{number!r} is not a step number; {_STEP_FORM}")
    n = int(number)
    if n >= MAX_STEP:
        return -1, (LAYOUT, f"step number {number} too large (at most {MAX_STEP - 1})")
    try:
        if entry.is_file():
            return n, None
    except OSError as exc:  # a symbolic link loop
        return n, (UNREADABLE, f"cannot examine this entry ({os_reason(exc)})")
    return n, (LAYOUT, f"{_what(entry)}, not a step file")


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # a symbolic link loop: _step_entry says so
        return False


def _list_steps(path: str) -> tuple[list[tuple[int, str]], list[tuple[int, str, tuple[str, str]]]]:
    """The usable ``(n, name)`` and the refused ``(n or -1, name, (kind, reason))`` entries of a task."""
    usable: list[tuple[int, str]] = []
    refused: list[tuple[int, str, tuple[str, str]]] = []
    with os.scandir(path) as entries:
        for entry in entries:
            name = entry.name
            # String tests first (this runs for every file, images too); a usual step in one pass.
            if name.startswith("step_") and name.endswith(".json"):
                number = name[5:-5]
                if len(number) < 10 and number.isascii() and number.isdigit() and _is_file(entry):
                    usable.append((int(number), name))
                    continue
            elif not _step_like(name):
                continue
            n, problem = _step_entry(entry)
            if problem is None:  # a long zero-padded number: step_0000000001.json
                usable.append((n, name))
            else:
                refused.append((n, name, problem))
    return usable, refused


def _order(found: tuple[int, str, tuple[str, str] | None]) -> tuple[bool, int, str]:
    return found[0] < 0, found[0], found[1]  # by number, the unnumbered last (by name)


def step_files(task: TaskDir) -> list[StepFile]:
    """The step files of ``task`` ordered by ``n``, the refused entries among them (``problem`` set).

    A task folder that cannot be listed is one refused entry for the folder; an empty one gives ``[]``.
    Files sharing a number are all refused.
    """
    try:
        usable, refused = _list_steps(task.path)
    except OSError as exc:
        why = f"cannot list the task folder ({os_reason(exc)})"
        return [StepFile(task.task_id, -1, task.path, (UNREADABLE, why))]
    usable.sort()
    found: list[tuple[int, str, tuple[str, str] | None]] = [(n, name, None) for n, name in usable]
    if dups := {a for (a, _), (b, _) in pairwise(usable) if a == b}:
        claims = {n: ", ".join(name for m, name in usable if m == n) for n in dups}
        why = "step {} is claimed by {}: all refused (which one is meant is unknown); keep one of them"
        found = [(n, name, (LAYOUT, why.format(n, claims[n])) if n in dups else None) for n, name in usable]
    if refused:
        found += refused
        found.sort(key=_order)
    folder = task.path + os.sep
    return [StepFile(task.task_id, n, folder + name, problem) for n, name, problem in found]


def iter_steps(root: str | os.PathLike[str]) -> Iterator[StepFile]:
    """Every usable step of the corpus in walk order: tasks numerically, then steps numerically."""
    for task in iter_tasks(root):
        yield from (s for s in step_files(task) if s.problem is None)
