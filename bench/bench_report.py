"""How `gui-agent-rl report` scales: time per sample for N and 4N samples, and the page's size.

A synthetic set: tasks of 4 steps, every step its own screen (270x600 JPEG: a list and a button),
two images per step after the first, a think-form completion of ~300 characters per sample, a third
of them wrong (a click off the box). Prints, for N and 4N: seconds in all and per sample (scoring +
thumbnails + page), the page's size (index.html, report.js, report.css, data.js: what the browser
loads before any thumbnail) per sample and in all, and the thumbnails' size. Linear means the time
per sample stays flat from N to 4N. Default N = 2500, so 4N is the 10,000 samples the notes quote.

    python bench/bench_report.py [--n 2500] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from gui_agent_rl.cli import main as cli

W, H = 270, 600
BOX = (40, 500, 230, 540)
THINK = {
    "Observation": "The screen lists settings; a button sits at the bottom.",
    "Thought": "The task asks to confirm, so the bottom button is next.",
    "Action": "Tap the confirm button.",
    "Expectation": "The settings are saved and the list closes.",
}


def screen(path: Path, n: int) -> None:
    image = Image.new("RGB", (W, H), (240, 240, 245))
    draw = ImageDraw.Draw(image)
    for row in range(8):
        y = 60 + row * 50
        draw.rectangle((16, y, 254, y + 36), fill=(255, 255, 255), outline=(200, 200, 210))
        draw.text((24, y + 10), f"item {n}-{row}", fill=(40, 40, 40))
    draw.rectangle(BOX, fill=(60, 120, 220))
    image.save(path, "JPEG", quality=70)


def sample(i: int, task: int, step: int) -> dict:
    click = {
        "action_type": "click",
        "action_parameter": {"click": ",".join(map(str, BOX))},
        "action_description": "确认",
    }
    images = [f"{task}/{step - 1}.jpg", f"{task}/{step}.jpg"] if step else [f"{task}/{step}.jpg"]
    prompt = "<image>" * len(images) + f'\nInput: {{"task_content": "打开设置并确认第 {task} 项"}}'
    return {
        "id": i,
        "image": images,
        "image_sizes": [[W, H]] * len(images),
        "conversations": [
            {"from": "human", "value": prompt},
            {"from": "gpt", "value": json.dumps(click, ensure_ascii=False)},
        ],
        "task_id": str(task),
        "step": step,
    }


def completion(i: int) -> str:
    box = BOX if i % 3 else (10, 10, 50, 40)  # every third misses
    click = {"action_type": "click", "action_parameter": {"click": ",".join(map(str, box))}}
    return f"<think>{json.dumps(THINK)}</think>\n<answer>{json.dumps(click)}</answer>"


def make_set(root: Path, n: int) -> tuple[Path, Path, Path]:
    corpus, data, pred = root / "corpus", root / "data.jsonl", root / "pred.jsonl"
    lines, preds = [], []
    for i in range(n):
        task, step = divmod(i, 4)
        (corpus / str(task)).mkdir(parents=True, exist_ok=True)
        screen(corpus / str(task) / f"{step}.jpg", i)
        lines.append(json.dumps(sample(i, task, step), ensure_ascii=False))
        preds.append(
            json.dumps({"id": i, "completion": completion(i), "min_pixels": 3136, "max_pixels": W * H})
        )
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pred.write_text("\n".join(preds) + "\n", encoding="utf-8")
    return corpus, data, pred


def measure(root: Path, n: int, workers: int) -> dict:
    corpus, data, pred = make_set(root, n)
    out = root / "report"
    start = time.perf_counter()
    args = ["report", "--dataset", str(data), "--predictions", str(pred), "--image-folder", str(corpus),
            "--frame", "original", "--workers", str(workers), "--output", str(out)]  # fmt: skip
    assert cli(args) == 0
    seconds = time.perf_counter() - start
    page = sum((out / f).stat().st_size for f in ("index.html", "report.js", "report.css", "data.js"))
    thumbs = sum(p.stat().st_size for d in ("t", "p") for p in (out / d).iterdir())
    return {"n": n, "seconds": seconds, "page": page, "thumbs": thumbs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for n in (args.n, 4 * args.n):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(Path(tmp), n, args.workers))
    head = ("samples", "seconds", "ms/sample", "page MB", "page B/sample", "thumbs MB")
    print(" ".join(f"{h:>13}" for h in head))
    for r in rows:
        n, s = r["n"], r["seconds"]
        cells = (n, f"{s:.1f}", f"{1000 * s / n:.2f}", f"{r['page'] / 1e6:.2f}", f"{r['page'] / n:.0f}")
        print(" ".join(f"{c:>13}" for c in (*cells, f"{r['thumbs'] / 1e6:.1f}")))
    ratio = (rows[1]["seconds"] / rows[1]["n"]) / (rows[0]["seconds"] / rows[0]["n"])
    print(f"time per sample at 4N / at N: {ratio:.2f} (1.00 = linear); workers {args.workers}")


if __name__ == "__main__":
    main()
