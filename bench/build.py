"""Dataset builder throughput and memory (issue 3).

1. Throughput: a corpus of >= 5,000 steps (synthetic 1080x2400 screens, replicated by hard links so
   every step still has its own image files), built by a naive single-process builder like the seed's
   script (json.load / json.dumps per step, no validation, no image checks) and by ours with all
   validation and image checks on, with 1 and with 2 worker processes (``--workers 2``: the main
   process and one child convert, the main process writes). The three take turns, five rounds; best
   run of each, and the range of the per-round ratio. Target: ours >= 2x the naive builder's steps/s.
2. Memory: peak RSS of building N and 10N steps, each in a fresh subprocess (ru_maxrss of the main
   process and of its child process). Target: 10N raises peak RSS by < 20%.

Run: ``.venv/bin/python bench/build.py [--steps 5000] [--factor 10] [--rounds 5]``; ~30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
from gui_agent_rl.datagen.synth import synthesize_corpus

TEMPLATE_TASKS, STEPS_PER_TASK = 12, 10


def make_corpus(root: Path, steps: int, template: Path) -> int:
    """``steps`` steps (whole tasks): template tasks copied under new ids, their images hard-linked."""
    templates = sorted((p for p in template.iterdir() if p.is_dir()), key=lambda p: int(p.name))
    root.mkdir(parents=True)
    made = 0
    task_id = 100000
    while made < steps:
        src = templates[task_id % len(templates)]
        dst = root / str(task_id)
        dst.mkdir()
        for f in src.iterdir():
            if f.suffix == ".json":
                record = json.loads(f.read_text("utf-8"))
                for key in ("screen_path1", "screen_path2"):
                    if record["input"][key]:
                        record["input"][key] = f"{task_id}_{record['input'][key].split('_', 1)[1]}"
                (dst / f.name).write_text(json.dumps(record, ensure_ascii=False, indent=2), "utf-8")
                made += 1
            else:
                os.link(f, dst / f"{task_id}_{f.name.split('_', 1)[1]}")
        task_id += 1
    return made


def naive_build(root: str, output: str, prefix: str) -> int:
    """The seed's builder, ported as is: no validation, no image checks, stops on the first bad file."""
    tasks = sorted(
        (d for d in os.listdir(root) if d.isdigit() and os.path.isdir(os.path.join(root, d))), key=int
    )
    sample_id = 1
    with open(output, "w", encoding="utf-8") as out:
        for task in tasks:
            folder = os.path.join(root, task)
            names = [f for f in os.listdir(folder) if f.startswith("step_") and f.endswith(".json")]
            for name in sorted(names, key=lambda x: int(x.split("_")[1].split(".")[0])):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    data = json.load(f)
                inp, outp = data["input"], data["output"]
                images = [os.path.join(task, inp[k]) for k in ("screen_path1", "screen_path2") if inp.get(k)]
                conversations = [
                    {"from": "human", "value": prefix + json.dumps(inp, ensure_ascii=False)},
                    {"from": "gpt", "value": json.dumps(outp, ensure_ascii=False)},
                ]
                sample = {"id": sample_id, "image": images, "conversations": conversations}
                out.write(json.dumps(sample, ensure_ascii=False) + "\n")
                sample_id += 1
    return sample_id - 1


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def timed(fn) -> tuple[float, float, float]:
    """``(wall, main CPU, child CPU)`` seconds of one run."""
    (m0, k0), t = _cpu(), time.perf_counter()
    fn()
    wall, (m1, k1) = time.perf_counter() - t, _cpu()
    return wall, m1 - m0, k1 - k0


