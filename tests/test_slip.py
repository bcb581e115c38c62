"""The imperfect demonstrator of ``make learn``: which answers slip, how often, and what stays intact."""

from __future__ import annotations

import json

import pytest

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import read_prompt_file
from gui_agent_rl.datagen.slip import Slip, parse_slip, slip_demonstrations
from gui_agent_rl.datagen.synth_tasks import PROMPT_FILE, synthesize_text_corpus
from gui_agent_rl.schemas import JsonlError, parse_action


def gold(line: str) -> dict:
    return json.loads(json.loads(line)["conversations"][-1]["value"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    synthesize_text_corpus(root, tasks=60, steps=4, seed=1)
    out = root.parent / "data.jsonl"
    build_dataset(root, out, prompt=read_prompt_file(root / PROMPT_FILE))
    return out


def test_parse_slip_reads_the_three_parts():
    assert parse_slip("wait=back:0.6") == Slip("wait", "back", 0.6)
    assert parse_slip("task_impossible=task_completed:1") == Slip("task_impossible", "task_completed", 1.0)
    assert str(parse_slip("wait=home:0.25")) == "wait=home:0.25"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wait=back", "is not SOURCE=TARGET:RATE"),
        ("wait:0.5", "is not SOURCE=TARGET:RATE"),
        ("=back:0.5", "is not SOURCE=TARGET:RATE"),
        ("wiat=back:0.5", "slip action 'wiat' is unknown"),
        ("wait=bak:0.5", "slip action 'bak' is unknown"),
        ("wait=wait:0.5", "changes nothing"),
        ("wait=back:lots", "is not a number"),
        ("wait=back:0", "outside (0, 1]"),
        ("wait=back:1.5", "outside (0, 1]"),
        ("wait=back:nan", "outside (0, 1]"),
        ("wait=click:0.5", "needs a parameter"),
        ("back=type:0.5", "needs a parameter"),
    ],
)
def test_parse_slip_names_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_slip(text)


def test_slip_changes_only_source_answers_at_about_the_rate(built, tmp_path):
    out = tmp_path / "sft.jsonl"
    slipped, eligible = slip_demonstrations(built, out, Slip("wait", "back", 0.6), seed=3)
    before, after = built.read_text().splitlines(), out.read_text().splitlines()
    assert len(before) == len(after) and eligible == sum(gold(x)["action_type"] == "wait" for x in before)
    assert eligible >= 30 and 0.35 <= slipped / eligible <= 0.85
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == slipped
    for a, b in changed:
        assert gold(a)["action_type"] == "wait" and gold(b) == {
            "action_type": "back",
            "action_parameter": {"back": ""},
        }
        parse_action(json.loads(b)["conversations"][-1]["value"])
        # everything but the gold answer is the same record (prompt, images, ids, sizes)
        ra, rb = json.loads(a), json.loads(b)
        ra["conversations"][-1] = rb["conversations"][-1] = None
        assert ra == rb


def test_slip_is_repeatable_per_seed_and_total_at_rate_one(built, tmp_path):
    slip = Slip("wait", "back", 0.5)
    runs = [
        slip_demonstrations(built, tmp_path / f"{i}.jsonl", slip, seed=s) for i, s in enumerate((4, 4, 5))
    ]
    assert (tmp_path / "0.jsonl").read_bytes() == (tmp_path / "1.jsonl").read_bytes()
    assert (tmp_path / "0.jsonl").read_bytes() != (tmp_path / "2.jsonl").read_bytes()
    assert runs[0] == runs[1]
    slipped, eligible = slip_demonstrations(built, tmp_path / "all.jsonl", Slip("wait", "back", 1.0))
    assert slipped == eligible
    assert not any(
        gold(x)["action_type"] == "wait" for x in (tmp_path / "all.jsonl").read_text().splitlines()
    )


def _sample(gold_answer: str) -> str:
    turns = [{"from": "human", "value": "p"}, {"from": "gpt", "value": gold_answer}]
    return json.dumps({"id": 1, "conversations": turns})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": 1}', "conversations: missing"),
        ("[1, 2]", "Input should be a valid dictionary"),
        (_sample("click there"), "the gold answer is not a valid action"),
        (
            _sample('{"action_type": "wiat", "action_parameter": {"wiat": ""}}'),
            "the gold answer is not a valid",
        ),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(tmp_path, line, message):
    src = tmp_path / "data.jsonl"
    good = _sample(json.dumps({"action_type": "wait", "action_parameter": {"wait": ""}}))
    src.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(JsonlError, match=f"data.jsonl:3: {message}"):
        slip_demonstrations(src, tmp_path / "out.jsonl", Slip("wait", "back", 1.0))
    assert not (tmp_path / "out.jsonl").exists()  # written atomically: nothing half-done is left
