"""A small scored corpus for the report tests: synthetic phone tasks, predictions right and wrong."""

from __future__ import annotations

import json
from pathlib import Path

from gui_agent_rl.cli import main as cli

BACK = '{"action_type": "back", "action_parameter": {"back": ""}}'
HOSTILE = '<img src=x onerror="document.title=1"><script>alert(1)</script>'


def completion(solution: str, wrong: bool) -> str:
    """The right answer, or a wrong one: a click far off for a truth click, else a back (or a wait)."""
    truth = json.loads(solution)
    if not wrong:
        return f"<answer>{solution}</answer>"
    if truth["action_type"] == "click":
        wire = {"action_type": "click", "action_parameter": {"click": "20,20,60,50"}}
        return f"<answer>{json.dumps(wire)}</answer>"
    if truth["action_type"] == "back":
        return '<answer>{"action_type": "wait", "action_parameter": {"wait": ""}}</answer>'
    return f"<answer>{BACK}</answer>"


def write_predictions(
    dataset: Path, out: Path, wrong_every: int, offset: int, miss_clicks: bool = False
) -> list[int | str]:
    """Predictions for every sample (wrong for every ``wrong_every``-th from ``offset``, and for every
    click with ``miss_clicks``; the first wrong one a hostile non-answer); returns the ids predicted wrong."""
    lines, wrong_ids = [], []
    for n, line in enumerate(dataset.read_text(encoding="utf-8").splitlines()):
        sample = json.loads(line)
        truth = sample["conversations"][1]["value"]
        wrong = n % wrong_every == offset or (miss_clicks and '"click"' in truth and bool(wrong_ids))
        text = completion(truth, wrong)
        if wrong and not wrong_ids:
            text = HOSTILE  # model output is shown as text, never run
        if wrong:
            wrong_ids.append(sample["id"])
        lines.append(json.dumps({"id": sample["id"], "completion": text}, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return wrong_ids


def make_corpus(root: Path, tasks: int = 8, steps: int = 4) -> dict[str, Path]:
    """synth (phone screens 270x600) -> build -> two predictions files; the paths by name."""
    corpus, data = root / "corpus", root / "data.jsonl"
    assert cli(["synth", str(corpus), "--tasks", str(tasks), "--steps", str(steps), "--size", "270x600"]) == 0
    assert cli(["build", str(corpus), "--output", str(data)]) == 0
    pred, other = root / "pred.jsonl", root / "other.jsonl"
    write_predictions(data, pred, 3, 1, miss_clicks=True)
    write_predictions(data, other, 4, 0)
    return {"corpus": corpus, "data": data, "pred": pred, "other": other}


def read_data_js(folder: Path) -> dict:
    """The object a report's data.js gives the page."""
    text = (folder / "data.js").read_text(encoding="utf-8")
    prefix = "window.REPORT_DATA = "
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix) : -2])
