"""`build` and its processes: workers capped by cores and job, children die with the parent, SIGTERM
handled like SIGINT, temp files of a dead build removed by the next build of the same output."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui_agent_rl.datagen import build as build_module
from gui_agent_rl.datagen import processes
from gui_agent_rl.datagen import workers as workers_module
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.processes import alive, descendants

PROMPT = "前缀:请根据输入给出下一步动作。\n"
ROOT = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")
needs_proc = pytest.mark.skipif(not LINUX, reason="counts processes through /proc")
needs_children = pytest.mark.skipif(
    not LINUX or processes.usable_cores() < 2, reason="a build with children, seen through /proc"
)

# Runs the CLI with every step slowed down, and each process that converts a step leaves a file
# named by its pid in MARKERS: the test then knows the build is under way in the children too.
# SIGINT: a job a shell starts in the background (`pytest ... &`, nohup) inherits SIGINT ignored, and
# Python keeps an ignored SIGINT ignored; the driven build behaves as a terminal's foreground job would.
DRIVER = """
import os, signal, sys, time
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)
from gui_agent_rl.datagen import convert
markers, delay = Path(sys.argv[1]), float(sys.argv[2])
real = convert.StepConverter.convert
def slow(self, step):
    (markers / str(os.getpid())).touch()
    time.sleep(delay)
    return real(self, step)
convert.StepConverter.convert = slow
from gui_agent_rl.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _corpus(corpus, tasks: int = 40, steps: int = 3) -> Path:
    for task in range(1, tasks + 1):
        for n in range(steps):
            corpus.step(str(task), n)
    return corpus.root


def _start(tmp_path: Path, root: Path, *args: str, delay: float = 0.03, **kw) -> subprocess.Popen:
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    cmd = [sys.executable, "-c", DRIVER, str(markers), str(delay), "build", str(root), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw)


