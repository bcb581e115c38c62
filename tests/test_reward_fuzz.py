"""Hypothesis: no reward raises on model output, every score is a finite float in range, and repeatable."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui_agent_rl.rewards import get_reward_funcs
from gui_agent_rl.rewards.accuracy import BOX_METHODS, AccuracyReward
from gui_agent_rl.schemas import ALL_ACTION_TYPES, DIRECTIONS, KEY_NAMES

RANGES = {"format": (0.0, 2.5), "accuracy": (0.0, 1.0), "think_fields": (0.0, 1.0), "schema": (0.0, 1.0)}
FAST = get_reward_funcs(list(RANGES))
MAP = get_reward_funcs(["map"])[0]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

coord = st.integers(min_value=0, max_value=5000)
words = st.text(min_size=1, max_size=20).filter(str.strip)


@st.composite
def boxes(draw) -> str:
    x1, y1 = draw(coord), draw(coord)
    return f"{x1},{y1},{x1 + draw(st.integers(1, 3000))},{y1 + draw(st.integers(1, 3000))}"


points = st.builds(lambda x, y: f"{x},{y}", coord, coord)  # a tap recorded as a point (issue 12)
targets = st.one_of(boxes(), points)
durations = st.none() | st.integers(1, 10**6)


def inquiries() -> st.SearchStrategy[str]:
    return st.lists(st.text(max_size=10), min_size=1, max_size=4).flatmap(
        lambda cands: st.builds(
            lambda q, i: json.dumps(
                {"Question": q, "CandidatesList": repr(cands), "PicDescribe": "", "AnswerIndex": i}
            ),
            st.text(max_size=20),
            st.integers(0, len(cands) - 1),
        )
    )


PARAMS = {
    "open_app": words,
    "type": words,
    "task_completed": st.text(max_size=20),
    "task_impossible": st.text(max_size=20),
    "click": targets,
    "long_click": targets,
    "swipe": st.builds(lambda *v: ",".join(map(str, v)), coord, coord, coord, coord)
    | st.sampled_from(DIRECTIONS),
    "inquiry": inquiries(),
    "wait": st.just(""),
    "back": st.just(""),
    "home": st.just(""),
    "key": st.sampled_from(KEY_NAMES),
}
assert set(PARAMS) == set(ALL_ACTION_TYPES)


def _wire(kind: str, param: str, duration: int | None) -> str:
    params = (
        {kind: param} if duration is None or kind != "long_click" else {kind: param, "duration": duration}
    )
    return json.dumps({"action_type": kind, "action_parameter": params}, ensure_ascii=False)


def actions(kind: str | None = None) -> st.SearchStrategy[str]:
    kinds = st.just(kind) if kind else st.sampled_from(ALL_ACTION_TYPES)
    return kinds.flatmap(lambda k: st.builds(lambda p, d: _wire(k, p, d), PARAMS[k], durations))


screens = st.tuples(st.integers(100, 4000), st.integers(100, 4000))
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
tagged_json = st.builds(
    lambda t, a, pre: f"{pre}<think>{json.dumps(t)}</think><answer>{json.dumps(a)}</answer>",
    json_values,
    json_values,
    st.text(max_size=5),
)
completions = st.one_of(
    st.text(max_size=200),
    tagged_json,
    actions().map(lambda a: f"<answer>{a}</answer>"),
    st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "{", "}", '"', "5"])).map(
        "".join
    ),
)


def check(func, completions_, solutions, sizes) -> None:
    lo, hi = RANGES.get(func.__name__, (0.0, 1.0))
    kwargs = {"solution": solutions, "image_sizes": sizes, "trainer_state": None}
    first = func(prompts=[""] * len(completions_), completions=completions_, **kwargs)
    assert len(first) == len(completions_)
    assert all(isinstance(v, float) and math.isfinite(v) and lo <= v <= hi for v in first), first
    assert func(prompts=None, completions=completions_, **kwargs) == first


class TestRewardsNeverFail:
    @FUZZ
    @given(st.lists(completions, min_size=1, max_size=4), actions(), screens)
    def test_any_completion_scores_in_range_and_repeatably(self, comps, truth, screen):
        for func in FAST:
            check(func, comps, [truth] * len(comps), [[list(screen)]] * len(comps))

    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(completions, min_size=1, max_size=2),
        st.sampled_from(["click", "long_click"]).flatmap(actions),
    )
    def test_map_scores_any_completion_in_range(self, comps, truth):
        check(MAP, comps, [truth] * len(comps), None)

    @FUZZ
    @given(st.sampled_from(ALL_ACTION_TYPES).flatmap(lambda k: st.tuples(actions(k), actions(k))), screens)
    def test_same_type_predictions_score_in_range_under_every_method_and_frame(self, pair, screen):
        pred, truth = pair
        for frame in ("resized", "original", "norm1000"):
            for method in BOX_METHODS:
                for radius in (0.0, 0.04):  # the distance rule's radius around a true point, 0 included
                    reward = AccuracyReward(frame, method=method, max_pixels=1003520, point_distance=radius)
                    check(reward, [f"<answer>{pred}</answer>"], [truth], [[list(screen)]])


class TestTruthScoresItself:
    @FUZZ
    @given(actions(), st.none() | screens.map(lambda s: [list(s)]), st.sampled_from(list(BOX_METHODS)))
    def test_the_true_action_in_original_pixels_scores_one(self, truth, sizes, method):
        reward = AccuracyReward("original", method=method)
        scores = reward(completions=[f"<answer>{truth}</answer>"], solution=[truth], image_sizes=[sizes])
        assert scores == [1.0]


class TestExtremeCoordinates:
    @settings(max_examples=30, deadline=None)
    @given(st.sampled_from(["click", "long_click", "swipe"]), st.integers(300, 400), screens)
    def test_astronomical_predicted_coordinates_score_in_range(self, kind, digits, screen):
        big = "9" * digits  # float() makes these inf: inf - inf is NaN, which must never come out
        params = (
            (f"0,0,{big},{big}", f"{big},{big},{big}1,{big}1", f"{big},{big}")
            if kind != "swipe"
            else (f"{big},1,{big},1",)
        )
        truths = ("10,10,20,20", "15,15") if kind != "swipe" else ("10,10,20,20", "up")
        for truth_param, param in ((t, p) for t in truths for p in params):
            truth = json.dumps({"action_type": kind, "action_parameter": {kind: truth_param}})
            pred = json.dumps({"action_type": kind, "action_parameter": {kind: param}})
            for frame in ("resized", "original", "norm1000"):
                for method in BOX_METHODS:
                    check(
                        AccuracyReward(frame, method=method),
                        [f"<answer>{pred}</answer>"],
                        [truth],
                        [[list(screen)]],
                    )