def run_rounds(root: Path, out: Path, steps: int, rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    """The naive builder and ours with 1 and 2 workers take turns, ``rounds`` times, so a change in
    the machine's load (other jobs on a shared box) hits them alike."""
    prompt = load_prompt()
    naive_build(str(root), str(out), prompt)  # warm the page cache for everyone
    for workers in (1, 2):
        summary = build_dataset(root, out, prompt=prompt, workers=workers)
        if summary.kept != steps:
            raise SystemExit(f"expected {steps} kept, got {summary.kept}: {dict(summary.rejected)}")
    runs: dict[str, list[tuple[float, float, float]]] = {"naive": [], "1": [], "2": []}
    for _ in range(rounds):
        runs["naive"].append(timed(lambda: naive_build(str(root), str(out), prompt)))
        for w in (1, 2):
            runs[str(w)].append(timed(lambda w=w: build_dataset(root, out, prompt=prompt, workers=w)))
    return runs


def throughput(root: Path, work: Path, steps: int, rounds: int) -> None:
    """Best run of each (steps/s, CPU per step), and the range of the per-round ratio ours / naive."""
    runs = run_rounds(root, work / "out.jsonl", steps, rounds)
    us = 1e6 / steps
    naive, naive_cpu, _ = min(runs["naive"])
    print(f"naive builder, no checks, 1 process: {steps / naive:8,.0f} steps/s", end="")
    print(f"   CPU {naive_cpu * us:5.1f} us/step")
    for workers in ("1", "2"):
        wall, main_cpu, kids_cpu = min(runs[workers])
        ratios = sorted(n[0] / o[0] for n, o in zip(runs["naive"], runs[workers], strict=True))
        split = f" (main {main_cpu * us:4.1f} + child {kids_cpu * us:4.1f})" if workers == "2" else ""
        cpu = (main_cpu + kids_cpu) * us
        print(f"ours, all checks, {workers} worker(s):    {steps / wall:8,.0f} steps/s", end="")
        print(f" = {naive / wall:.2f}x naive (rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x)", end="")
        print(f"   CPU {cpu:5.1f} us/step{split}")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, best of {rounds} rounds)")


# ru_maxrss survives exec (a child starts with its parent's peak), so the main process reads VmHWM,
# which a fresh exec resets; the workers' figure is ru_maxrss of the largest forked worker.
_MEASURE = """
import resource, sys
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
s = build_dataset(sys.argv[1], sys.argv[2], prompt=load_prompt(), workers=int(sys.argv[3]))
try:
    with open("/proc/self/status") as f:
        me = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except OSError:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(s.kept, me, kids)
"""


def peak_rss(root: Path, out: Path, workers: int) -> tuple[int, int, int]:
    """``(kept, main process peak KiB, largest worker peak KiB)`` of one build in a fresh interpreter."""
    res = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(root), str(out), str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    kept, me, kids = res.stdout.split()
    return int(kept), int(me), int(kids)


def memory(small: Path, work: Path, steps: int, factor: int) -> None:
    big = work / "big"
    t = time.perf_counter()
    big_steps = make_corpus(big, steps * factor, work / "template")
    print(f"memory corpus: {big_steps} steps made in {time.perf_counter() - t:.1f} s")
    for workers in (1, 2):
        n1, main1, kid1 = peak_rss(small, work / "m1.jsonl", workers)
        n2, main2, kid2 = peak_rss(big, work / "m2.jsonl", workers)
        line = f"peak RSS, {workers} worker(s): {n1} steps {main1 / 1024:.0f} MiB, "
        line += f"{n2} steps {main2 / 1024:.0f} MiB -> {main2 / main1:.3f}x"
        if workers > 1:
            line += f"; child {kid1 / 1024:.0f} -> {kid2 / 1024:.0f} MiB ({kid2 / kid1:.3f}x)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="throughput corpus size (default 5000)")
    parser.add_argument("--factor", type=int, default=10, help="memory: N vs factor*N steps (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="throughput runs of each builder (default 5)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        synthesize_corpus(work / "template", TEMPLATE_TASKS, STEPS_PER_TASK, seed=0)
        steps = make_corpus(work / "corpus", args.steps, work / "template")
        print(f"corpus: {steps} steps, 1080x2400 JPEG screens, made in {time.perf_counter() - t:.1f} s")
        throughput(work / "corpus", work, steps, args.rounds)
        if not args.no_memory:
            memory(work / "corpus", work, steps, args.factor)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