def _wait_for_children_at_work(
    tmp_path: Path, proc: subprocess.Popen, timeout: float = 60, *, main: bool = False
) -> set[int]:
    """Wait until a child of ``proc`` (``main``: ``proc`` itself) converts steps; its descendants then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {int(p.name) for p in (tmp_path / "markers").iterdir()}
        kids = descendants(proc.pid)
        if started & (kids | {proc.pid} if main else kids):
            return kids
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no child process started converting")


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class TestWorkerCap:
    class _NoPool:
        """Stands in for WorkerPool: records how many children were asked for, forks nothing."""

        asked: list[int]

        def __init__(self, options, children: int) -> None:
            self.asked.append(children)
            raise RuntimeError("stop here")

    @pytest.fixture
    def asked(self, monkeypatch) -> list[int]:
        asked: list[int] = []
        monkeypatch.setattr(self._NoPool, "asked", asked, raising=False)
        monkeypatch.setattr(build_module, "WorkerPool", self._NoPool)
        return asked

    def test_a_huge_worker_count_is_capped_by_the_cores_and_said_once(
        self, corpus, tmp_path, asked, monkeypatch, caplog
    ):
        monkeypatch.setattr(processes, "usable_cores", lambda: 3)
        root = _corpus(corpus, tasks=10, steps=1)
        with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="stop here"):
            build_dataset(root, tmp_path / "out.jsonl", prompt=PROMPT, workers=99_999_999)
        assert asked == [2]  # 3 processes: this one and 2 children
        lines = [r for r in caplog.records if "99999999" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.WARNING
        assert "3 usable cores" in lines[0].getMessage()

    def test_no_more_processes_than_task_folders(self, corpus, tmp_path, asked, monkeypatch, caplog):
        monkeypatch.setattr(processes, "usable_cores", lambda: 64)
        root = _corpus(corpus, tasks=3, steps=1)
        with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="stop here"):
            build_dataset(root, tmp_path / "out.jsonl", prompt=PROMPT, workers=16)
        assert asked == [2]
        assert [r.getMessage() for r in caplog.records if "16" in r.getMessage()] == [
            "workers 16 lowered to 3 (64 usable cores, 3 task folders)"
        ]

    def test_a_request_within_bounds_is_kept_silently(self, corpus, tmp_path, asked, monkeypatch, caplog):
        monkeypatch.setattr(processes, "usable_cores", lambda: 4)
        root = _corpus(corpus, tasks=10, steps=1)
        with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="stop here"):
            build_dataset(root, tmp_path / "out.jsonl", prompt=PROMPT, workers=4)
        assert asked == [3] and not [r for r in caplog.records if "lowered" in r.getMessage()]

    def test_usable_cores_follows_the_affinity_mask(self):
        cores = processes.usable_cores()
        expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        assert 1 <= cores <= expected

    @needs_proc
    def test_peak_processes_stay_within_the_cores(self, corpus, tmp_path):
        cores = processes.usable_cores()
        root = _corpus(corpus, tasks=40, steps=2)
        proc = _start(tmp_path, root, "-o", str(tmp_path / "out.jsonl"), "--workers", str(cores + 4))
        peak = 0
        while proc.poll() is None:
            peak = max(peak, 1 + len(descendants(proc.pid)))
            time.sleep(0.005)
        _, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert 1 < peak <= cores + 1 if cores > 1 else peak == 1
        assert err.decode().count(f"workers {cores + 4} lowered to {cores}") == 1


@needs_children
class TestChildrenDieWithTheParent:
    def test_kill_9_of_the_parent_leaves_no_process_and_closes_stderr(self, corpus, tmp_path):
        root = _corpus(corpus)
        proc = _start(tmp_path, root, "-o", str(tmp_path / "out.jsonl"), "--workers", "2")
        kids = _wait_for_children_at_work(tmp_path, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 2
        while alive(kids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not alive(kids), f"left behind: {alive(kids)}"
        proc.communicate(timeout=5)  # nobody holds the caller's pipes any more: EOF

    def test_a_child_closes_the_pipe_ends_it_inherited(self, tmp_path):
        from gui_agent_rl.datagen.convert import ConvertOptions

        (tmp_path / "1").mkdir()
        with workers_module.WorkerPool(ConvertOptions(str(tmp_path)), children=2) as pool:
            ours = {os.readlink(f"/proc/self/fd/{c.fileno()}") for c in pool.conns}
            for k, proc in enumerate(pool.procs):
                pool.submit(k, [])  # an empty job: once it is back, the child is up and running
                assert pool.receive(k) == []
                theirs = {
                    os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")
                }
                assert not ours & theirs  # a child holding a main-process end would never see EOF


@needs_children
class TestSignals:
    @pytest.mark.parametrize(
        ("sig", "group", "code", "word"),
        [
            (signal.SIGINT, False, 130, "interrupted"),
            (signal.SIGTERM, False, 143, "terminated"),  # Kubernetes: the main process only
            (signal.SIGTERM, True, 143, "terminated"),  # timeout(1), Slurm: every process
        ],
        ids=["int", "term", "term-group"],
    )
    def test_a_signal_keeps_the_old_output_says_one_line_and_leaves_nothing(
        self, corpus, tmp_path, sig, group, code, word
    ):
        root = _corpus(corpus)
        out = tmp_path / "out" / "data.jsonl"
        out.parent.mkdir()
        out.write_bytes(b"previous dataset\n")
        proc = _start(tmp_path, root, "-o", str(out), "--workers", "2", start_new_session=True)
        kids = _wait_for_children_at_work(tmp_path, proc)
        if group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=30)
        assert (proc.returncode, err.decode()) == (code, f"gui-agent-rl build: {word}\n")
        assert out.read_bytes() == b"previous dataset\n"
        assert sorted(p.name for p in out.parent.iterdir()) == ["data.jsonl"]
        assert not alive(kids)

    def test_stale_temp_files_of_a_killed_build_are_removed_by_the_next_build(self, corpus, tmp_path):
        root = _corpus(corpus, tasks=20)
        out = tmp_path / "out" / "data.jsonl"
        out.parent.mkdir()
        proc = _start(tmp_path, root, "-o", str(out), "--val-fraction", "0.2")
        _wait_for_children_at_work(tmp_path, proc, main=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        assert len(_temp_files(out.parent)) == 3  # data, its report, its validation file
        build_dataset(root, out, prompt=PROMPT, val_fraction=0.2)
        assert _temp_files(out.parent) == []
        assert sorted(p.name for p in out.parent.iterdir()) == [
            "data.jsonl",
            "data.report.jsonl",
            "data.val.jsonl",
        ]


class TestStaleTempFiles:
    def _dead_pid(self) -> int:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        return proc.pid

    def test_only_temp_files_of_this_output_whose_process_is_gone_are_removed(self, corpus, tmp_path):
        from gui_agent_rl.schemas.tempfiles import temp_prefix

        root = _corpus(corpus, tasks=2, steps=1)
        out = tmp_path / "data.jsonl"
        dead, live = self._dead_pid(), os.getpid()
        prefix = temp_prefix(out, pid=dead)
        stale = tmp_path / f"{prefix}abc_1234.tmp"
        running = tmp_path / f"{temp_prefix(out, pid=live)}abc_1234.tmp"
        other_output = tmp_path / f"{temp_prefix(tmp_path / 'other.jsonl', pid=dead)}abc_1234.tmp"
        other_host = tmp_path / f"{prefix.replace(f'.{dead}.', f'-elsewhere.{dead}.')}abc_1234.tmp"
        unknown = tmp_path / ".data.jsonl.abc_1234.tmp"  # an older version's name: whose, unknown
        for path in (stale, running, other_output, other_host, unknown):
            path.write_bytes(b"partial")
        build_dataset(root, out, prompt=PROMPT)
        assert not stale.exists()
        assert running.exists() and other_output.exists() and other_host.exists() and unknown.exists()
