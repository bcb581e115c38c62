"""Processes of ``gui-agent-rl build`` (issue 11, items 1-3): none runaway, none left behind.

1. Peak processes: ``build --workers 64 --image-check full`` on a synthetic corpus (1080x2400 JPEG
   screens, every pixel decoded, so the workers are busy), the build's process tree sampled from /proc
   every few ms. Target: peak <= usable cores + 1 (the build caps itself at the cores).
2. ``kill -9`` of the build's main process while its workers convert: every process of the tree
   (walked through /proc/*/stat ppid chains before the kill) gone within 2 s, and the caller's stderr
   pipe at EOF (nobody holds it open).
3. ``kill -TERM`` of the main process: exit 143, one line, the old output byte-identical, no temp
   file, no process left; then the temp files the ``kill -9`` run left are removed by the next build.

Linux only (/proc). Run: ``.venv/bin/python bench/bench_build_workers.py [--steps 800]``; ~40 s on
2 cores. Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gui_agent_rl.datagen.processes import alive, descendants, usable_cores
from gui_agent_rl.datagen.synth import synthesize_corpus

HERE = Path(__file__).resolve().parent
KILL_DEADLINE_S = 2.0


def _bench_build():
    """bench/build.py, for its corpus maker (template tasks replicated, images hard-linked)."""
    spec = importlib.util.spec_from_file_location("bench_build", HERE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_build(root: Path, out: Path, workers: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gui_agent_rl.cli", "build", str(root), "-o", str(out)]
    cmd += ["--workers", str(workers), "--image-check", "full"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def peak_processes(root: Path, out: Path, workers: int) -> tuple[int, float, str, int]:
    """(peak processes of the build's tree, seconds, stderr, exit code) of one full build."""
    proc, t0, peak = start_build(root, out, workers), time.perf_counter(), 0
    while proc.poll() is None:
        peak = max(peak, 1 + len(descendants(proc.pid)))
        time.sleep(0.002)
    _, err = proc.communicate()
    return peak, time.perf_counter() - t0, err.decode(), proc.returncode


def _running_tree(proc: subprocess.Popen, expected: int) -> set[int]:
    """Wait until the build runs ``expected`` processes, then half a second more (workers at work)."""
    deadline = time.monotonic() + 60
    while len(kids := descendants(proc.pid)) + 1 < expected:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the build never ran {expected} processes: {proc.communicate()[1].decode()}")
        time.sleep(0.005)
    time.sleep(0.5)
    return kids | descendants(proc.pid)


def kill_9(root: Path, out: Path, workers: int, expected: int) -> tuple[int, float, float]:
    """(processes killed, s until every one is gone, s until the caller's stderr is at EOF)."""
    proc = start_build(root, out, workers)
    tree = _running_tree(proc, expected)
    os.kill(proc.pid, signal.SIGKILL)
    t0 = time.perf_counter()
    while alive(tree) and time.perf_counter() - t0 < 30:
        time.sleep(0.001)
    gone = time.perf_counter() - t0 if not alive(tree) else float("inf")
    try:
        proc.communicate(timeout=30)
        eof = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        eof = float("inf")
    return len(tree) + 1, gone, eof


def sigterm(root: Path, out: Path, workers: int, expected: int) -> tuple[int, str, float, bool, list[str]]:
    """(exit code, stderr, s to exit, old output intact, files beside the output) after SIGTERM."""
    out.write_bytes(b"previous dataset\n")
    proc = start_build(root, out, workers)
    tree = _running_tree(proc, expected)
    os.kill(proc.pid, signal.SIGTERM)
    t0 = time.perf_counter()
    _, err = proc.communicate(timeout=60)
    took = time.perf_counter() - t0
    if alive(tree):
        raise SystemExit(f"SIGTERM left processes running: {sorted(alive(tree))}")
    intact = out.read_bytes() == b"previous dataset\n"
    return proc.returncode, err.decode(), took, intact, sorted(p.name for p in out.parent.iterdir())


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def check_peak(root: Path, out: Path, workers: int, cores: int) -> bool:
    peak, took, err, rc = peak_processes(root, out, workers)
    capped = [line for line in err.splitlines() if "lowered" in line]
    print(f"1. --workers {workers}: peak {peak} processes (target <= {cores + 1}), exit {rc}, {took:.1f} s")
    print(f"   {len(capped)} log line: {capped[0] if capped else '-'}")
    return rc == 0 and peak <= cores + 1 and len(capped) == (workers > cores)


def check_kill_9(root: Path, out: Path, workers: int, expected: int) -> bool:
    n, gone, eof = kill_9(root, out, workers, expected)
    print(f"2. kill -9 of the main process: {n} processes, all gone after {gone * 1000:.0f} ms,", end=" ")
    print(f"the caller's stderr at EOF after {eof * 1000:.0f} ms (target < {KILL_DEADLINE_S:.0f} s)")
    return max(gone, eof) <= KILL_DEADLINE_S


def check_sigterm(root: Path, out: Path, workers: int, expected: int) -> bool:
    rc, err, took, intact, files = sigterm(root, out, workers, expected)
    last = err.splitlines()[-1] if err else ""
    print(f"3. kill -TERM: exit {rc} after {took * 1000:.0f} ms, last line {last!r},", end=" ")
    own = [f for f in files if f.startswith(f".{out.stem}")]
    print(f"old output {'byte-identical' if intact else 'CHANGED'}, its temp files left: {len(own)}")
    return rc == 143 and last == "gui-agent-rl build: terminated" and intact and not own


def check_cleanup(root: Path, out: Path, workers: int) -> bool:
    """The next build of the output the kill -9 run left removes that run's temp files."""
    before = temp_files(out.parent)
    cmd = [sys.executable, "-m", "gui_agent_rl.cli", "build", str(root), "-o", str(out)]
    proc = subprocess.run([*cmd, "--workers", str(workers)], capture_output=True, text=True, check=False)
    after = temp_files(out.parent)
    print(f"   next build of the killed output: exit {proc.returncode},", end=" ")
    print(f"temp files {len(before)} -> {len(after)}")
    return proc.returncode == 0 and bool(before) and not after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=800, help="corpus size (default 800)")
    parser.add_argument("--workers", type=int, default=64, help="workers asked for (default 64)")
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        print("skipped: counts processes through /proc (Linux)")
        return 0
    cores = usable_cores()
    expected = min(args.workers, cores)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        work = Path(tmp)
        synthesize_corpus(work / "template", 12, 10, seed=0)
        steps = _bench_build().make_corpus(work / "corpus", args.steps, work / "template")
        root, out = work / "corpus", work / "out"
        out.mkdir()
        print(f"corpus: {steps} steps; {cores} usable cores (os.cpu_count() {os.cpu_count()})")
        results = {
            "peak processes": check_peak(root, out / "full.jsonl", args.workers, cores),
            "kill -9": check_kill_9(root, out / "killed.jsonl", args.workers, expected),
            "SIGTERM": check_sigterm(root, out / "termed.jsonl", args.workers, expected),
            "stale temp files": check_cleanup(root, out / "killed.jsonl", args.workers),
        }
    missed = [name for name, ok in results.items() if not ok]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
