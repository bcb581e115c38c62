"""How many worker processes a build may run, and how they die with the process that started them.

Asked for ``--workers 99999999``, a build used to fork until memory ran out: :func:`plan_workers`
caps the processes at the usable cores and the task folders, and says so in one log line. A worker
must never outlive the build: :func:`die_with_parent` (in the child) has the kernel kill it when the
main process dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``), and :func:`parent_gone` is the
fallback check elsewhere. :func:`signals_blocked` holds SIGINT and SIGTERM back across the fork, so a
child ignores them (they are the main process's to handle) before it can receive one.

>>> plan_workers(1, tasks=10)
1
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1  # linux/prctl.h: ask for a signal when the parent dies
HANDLED_BY_MAIN = (signal.SIGINT, signal.SIGTERM)  # the main process's to handle; children ignore them

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity (else the CPU count), lowered by a cgroup v2
    CPU quota (a container limited to 2 CPUs on a 64-core node sees 64 in its affinity)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):  # no cgroup v2 file, or "max": no quota
        pass
    return max(1, cores)


def plan_workers(requested: int, tasks: int) -> int:
    """How many processes convert, the main one included: ``requested``, but no more than the usable
    cores nor the task folders (a job is at least one task); one log line when that is fewer
    (a warning when the cores were exceeded, info when only the job is small)."""
    cores = usable_cores()
    n = max(1, min(requested, cores, tasks))
    if n < requested:
        level = logging.WARNING if requested > cores else logging.INFO
        folders = f"{tasks} task folder{'s' if tasks != 1 else ''}"
        log.log(level, "workers %d lowered to %d (%d usable cores, %s)", requested, n, cores, folders)
    return n


def expected_parent() -> int | None:
    """In the main process: the pid its children will see as their parent, None when they will not
    see it (forkserver: their parent is the server, which exits when the main process does)."""
    method = multiprocessing.get_start_method()
    return os.getpid() if method in ("fork", "spawn") else None


def parent_gone(parent: int | None) -> bool:
    """In a child: whether the main process ``parent`` died (the child was reparented)."""
    return parent is not None and os.getppid() != parent


def die_with_parent(parent: int | None) -> None:
    """In a child: be killed when its parent dies, even by SIGKILL (Linux); exit if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the parent_gone checks still apply
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable")
    if parent_gone(parent):  # it died before prctl took effect
        os._exit(0)


def ignore_main_signals() -> None:
    """In a child: ignore SIGINT and SIGTERM, then let them through (blocked across the fork)."""
    for sig in HANDLED_BY_MAIN:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_BY_MAIN)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM held back while forking (delivered after): a child ignores them first."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_BY_MAIN)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# Linux /proc views of a process tree, for the tests and bench/bench_build_workers.py that check the above.
def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of ``pid``, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    state, ppid = raw[raw.rindex(b")") + 2 :].split()[:2]
    return state.decode(), int(ppid)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, found by walking the ppid chains of /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) and st[0] != "Z":
            children.setdefault(st[1], []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            found.add(kid)
            todo.append(kid)
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids still running (a zombie has exited: only its exit status is left)."""
    return {p for p in pids if (st := _stat(p)) and st[0] != "Z"}
