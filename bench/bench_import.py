"""``gui-agent-rl import androidcontrol`` speed and memory (issue 12): steps/s and peak RSS for N and
4N synthetic episodes. Target: peak memory flat as the input grows (4N within 1.25x of N + 16 MiB),
since records are streamed and at most a few episodes are in flight.

Episodes are AndroidControl ``tf.train.Example`` records in one GZIP TFRecord file, written here from
the documented format: ``--steps`` actions each (click, scroll, type, ...), 270x600 noise PNG
screenshots (~160 kB each, incompressible: a real screen's ~1 MB PNG scaled down) and an
accessibility forest of 60 leaves per screen. Each import runs in a fresh process, which reports its
own peak RSS (``ru_maxrss``).

Run: ``.venv/bin/python bench/bench_import.py [--episodes 100] [--steps 6] [--workers 1]``. Exit code 1
when memory is not flat.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gui_agent_rl.importers.a11y import encode_forest
from gui_agent_rl.importers.example import encode_example
from gui_agent_rl.importers.tfrecord import encode_record

W, H = 270, 600
ACTIONS = [
    {"action_type": "click", "x": 100, "y": 200},
    {"action_type": "scroll", "direction": "down"},
    {"action_type": "type", "x": 50, "y": 80, "text": "alarm"},
    {"action_type": "long_press", "x": 30, "y": 30},
    {"action_type": "navigate_back"},
    {"action_type": "open_app", "app_name": "Clock"},
]
CHILD = """
import resource, sys, time
from pathlib import Path
from gui_agent_rl.importers import import_corpus
start = time.perf_counter()
s = import_corpus("androidcontrol", Path(sys.argv[1]), Path(sys.argv[2]), workers=int(sys.argv[3]))
took = time.perf_counter() - start
print(s.steps_written, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _noise_png(rng: random.Random) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("L", (W, H), rng.randbytes(W * H)).save(buf, format="PNG")
    return buf.getvalue()


def _forest(rng: random.Random) -> bytes:
    leaves = []
    for i in range(60):
        x, y = rng.randrange(0, W - 40), rng.randrange(0, H - 40)
        leaves.append(
            {"id": i + 1, "box": (x, y, x + rng.randrange(5, 40), y + rng.randrange(5, 40)), "visible": True}
        )
    root = {"id": 0, "box": (0, 0, W, H), "children": [n["id"] for n in leaves], "visible": True}
    return encode_forest([[root, *leaves]])


def write_source(path: Path, episodes: int, steps: int, seed: int = 0) -> int:
    """A GZIP TFRecord of synthetic episodes, written one record at a time; returns its size."""
    import gzip

    rng = random.Random(seed)
    shots = [_noise_png(rng) for _ in range(4)]
    forests = [_forest(rng) for _ in range(4)]
    with gzip.open(path, "wb", compresslevel=1) as out:
        for e in range(episodes):
            actions = [ACTIONS[(e + k) % len(ACTIONS)] for k in range(steps)]
            record = encode_example(
                {
                    "episode_id": [1000 + e],
                    "goal": [b"set an alarm for 7am"],
                    "screenshots": [shots[(e + k) % 4] for k in range(steps + 1)],
                    "screenshot_widths": [W] * (steps + 1),
                    "screenshot_heights": [H] * (steps + 1),
                    "accessibility_trees": [forests[(e + k) % 4] for k in range(steps + 1)],
                    "actions": [json.dumps(a).encode() for a in actions],
                    "step_instructions": [b"do the next thing"] * steps,
                }
            )
            out.write(encode_record(record))
    return path.stat().st_size


def run(source: Path, root: Path, workers: int) -> tuple[int, float, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(root), str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    steps, took, rss = done.stdout.split()
    return int(steps), float(took), int(rss)  # ru_maxrss: KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="N (default 100)")
    parser.add_argument("--steps", type=int, default=6, help="actions per episode (default 6)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.episodes, 4 * args.episodes):
            source = Path(tmp) / f"ac-{n}.tfrecord.gz"
            size = write_source(source, n, args.steps)
            steps, took, rss = run(source, Path(tmp) / f"out-{n}", args.workers)
            peaks.append(rss)
            print(
                f"{n:5d} episodes ({size / 2**20:6.1f} MiB gz): {steps} steps in {took:6.2f} s = "
                f"{steps / took:7.1f} steps/s, peak RSS {rss / 1024:6.1f} MiB"
            )
    ratio = peaks[1] / peaks[0]
    flat = peaks[1] <= peaks[0] * 1.25 + 16 * 1024
    print(f"peak RSS 4N / N = {ratio:.2f} ({'flat' if flat else 'NOT FLAT'})")
    return 0 if flat else 1


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"bench took {time.perf_counter() - start:.1f} s")
    sys.exit(code)
