"""Prompt-budget check over every record vs the old check of the first 2,000 records (issue 10, item 9).

The case: 30,000 samples as the builder writes them (the default prompt, two 1080x2400 screens each,
``image_sizes`` recorded), checked with the 7B recipe's limits (``max_pixels`` 1003520,
``max_prompt_length`` 8192) and the offline tiny Qwen2 tokenizer (byte-level BPE, 1,000 merges: more
tokens per character, hence slower, than Qwen's real one). 1% of the samples carry a long action history
(near the budget, under it) and three carry a very long one (over it), at positions 500, 12,345 and
29,999. The baseline is the old check as it was: one tokenizer call on the first 2,000 texts, image
tokens per image. Both take turns, best of ``--rounds``; the ratio is full-check time / baseline time.

Run: ``.venv/bin/python bench/bench_prompt_budget.py [--samples 30000] [--rounds 3] [--exact-all]``;
~40 s on 2 busy cores (``--exact-all`` also times tokenizing all texts, the check without its bound:
minutes).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
from gui_agent_rl.datagen.synth import synthesize_corpus
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER
from gui_agent_rl.schemas.geometry import visual_tokens
from gui_agent_rl.train.budget import check_prompt_budget, prompt_token_counts, warn_over_budget
from gui_agent_rl.train.data import load_records, pair_sources
from gui_agent_rl.train.tiny import train_tokenizer

MIN_PIXELS, MAX_PIXELS, BUDGET = 3136, 1003520, 8192  # recipes/qwen2.5-vl-7b-grpo.yaml
OLD_LIMIT = 2000
OVER_AT = (500, 12345, 29999)
HISTORY_EVERY = 100


def old_check(records: list[dict], tokenizer: Callable, min_pixels: int, max_pixels: int) -> int:
    """The check before issue 10 (``prompt_token_counts(limit=2000)`` + ``warn_over_budget``), verbatim."""
    chosen = list(records[:OLD_LIMIT])
    texts = [r["human"].replace(IMAGE_PLACEHOLDER, "") for r in chosen]
    text_tokens = [len(ids) for ids in tokenizer(texts)["input_ids"]] if texts else []
    counts = []
    for r, n_text in zip(chosen, text_tokens, strict=True):
        n_image = sum(visual_tokens(w, h, min_pixels, max_pixels) + 2 for w, h in r["image_sizes"])
        counts.append((r["id"], n_text + n_image + 20))
    return warn_over_budget(counts, BUDGET)


def history(steps: int) -> str:
    action = {"action_type": "click", "action_parameter": {"click": "120,860,960,1010"}}
    action["action_description"] = "点击搜索框并输入要查找的联系人名字"
    return "\n历史操作:" + "".join(json.dumps(action, ensure_ascii=False) for _ in range(steps))


def make_records(work: Path, n: int) -> list[dict]:
    """``n`` records replicated from a built synthetic corpus: two screens each, long histories as above."""
    synthesize_corpus(work / "corpus", 4, 6, seed=0)
    build_dataset(work / "corpus", work / "d.jsonl", prompt=load_prompt())
    built = [
        r
        for r in load_records(pair_sources([work / "d.jsonl"], [work / "corpus"]))
        if len(r["image_paths"]) == 2
    ]
    near, over = history(20), history(60)
    records = []
    for i in range(n):
        r = dict(built[i % len(built)], id=f"s{i}")
        if i in OVER_AT:
            r["human"] += over
        elif i % HISTORY_EVERY == HISTORY_EVERY - 1:
            r["human"] += near
        records.append(r)
    return records


def timed(fn: Callable[[], int], runs: list[float]) -> int:
    """Run ``fn``, append its wall time to ``runs``, return its result."""
    start = time.perf_counter()
    found = fn()
    runs.append(time.perf_counter() - start)
    return found


def compare(records: list[dict], rounds: int) -> float:
    """Old and full check take turns ``rounds`` times; prints best times and ratio, returns the baseline."""
    tokenizer = train_tokenizer()
    seen = {"texts": 0}

    def counting(texts: list[str]):
        seen["texts"] += len(texts)
        return tokenizer(texts)

    old_runs: list[float] = []
    new_runs: list[float] = []
    for _ in range(rounds):
        old_found = timed(lambda: old_check(records, tokenizer, MIN_PIXELS, MAX_PIXELS), old_runs)
        seen["texts"] = 0
        new_found = timed(
            lambda: check_prompt_budget(records, counting, MIN_PIXELS, MAX_PIXELS, BUDGET), new_runs
        )
    old, new, n = min(old_runs), min(new_runs), len(records)
    print(f"{n} samples, 2 screens of 1080x2400 each, max_pixels {MAX_PIXELS}, budget {BUDGET} tokens")
    print(f"old check, first {OLD_LIMIT} records (baseline): {old:6.2f} s, {old_found} over budget found")
    print(f"full check, all {n} records:          {new:6.2f} s, {new_found} over budget found", end="")
    print(f" ({seen['texts']} texts tokenized)")
    print(f"ratio full / baseline: {new / old:.2f}x the time for {n / OLD_LIMIT:.0f}x the records", end="")
    print(f" ({old / OLD_LIMIT * 1e6:.0f} vs {new / n * 1e6:.0f} us per record)")
    return old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=30000, help="records to check (default 30000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each check (default 3)")
    parser.add_argument("--exact-all", action="store_true", help="also time tokenizing every text")
    args = parser.parse_args()
    logging.getLogger("gui_agent_rl").setLevel(logging.ERROR)  # the checks' own warnings
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
        records = make_records(Path(tmp), args.samples)
    old = compare(records, args.rounds)
    if args.exact_all:
        start = time.perf_counter()
        exact = prompt_token_counts(records, train_tokenizer(), MIN_PIXELS, MAX_PIXELS)
        took = time.perf_counter() - start
        print(f"every text tokenized (no bound): {took:6.2f} s = {took / old:.2f}x baseline, ", end="")
        print(f"{warn_over_budget(exact, BUDGET)} over budget found")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, best of {args.rounds})")


if __name__ == "__main__":
    main()
