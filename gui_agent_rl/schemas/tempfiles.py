"""Names of an atomic writer's temp files, and removal of those a dead process left behind.

A temp file is named ``.<output name>.<host>.<pid>.<random>.tmp`` beside its output, so a later write
of the same output can tell whose it is: one written on this host by a process that no longer runs
(killed by SIGKILL, out of memory, a power cut) is garbage; one whose process still runs, or that was
written on another host sharing the folder (NFS on a cluster), or under an older naming, is left alone.

>>> temp_prefix("out/data.jsonl", pid=42, host="node1")
'.data.jsonl.node1.42.'
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def _this_host() -> str:
    """This machine's name, reduced to characters that are safe and dot-free in a file name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:64] or "localhost"


def temp_prefix(output: str | os.PathLike[str], *, pid: int | None = None, host: str | None = None) -> str:
    """The prefix of a temp file for ``output`` written by ``pid`` (default: this process) on ``host``."""
    host = _this_host() if host is None else host
    return f".{Path(output).name}.{host}.{os.getpid() if pid is None else pid}."


def _pid_running(pid: int) -> bool:
    """Whether ``pid`` runs on this machine (another user's process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


def stale_temp_files(output: str | os.PathLike[str]) -> list[Path]:
    """Temp files of ``output`` written on this host by processes that are gone."""
    if os.name != "posix":  # os.kill(pid, 0) means something else on Windows
        return []
    out = Path(output)
    pattern = re.compile(re.escape(temp_prefix(out, pid=0)[:-2]) + r"(\d+)\.[^.]+" + re.escape(TEMP_SUFFIX))
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    stale = [(name, int(m[1])) for name in names if (m := pattern.fullmatch(name))]
    return [out.parent / name for name, pid in stale if not _pid_running(pid)]


def remove_stale_temp_files(output: str | os.PathLike[str]) -> list[Path]:
    """Remove :func:`stale_temp_files` of ``output``; the ones removed."""
    removed = []
    for path in stale_temp_files(output):
        try:
            path.unlink()
        except FileNotFoundError:  # another build cleaned it up first
            continue
        removed.append(path)
    return removed
