"""The extended action space through prompts, build, eval scoring and pictures (issue 12).

The packaged prompts and a build of the shipped corpus are pinned to the bytes they had before the
action space grew (sha256), so the seed's ten-action default cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt, prompt_action_types
from gui_agent_rl.evaluate.metrics import MatchRules, StepResult, aggregate, judge_step
from gui_agent_rl.evaluate.pictures import caption_for, marks_for
from gui_agent_rl.evaluate.viz import PRED_COLOUR, TRUTH_COLOUR, Marks, describe_action, draw_marks
from gui_agent_rl.rewards import RewardSettings, get_reward_funcs
from gui_agent_rl.schemas import (
    ACTION_TYPES,
    ALL_ACTION_TYPES,
    ImageFrame,
    Point,
    parse_action,
    read_samples,
    render_completion,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPT_SHA = {
    False: "4fc32ed6fa5b220e48587e0e28935b4704cfef6da814fd202089fa15a1e4872a",
    True: "84cf3612cb59a05c310a75238a0fb9b6d7436f40e6f3d29d90dd5bb4163dd468",
}
BUILD_SHA = {
    (False, "compact"): "59ab142ef7b37a429e884e0c69cb7ded4055c0ac1bb31a1cb2bf6a6538153580",
    (False, "seed"): "e7dff4e4e96bd9bbca2dd7458404fea9c2bdce7c18699e4f84dc93b950d4b095",
    (True, "compact"): "e6a4c0b146fe54a9825060155144de95249fe43865849d80dae86daaec97a0c1",
    (True, "seed"): "34ea22396cb6cb23279f6c36909f79b948b98bbe9adb0926fb21d12334ea06e5",
}
THINK = {
    "task_interpretation": "a",
    "current_page_audit": "b",
    "path_alignment_check": "c",
    "action_validation": "d",
}
NAMES = {
    "open_app": "打开APP", "click": "点击", "long_click": "长按", "type": "输入", "swipe": "滑动",
    "task_completed": "任务完成", "task_impossible": "任务无法完成", "inquiry": "反问", "wait": "等待",
    "back": "回退", "home": "主屏幕", "key": "按键",
}  # fmt: skip
SEED_LIST = {k: NAMES[k] for k in ACTION_TYPES}
FULL_LIST = dict(NAMES)


def act(kind: str, value, **extra) -> dict:
    return {"action_type": kind, "action_parameter": {kind: value, **extra}, "action_description": "做"}


# ---------------------------------------------------------------------------------------------- prompts


class TestPromptsStayByteIdentical:
    @pytest.mark.parametrize("think", [False, True])
    def test_default_prompt_bytes(self, think):
        text = load_prompt(think=think)
        assert hashlib.sha256(text.encode()).hexdigest() == PROMPT_SHA[think]
        assert load_prompt(think=think, action_types=None) == text
        assert load_prompt(think=think, action_types=()) == text
        assert load_prompt(think=think, action_types=list(reversed(ACTION_TYPES))) == text
        assert load_prompt(think=think, action_types=SEED_LIST) == text

    @pytest.mark.parametrize("think", [False, True])
    @pytest.mark.parametrize("layout", ["compact", "seed"])
    def test_the_shipped_corpus_builds_to_the_same_bytes(self, tmp_path, think, layout):
        out = tmp_path / "d.jsonl"
        build_dataset(EXAMPLES / "corpus", out, prompt=load_prompt(think=think), layout=layout)
        assert hashlib.sha256(out.read_bytes()).hexdigest() == BUILD_SHA[(think, layout)]


class TestPromptsListTheCorpusActions:
    def test_prompt_action_types(self):
        assert prompt_action_types(None) is None and prompt_action_types(SEED_LIST) is None
        assert prompt_action_types(FULL_LIST) == ALL_ACTION_TYPES
        assert prompt_action_types({"key": "k", "click": "c", "made_up": "x"}) == ("click", "key")

    @pytest.mark.parametrize("think", [False, True])
    def test_all_twelve(self, think):
        text = load_prompt(think=think, action_types=FULL_LIST)
        assert "十二种动作" in text and "十种动作" not in text
        assert '{"home": ""}' in text and '{"key": "enter"}' in text and "app_switch" in text
        assert '"x,y"' in text and '{"swipe": "up"}' in text and "duration" in text
        # everything outside the action list is today's text
        default = load_prompt(think=think)
        assert text.split("# 动作")[0] == default.split("# 动作")[0]
        assert text.split("# 输出格式")[1] == default.split("# 输出格式")[1]

    def test_only_the_listed_types(self):
        text = load_prompt(action_types={"click": "点击", "swipe": "滑动", "home": "主屏幕"})
        assert "三种动作" in text
        section = text.split("# 动作")[1].split("# 输出格式")[0]
        lines = [ln for ln in section.splitlines() if ln[:1].isdigit()]
        assert [ln.split(":")[0] for ln in lines] == ["1. click", "2. swipe", "3. home"]
        assert "inquiry" not in section and "key" not in section.replace("键名", "")

    def test_new_actions_never_appear_in_the_default(self):
        for think in (False, True):
            text = load_prompt(think=think)
            assert '{"home"' not in text and '"key"' not in text and "duration" not in text


# ---------------------------------------------------------------------------------------------- build


def _steps(corpus, outputs: list[dict], action_type_list=None, **top) -> None:
    for n, output in enumerate(outputs):
        extra = {} if action_type_list is None else {"action_type_list": action_type_list}
        path = corpus.step("7", n, output=output, **extra)
        if top:
            record = json.loads(path.read_text("utf-8"))
            record.update(top)
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def _build(corpus, tmp_path, prompt=None, **kw):
    out = tmp_path / "d.jsonl"
    summary = build_dataset(corpus.root, out, prompt=prompt or load_prompt(), **kw)
    report = [json.loads(x) for x in summary.report.read_text("utf-8").splitlines()]
    return list(read_samples(out)), report, out


NEW_STEPS = [
    act("click", "30,60"),
    act("long_click", "30,60", duration=900),
    act("swipe", "up"),
    act("home", ""),
    act("key", "enter"),
]


class TestBuild:
    def test_new_types_build_and_list_their_actions(self, corpus, tmp_path):
        _steps(corpus, NEW_STEPS, FULL_LIST)
        samples, report, _ = _build(corpus, tmp_path)
        assert report == [] and len(samples) == 5
        assert all(s.prompt.startswith(load_prompt(action_types=FULL_LIST)) for s in samples)
        assert [parse_action(s.solution).action_type for s in samples] == [
            "click", "long_click", "swipe", "home", "key"
        ]  # fmt: skip

    def test_worker_processes_carry_the_prompt_choice(self, corpus, tmp_path):
        for task in ("1", "2", "3"):
            corpus.step(task, 0, output=act("home", ""), action_type_list=FULL_LIST, meta={"t": task})
            corpus.step(task, 1, output=act("back", ""), action_type_list=SEED_LIST)
        one = build_dataset(corpus.root, tmp_path / "one.jsonl", prompt=load_prompt(), workers=1)
        two = build_dataset(corpus.root, tmp_path / "two.jsonl", prompt=load_prompt(), workers=2)
        assert one.kept == two.kept == 6
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()

    def test_seed_list_keeps_the_default_prompt_and_a_user_prompt_is_verbatim(self, corpus, tmp_path):
        _steps(corpus, [act("click", "1,2,30,40")], SEED_LIST)
        corpus.step("8", 0, output=act("home", ""), action_type_list=FULL_LIST)
        samples, _, _ = _build(corpus, tmp_path, layout="seed")
        assert samples[0].prompt.startswith(load_prompt().strip() + "{")
        assert samples[1].prompt.startswith(load_prompt(action_types=FULL_LIST).strip() + "{")
        mine, _, _ = _build(corpus, tmp_path, prompt="我的前缀:")
        assert all(s.prompt.startswith("我的前缀:{") for s in mine)

    @pytest.mark.parametrize("layout", ["compact", "seed"])
    def test_meta_is_carried_verbatim_and_never_into_the_prompt(self, corpus, tmp_path, layout):
        meta = {"source": "androidcontrol", "episode_id": "e9", "tap_point": [30, 60], "goal": "秘密目标"}
        _steps(corpus, [act("click", "30,60")], meta=meta)
        corpus.step("8", 0)
        samples, report, out = _build(corpus, tmp_path, layout=layout)
        assert report == []
        assert samples[0].model_extra["meta"] == meta and "meta" not in (samples[1].model_extra or {})
        assert "秘密目标" not in samples[0].prompt and "androidcontrol" not in samples[0].prompt
        first = json.loads(out.read_text("utf-8").splitlines()[0])
        assert first["meta"] == meta

    @pytest.mark.parametrize("bad", [[1, 2], "x", 3, None])
    def test_meta_must_be_an_object(self, corpus, tmp_path, bad):
        _steps(corpus, [act("back", "")], meta=bad)
        samples, report, _ = _build(corpus, tmp_path)
        assert samples == [] and len(report) == 1
        assert report[0]["kind"] == "schema" and report[0]["reason"].startswith("meta:")
        assert "\n" not in report[0]["reason"]

    def test_an_action_outside_its_own_list_is_rejected(self, corpus, tmp_path):
        _steps(corpus, [act("home", ""), act("back", "")], SEED_LIST)
        samples, report, _ = _build(corpus, tmp_path)
        assert [s.step for s in samples] == [1]
        (line,) = report
        assert line["path"] == "7/step_0.json" and line["kind"] == "action_type"
        assert line["reason"].startswith("output.action_type: 'home' is not in input.action_type_list")
        assert "\n" not in line["reason"]

    def test_an_empty_list_allows_every_type(self, corpus, tmp_path):
        _steps(corpus, NEW_STEPS)
        samples, report, _ = _build(corpus, tmp_path)
        assert report == [] and len(samples) == 5
        assert all(s.prompt.startswith(load_prompt() + "{") for s in samples)

    def test_points_are_bounds_checked_and_directions_need_none(self, corpus, tmp_path):
        _steps(corpus, [act("click", "61,60"), act("swipe", "left"), act("long_click", "60,120")])
        samples, report, _ = _build(corpus, tmp_path)  # screens are 60x120
        assert [s.step for s in samples] == [1, 2]
        assert report[0]["kind"] == "bounds" and "point 61,60" in report[0]["reason"]


class TestPromptContractForNewTypes:
    @pytest.mark.parametrize(("think", "form"), [(False, "answer"), (True, "think")])
    def test_gold_answers_score_full_marks(self, corpus, tmp_path, think, form):
        _steps(corpus, NEW_STEPS, FULL_LIST)
        samples, _, _ = _build(corpus, tmp_path, prompt=load_prompt(think=think))
        assert {s.output_format for s in samples} == {form}
        comps = [render_completion(s.solution, s.output_format, THINK) for s in samples]
        settings = RewardSettings(coordinate_frame="original", normalize_format=True)
        columns = {
            "solution": [s.solution for s in samples],
            "image_sizes": [[list(wh) for wh in s.image_sizes] for s in samples],
            "output_format": [s.output_format for s in samples],
        }
        for func in get_reward_funcs(["format", "format_strict", "accuracy"], settings):
            assert func(completions=comps, **columns) == [1.0] * 5, func.__name__


# ---------------------------------------------------------------------------------------------- eval


FRAME = ImageFrame(1080, 2400)


def judge(pred: dict | None, truth: dict, rules: MatchRules | None = None):
    p = parse_action(pred) if pred is not None else None
    return judge_step(p, parse_action(truth), FRAME, "original", rules or MatchRules())


class TestEvalScoring:
    def test_point_truths_count_for_grounding(self):
        assert judge(act("click", "560,1210"), act("click", "540,1200"))[:3] == (True, True, True)
        type_ok, step_ok, grounding, _ = judge(act("click", "540,1400"), act("click", "540,1200"))
        assert (type_ok, step_ok, grounding) == (True, False, False)
        type_ok, step_ok, grounding, _ = judge(
            act("click", "500,1150,600,1250"), act("long_click", "540,1200")
        )
        assert (type_ok, step_ok, grounding) == (False, False, True)
        _, step_ok, grounding, _ = judge(act("click", "100,100"), act("click", "0,0,200,200"))
        assert step_ok and grounding

    def test_direction_swipes_home_and_keys(self):
        assert judge(act("swipe", "up"), act("swipe", "540,1900,540,900"))[:2] == (True, True)
        assert judge(act("swipe", "540,900,540,1900"), act("swipe", "up"))[:2] == (True, False)
        assert judge(act("home", ""), act("home", ""))[:2] == (True, True)
        assert judge(act("key", "enter"), act("key", "enter"))[:2] == (True, True)
        assert judge(act("key", "delete"), act("key", "enter"))[:2] == (True, False)
        assert judge(act("back", ""), act("home", ""))[:2] == (False, False)

    def test_aggregate_counts_point_truths_and_new_types(self):
        rows = []
        for i, (pred, truth) in enumerate(
            [
                (act("click", "540,1200"), act("click", "540,1200")),
                (act("home", ""), act("home", "")),
                (act("key", "search"), act("key", "enter")),
            ]
        ):
            t, s, g, r = judge(pred, truth)
            rows.append(StepResult(i, parse_action(truth), parse_action(pred), t, s, g, r))
        metrics = aggregate(rows)
        assert metrics["grounding_count"] == 1 and metrics["grounding_accuracy"] == 1.0
        assert metrics["per_type"]["home"]["step_success"] == 1.0
        assert metrics["per_type"]["key"] == {"count": 1, "type_accuracy": 1.0, "step_success": 0.0}


# ---------------------------------------------------------------------------------------------- pictures


def _screen() -> Image.Image:
    return Image.new("RGB", (540, 1200), "white")


class TestPictures:
    def test_points_are_markers_in_the_usual_colours(self):
        im = _screen()
        draw_marks(im, Marks(truth_point=Point(100, 200), pred_point=Point(400, 900)), 0.5)
        assert im.getpixel((50, 100)) == TRUTH_COLOUR
        assert im.getpixel((200, 450)) == PRED_COLOUR

    def test_direction_swipe_is_an_arrow_from_the_screen_centre(self):
        truth, pred = parse_action(act("swipe", "up")), parse_action(act("swipe", "right"))
        verdict = StepResult(1, truth, pred, True, False, None, "swipe right, truth up")
        settings = RewardSettings(coordinate_frame="original")
        marks = marks_for(verdict, FRAME, settings)
        start, end = marks.truth_swipe
        assert start == Point(540, 1200) and end.x == 540 and end.y < 1200
        start, end = marks.pred_swipe
        assert start == Point(540, 1200) and end.y == 1200 and end.x > 540
        im = Image.new("RGB", (1080, 2400), "white")
        draw_marks(im, marks, 1.0)
        assert im.getpixel((540, 1100)) == TRUTH_COLOUR and im.getpixel((640, 1200)) == PRED_COLOUR

    def test_home_and_key_are_text_labels(self):
        truth, pred = parse_action(act("home", "")), parse_action(act("key", "enter"))
        verdict = StepResult(1, truth, pred, False, False, None, "type key, truth home")
        marks = marks_for(verdict, FRAME, RewardSettings(coordinate_frame="original"))
        assert marks.truth_label == "home" and marks.pred_label == "key enter"
        im = _screen()
        draw_marks(im, marks, 0.5)
        colours = {c for _, c in im.getcolors(1 << 16)}
        assert TRUTH_COLOUR in colours and PRED_COLOUR in colours

    def test_point_marks_and_captions(self):
        truth, pred = parse_action(act("click", "540,1200")), parse_action(act("click", "273,602"))
        verdict = StepResult(1, truth, pred, True, True, True, "ok")
        settings = RewardSettings(coordinate_frame="norm1000")
        marks = marks_for(verdict, FRAME, settings)
        assert marks.truth_point == Point(540, 1200) and marks.truth_box is None
        assert round(marks.pred_point.x) == 295 and marks.pred_box is None
        caption = caption_for(verdict, FRAME, settings, 1.0)
        assert "-> original [295,1445]" in caption.prediction
        assert describe_action(parse_action(act("long_click", "5,6", duration=700))).startswith(
            "long_click [5,6] 700 ms"
        )
        assert describe_action(parse_action(act("swipe", "up"))).startswith("swipe up")
        assert describe_action(parse_action(act("key", "enter"))).startswith("key enter")
