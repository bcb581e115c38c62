"""The small learnable synthetic tasks (text, grounding): deterministic, clean to build, correct answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

import gui_agent_rl.cli as cli
from gui_agent_rl.cli import data as data_cli
from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import read_prompt_file
from gui_agent_rl.datagen.synth_tasks import (
    COLOURS,
    PROMPT_FILE,
    TASKS,
    TEXT_APPS,
    TEXT_TEMPLATES,
    TEXT_WORDS,
    cell_tint,
    check_grid,
    check_screen_size,
    synthesize_grounding_corpus,
    synthesize_text_corpus,
)
from gui_agent_rl.schemas import StepRecord, read_samples, smart_resize

MAKERS = {"text": synthesize_text_corpus, "grounding": synthesize_grounding_corpus}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _steps(root: Path) -> list[tuple[Path, dict]]:
    return [(p, json.loads(p.read_text("utf-8"))) for p in sorted(root.glob("*/step_*.json"))]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tasks")
    synthesize_text_corpus(base / "text", tasks=3, steps=4, seed=5)
    synthesize_grounding_corpus(base / "grounding", tasks=4, steps=5, seed=5)
    return {"text": base / "text", "grounding": base / "grounding"}


class TestDeterminism:
    @pytest.mark.parametrize("task", sorted(MAKERS))
    def test_same_seed_same_bytes_other_seed_other_bytes(self, task, tmp_path):
        make = MAKERS[task]
        for name, seed in (("a", 7), ("b", 7), ("c", 8)):
            make(tmp_path / name, tasks=3, steps=3, seed=seed)
        a, b, c = (_files(tmp_path / n) for n in "abc")
        assert a == b
        assert a.keys() == c.keys() and a != c


class TestLayout:
    @pytest.mark.parametrize("task", sorted(MAKERS))
    def test_digit_task_folders_steps_and_an_input_of_two_keys(self, corpora, task):
        root = corpora[task]
        folders = ["9", "36", "81", "144"][: 3 + (task == "grounding")]
        assert sorted(p.name for p in root.iterdir()) == sorted([*folders, PROMPT_FILE])
        for path, obj in _steps(root):
            assert set(obj["input"]) == {"task_content", "screen_path2"}
            assert "action_description" not in obj["output"]
            StepRecord.from_obj(obj)
            assert (path.parent / obj["input"]["screen_path2"]).is_file()

    @pytest.mark.parametrize("task", sorted(MAKERS))
    def test_every_screen_keeps_its_size_through_qwens_resize(self, corpora, task):
        for png in corpora[task].glob("*/*.png"):
            w, h = Image.open(png).size
            assert w % 28 == 0 and h % 28 == 0
            assert smart_resize(h, w) == (h, w)

    @pytest.mark.parametrize("task", sorted(MAKERS))
    def test_build_with_the_corpus_prompt_rejects_nothing(self, corpora, task, tmp_path):
        root = corpora[task]
        prompt = read_prompt_file(root / PROMPT_FILE)
        summary = build_dataset(root, tmp_path / "d.jsonl", prompt=prompt, val_fraction=0.34, seed=0)
        assert not summary.rejected and summary.kept + summary.kept_val == len(_steps(root))
        sample = next(iter(read_samples(tmp_path / "d.jsonl")))
        assert sample.prompt.startswith(prompt) and "<think>" not in prompt
        line = json.loads((tmp_path / "d.jsonl").read_text("utf-8").splitlines()[0])
        assert line.get("output_format", "answer") == "answer"

    @pytest.mark.parametrize("task", sorted(MAKERS))
    def test_prompt_is_short_and_states_the_exact_answer_form(self, corpora, task):
        prompt = (corpora[task] / PROMPT_FILE).read_text("utf-8")
        assert 40 <= len(prompt.split()) <= 60
        assert '<answer>{"action_type": ..., "action_parameter": {...}}</answer> and nothing else' in prompt


class TestText:
    def test_every_template_appears_with_its_action_type_and_text(self, tmp_path):
        synthesize_text_corpus(tmp_path, tasks=2, steps=3, seed=1)  # 6 steps: one round of 6 templates
        seen = set()
        for _, obj in _steps(tmp_path):
            instruction, action = obj["input"]["task_content"], obj["output"]
            for template, kind in TEXT_TEMPLATES.items():
                pattern = (
                    re.escape(template)
                    .replace(r"\{app\}", "(?P<v>[a-z]+)")
                    .replace(r"\{word\}", "(?P<v>[a-z]+)")
                )
                if m := re.fullmatch(pattern, instruction):
                    seen.add(template)
                    value = m.groupdict().get("v") or ""
                    assert action == {"action_type": kind, "action_parameter": {kind: value}}
                    assert value in (TEXT_APPS if "{app}" in template else (*TEXT_WORDS, ""))
                    break
            else:
                pytest.fail(f"instruction {instruction!r} matches no template")
        assert seen == set(TEXT_TEMPLATES)

    def test_action_types_are_the_six_of_the_templates(self, corpora):
        kinds = {obj["output"]["action_type"] for _, obj in _steps(corpora["text"])}
        assert kinds == set(TEXT_TEMPLATES.values())
        assert kinds == {"open_app", "type", "back", "wait", "task_completed", "task_impossible"}


class TestGrounding:
    def test_box_centre_is_the_named_colour_and_every_box_fits_its_screen(self, corpora):
        for path, obj in _steps(corpora["grounding"]):
            colour = obj["input"]["task_content"].removeprefix("tap ")
            x1, y1, x2, y2 = map(int, obj["output"]["action_parameter"]["click"].split(","))
            image = Image.open(path.parent / obj["input"]["screen_path2"]).convert("RGB")
            assert 0 <= x1 < x2 < image.width and 0 <= y1 < y2 < image.height
            assert image.getpixel(((x1 + x2) // 2, (y1 + y2) // 2)) == COLOURS[colour]
            for corner in ((x1, y1), (x2, y2), (x1, y2), (x2, y1)):
                assert image.getpixel(corner) == COLOURS[colour], (path, corner)
            assert image.getpixel((x1 - 1, y1 - 1)) != COLOURS[colour]

    @pytest.mark.parametrize("grid", [2, 3])
    def test_every_cell_has_its_own_pale_hue_unlike_any_button(self, grid):
        tints = [cell_tint(c, r, grid) for r in range(grid) for c in range(grid)]
        assert len(set(tints)) == grid * grid
        assert not set(tints) & set(COLOURS.values())
        assert all(min(t) >= 150 for t in tints)  # pale: far from the saturated buttons
        assert all(len(set(t)) > 1 for t in tints)  # a hue, not a grey (normalisation erases greys)

    def test_the_margin_around_a_button_shows_its_cells_hue(self, tmp_path):
        synthesize_grounding_corpus(tmp_path, tasks=2, steps=2, seed=0)
        step = json.loads(next(tmp_path.glob("*/step_0.json")).read_text(encoding="utf-8"))
        x1, y1, _, _ = map(int, step["output"]["action_parameter"]["click"].split(","))
        image = Image.open(next(tmp_path.glob(f"*/{step['input']['screen_path2']}")))
        col, row = x1 * 2 // image.width, y1 * 2 // image.height
        assert image.getpixel((x1 - 2, y1 - 2)) == cell_tint(col, row, 2)

    def test_two_or_three_distinct_colours_per_screen(self, corpora):
        for png in corpora["grounding"].glob("*/*.png"):
            colours = {c for _, c in Image.open(png).convert("RGB").getcolors(1 << 16)}
            assert len(set(COLOURS.values()) & colours) in (2, 3)

    def test_a_larger_grid_and_screen(self, tmp_path):
        synthesize_grounding_corpus(tmp_path, tasks=2, steps=4, seed=0, width=168, height=224, grid=3)
        for path, obj in _steps(tmp_path):
            x1, y1, x2, y2 = map(int, obj["output"]["action_parameter"]["click"].split(","))
            image = Image.open(path.parent / obj["input"]["screen_path2"]).convert("RGB")
            assert image.size == (168, 224)
            assert (
                image.getpixel(((x1 + x2) // 2, (y1 + y2) // 2)) == COLOURS[obj["input"]["task_content"][4:]]
            )

    @pytest.mark.parametrize(("size", "grid"), [((56, 56), 3), ((112, 112), 1), ((112, 112), 5)])
    def test_grids_that_do_not_fit_are_refused(self, size, grid):
        with pytest.raises(ValueError, match="grid"):
            check_grid(*size, grid)

    @pytest.mark.parametrize("size", [(100, 112), (28, 28), (0, 56), (56 * 200, 56 * 200)])
    def test_sizes_qwen_would_resize_are_refused(self, size):
        with pytest.raises(ValueError):
            check_screen_size(*size)


@pytest.fixture
def run(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_command_modules", lambda: [data_cli])

    def _run(*argv: object) -> tuple[int, str]:
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        return code, capsys.readouterr().err

    return _run


class TestCli:
    def test_task_choices_match_the_module(self):
        assert data_cli.SYNTH_TASKS == TASKS

    def test_synth_grounding_then_build_with_its_prompt_is_clean(self, run, tmp_path):
        root = tmp_path / "g"
        code, err = run("synth", root, "--task", "grounding", "--tasks", "3", "--steps", "2", "--grid", "2")
        assert code == 0 and "wrote 6 steps in 3 tasks" in err and PROMPT_FILE in err
        assert Image.open(root / "9" / "9_0.png").size == (112, 112)
        code, err = run("build", root, "-o", tmp_path / "d.jsonl", "--prompt", root / PROMPT_FILE, "--strict")
        assert code == 0 and "rejected 0" in err

    def test_synth_text_default_size_is_56(self, run, tmp_path):
        assert run("synth", tmp_path / "t", "--task", "text", "--tasks", "1", "--steps", "2")[0] == 0
        assert Image.open(tmp_path / "t" / "9" / "9_1.png").size == (56, 56)

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (
                ["--task", "grounding", "--size", "100x112"],
                "--size: screen sides must be positive multiples of 28",
            ),
            (["--task", "text", "--size", "28x28"], "would be resized"),
            (["--task", "grounding", "--size", "big"], "--size must be WxH"),
            (["--task", "grounding", "--grid", "0"], "--grid: the grid needs at least 2"),
            (["--task", "grounding", "--grid", "5"], "cells under 28 pixels"),
            (["--task", "grounding", "--grid", "two"], "--grid must be an integer"),
            (["--task", "text", "--grid", "2"], "--grid applies to --task grounding only"),
            (["--size", "50x50"], "too small"),
        ],
    )
    def test_bad_size_or_grid_exits_2_with_one_line(self, run, tmp_path, argv, message):
        code, err = run("synth", tmp_path / "s", *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("gui-agent-rl synth: error:")
        assert message in lines[0]
        assert not (tmp_path / "s").exists()


def test_text_values_tokenize_the_same_in_the_instruction_and_the_answer(tmp_path):
    """The instruction quotes its value, so the tiny tokenizer gives the value the same tokens in the
    built prompt and in the gold answer: the model copies tokens instead of learning a lookup from
    ' dog' to '"dog' per word (unquoted, 'dog' was ' ', 'd', 'o', 'g' in one and ' "', 'd', 'o', 'g' in
    the other, and 'notes' ' no', 'te', 's' against ' "', 'no', 'te', 's')."""
    from gui_agent_rl.train.tiny import train_tokenizer

    tokenizer = train_tokenizer()
    synthesize_text_corpus(tmp_path / "c", tasks=12, steps=4, seed=0)
    out = tmp_path / "d.jsonl"
    build_dataset(tmp_path / "c", out, prompt=read_prompt_file(tmp_path / "c" / PROMPT_FILE))
    checked = 0
    for sample in read_samples(out):
        action = json.loads(sample.solution)
        value = action["action_parameter"][action["action_type"]]
        if not value:
            continue
        value_ids = tokenizer(value, add_special_tokens=False)["input_ids"]
        prompt_ids = tokenizer(sample.prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(sample.solution, add_special_tokens=False)["input_ids"]
        for ids in (prompt_ids[-40:], answer_ids):
            assert any(ids[i : i + len(value_ids)] == value_ids for i in range(len(ids))), (value, ids)
        checked += 1
    assert checked >= 20
