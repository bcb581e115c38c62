"""Sampled evaluation: ``predict --num-samples K`` lines, and ``eval``'s sampled means and pass@K."""

from __future__ import annotations

import json
import re
import threading
from typing import ClassVar

import pytest
from fake_http import JsonHandler, serving

from gui_agent_rl.cli import main
from gui_agent_rl.evaluate.predictions import join_predictions, read_predictions, sample_draws
from gui_agent_rl.evaluate.report import format_report
from gui_agent_rl.evaluate.sampled import pass_at_k
from gui_agent_rl.schemas import JsonlError, read_samples
from gui_agent_rl.train.data import DataError
from gui_agent_rl.train.predict import PredictSettings, predict
from gui_agent_rl.train.tiny import write_tiny_dataset


def act(kind: str, value: str = "") -> str:
    return json.dumps({"action_type": kind, "action_parameter": {kind: value}}, ensure_ascii=False)


def answer(kind: str, value: str = "") -> str:
    return f"<answer>{act(kind, value)}</answer>"


def write_jsonl(path, objs):
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def sample(sid, truth):
    return {
        "id": sid,
        "image": ["T1/a.png"],
        "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": truth}],
        "image_sizes": [[1000, 2000]],
        "task_id": "T1",
        "step": sid,
        "output_format": "answer",  # the completions below are <answer> blocks alone
    }


RIGHT_CLICK = answer("click", "140,140,160,160")
TRUTHS = [act("click", "100,100,200,200"), act("type", "无锡"), act("back"), act("wait")]
# Samples 1-3 with two sampled completions each (step success: [T, F], [F, T], [F, F]); 4 has no line.
LINES = [
    {"id": 1, "completion": RIGHT_CLICK, "samples": [RIGHT_CLICK, answer("back")], "temperature": 0.7},
    {"id": 2, "completion": answer("type", "无锡"), "samples": ["garbage", answer("type", "无锡")]},
    {"id": 3, "completion": answer("back"), "samples": [answer("wait"), answer("wait")]},
]


@pytest.fixture
def files(tmp_path):
    data = write_jsonl(tmp_path / "data.jsonl", [sample(i, t) for i, t in enumerate(TRUTHS, 1)])
    return data, write_jsonl(tmp_path / "pred.jsonl", LINES), tmp_path


def eval_args(data, pred, *extra):
    return ["eval", "--dataset", str(data), "--predictions", str(pred), "--frame", "original", *extra]


def run_eval(files, pred=None, *extra) -> dict:
    data, default_pred, tmp = files
    assert main(eval_args(data, pred or default_pred, "--output", str(tmp / "m.json"), *extra)) == 0
    return json.loads((tmp / "m.json").read_text(encoding="utf-8"))


class TestPassAtK:
    @pytest.mark.parametrize(
        ("n", "c", "k", "want"), [(4, 1, 4, 1.0), (4, 0, 4, 0.0), (4, 1, 2, 0.5), (5, 2, 1, 0.4)]
    )
    def test_unbiased_estimator(self, n, c, k, want):
        assert pass_at_k(n, c, k) == pytest.approx(want)

    def test_k_equal_to_n_is_any_success(self):
        assert all(pass_at_k(3, c, 3) == (1.0 if c else 0.0) for c in range(4))

    def test_impossible_counts_raise(self):
        with pytest.raises(ValueError, match="pass@k"):
            pass_at_k(2, 3, 2)


class TestReadAndJoin:
    def test_samples_and_temperature_are_read_and_kept_by_the_join(self, files):
        data, pred, _ = files
        predictions = read_predictions(pred)
        assert (
            predictions["1"].samples == (RIGHT_CLICK, answer("back")) and predictions["1"].temperature == 0.7
        )
        assert predictions["2"].temperature is None
        rows = join_predictions(read_samples(data), predictions)
        assert rows[0].completion == RIGHT_CLICK and rows[2].samples == (answer("wait"),) * 2
        assert rows[3].completion is None and rows[3].samples is None
        draws = sample_draws(rows)
        assert [r.completion for r in draws[1]] == [
            answer("back"),
            answer("type", "无锡"),
            answer("wait"),
            None,
        ]

    def test_old_format_has_no_samples(self, tmp_path):
        pred = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "completion": "x"}])
        assert read_predictions(pred)["1"].samples is None

    def test_chat_style_samples(self, tmp_path):
        chat = [{"role": "assistant", "content": "无锡"}]
        pred = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "completion": "x", "samples": [chat, "y"]}])
        assert read_predictions(pred)["1"].samples == ("无锡", "y")

    @pytest.mark.parametrize(
        ("second", "reason"),
        [
            ({"id": 2, "completion": "x"}, r"p.jsonl:2: samples: 0 here, 2 on line 1"),
            ({"id": 2, "completion": "x", "samples": ["a"]}, r"p.jsonl:2: samples: 1 here, 2 on line 1"),
            ({"id": 2, "completion": "x", "samples": []}, r"p.jsonl:2: samples: not a non-empty list"),
            ({"id": 2, "completion": "x", "samples": [1, 2]}, r"p.jsonl:2: samples: not a non-empty list"),
            ({"id": 2, "completion": "x", "samples": ["a", "b"], "temperature": "hot"}, r"temperature"),
        ],
    )
    def test_bad_samples_name_path_and_line(self, tmp_path, second, reason):
        pred = write_jsonl(
            tmp_path / "p.jsonl", [{"id": 1, "completion": "x", "samples": ["a", "b"]}, second]
        )
        with pytest.raises(JsonlError, match=reason):
            read_predictions(pred)


class TestSampledMetrics:
    def test_means_over_every_sample_and_pass_at_k(self, files):
        s = run_eval(files)["sampled"]
        assert (s["num_samples"], s["temperature"], s["count"]) == (2, 0.7, 4)
        # 8 (sample, completion) pairs: types right 2, steps right 2, well-formed 5 (garbage, 2 missing)
        assert (s["type_accuracy"], s["step_success"], s["format_rate"]) == (0.25, 0.25, 0.625)
        assert s["pass_at_k"] == 0.5  # samples 1 and 2 have a success among their two
        assert s["grounding_accuracy"] == 0.5  # the click truth: one of two completions a matching click
        assert s["rewards"]["accuracy"] == 0.25

    def test_per_true_type(self, files):
        per_type = run_eval(files)["sampled"]["per_type"]
        keys = ("count", "type_accuracy", "step_success", "format_rate", "pass_at_k")
        got = {kind: tuple(m[k] for k in keys) for kind, m in per_type.items()}
        assert got == {
            "back": (1, 0.0, 0.0, 1.0, 0.0),
            "click": (1, 0.5, 0.5, 1.0, 1.0),
            "type": (1, 0.5, 0.5, 0.5, 1.0),
            "wait": (1, 0.0, 0.0, 0.0, 0.0),
        }
        assert per_type["click"]["rewards"]["accuracy"] == 0.5

    def test_greedy_figures_are_the_completions(self, files):
        m = run_eval(files)
        assert (m["step_success"], m["type_accuracy"]) == (0.75, 0.75)

    def test_old_format_predictions_have_no_sampled_block_or_column(self, files, capsys):
        tmp = files[2]
        plain = write_jsonl(tmp / "plain.jsonl", [{k: x[k] for k in ("id", "completion")} for x in LINES])
        assert "sampled" not in run_eval(files, plain)
        out = capsys.readouterr().out
        assert "sampled" not in out and "pass@" not in out

    def test_report_shows_the_sampled_column_and_pass_at_k(self, files, capsys):
        run_eval(files)
        out = capsys.readouterr().out
        assert re.search(r"metric +value +sampled \(K=2, T=0.7\)", out)
        assert re.search(r"step_success +75.00% +25.00%", out)
        assert re.search(r"pass@2 +- +50.00%", out)
        assert re.search(r"type +count +type acc +step success +sampled step +pass@2", out)
        assert re.search(r"click +1 +100.00% +100.00% +50.00% +100.00%", out)

    def test_compare_keeps_working(self, files, capsys):
        data, pred, tmp = files
        run_eval(files)
        capsys.readouterr()
        assert main(eval_args(data, pred, "--compare", str(tmp / "m.json"))) == 0
        out = capsys.readouterr().out
        assert re.search(r"step_success +75.00% +25.00% +75.00% +\+0.00 pp", out)
        assert re.search(r"pass@2 +- +50.00% +50.00% +\+0.00 pp", out)  # same K: pass@K compared

    def test_report_of_metrics_without_temperature(self):
        sampled = {"num_samples": 3, "temperature": None, "pass_at_k": 1.0, "rewards": {}, "per_type": {}}
        text = format_report({"count": 1, "per_type": {}, "sampled": sampled})
        assert "sampled (K=3)" in text and re.search(r"pass@3 +- +100.00%", text)

    def test_score_still_reads_the_completion(self, files, capsys):
        data, pred, _ = files
        assert main(["score", "--dataset", str(data), "--predictions", str(pred), "--frame", "original"]) == 0
        assert "with predictions 3" in capsys.readouterr().out


class FakeSampler(JsonHandler):
    """A chat endpoint answering ``n`` choices (at most ``max_choices``), each a distinct text."""

    requests: ClassVar[list] = []
    max_choices: ClassVar[int | None] = None
    lock = threading.Lock()

    def do_POST(self):
        body = self.read_json()
        with self.lock:
            type(self).requests.append(body)
            serial = len(type(self).requests)
        n = body.get("n", 1) if body["temperature"] > 0 else 1
        n = min(n, self.max_choices) if self.max_choices is not None else n
        kind = "sample" if body["temperature"] > 0 else "greedy"
        reply = {"choices": [{"message": {"content": f"{kind} r{serial} c{i}"}} for i in range(n)]}
        self.reply_json(reply)


@pytest.fixture
def sampler():
    FakeSampler.requests, FakeSampler.max_choices = [], None
    with serving(FakeSampler) as url:
        yield f"{url}/v1"


def api_lines(tmp_path, api_base, **settings):
    data = write_tiny_dataset(tmp_path / "d", n_samples=1)
    out = tmp_path / "pred.jsonl"
    predict("m", data, out, settings=PredictSettings(**settings), api_base=api_base)
    return [json.loads(x) for x in out.read_text().splitlines()]


class TestApiSampling:
    def test_server_honouring_n_gets_one_sampled_request(self, tmp_path, sampler):
        (line,) = api_lines(tmp_path, sampler, num_samples=3, top_p=0.9, seed=7)
        greedy, sampled = sorted(FakeSampler.requests, key=lambda b: b["temperature"])
        assert greedy["temperature"] == 0 and "n" not in greedy and "seed" not in greedy
        assert (sampled["n"], sampled["temperature"], sampled["top_p"], sampled["top_k"]) == (3, 1.0, 0.9, -1)
        assert sampled["seed"] == 7
        assert line["completion"].startswith("greedy") and len(line["samples"]) == 3
        assert all(s.startswith("sample") for s in line["samples"]) and line["temperature"] == 1.0

    def test_fewer_choices_than_asked_are_topped_up(self, tmp_path, sampler):
        FakeSampler.max_choices = 2
        (line,) = api_lines(tmp_path, sampler, num_samples=5, temperature=0.5, seed=1, greedy=False)
        asked = [(b.get("n", 1), b["seed"]) for b in FakeSampler.requests]
        assert asked == [(5, 1), (3, 2), (1, 3)]  # n: what is still missing; a new seed per top-up
        assert len(line["samples"]) == 5 and len(set(line["samples"])) == 5
        assert line["completion"] == line["samples"][0] and line["temperature"] == 0.5

    def test_server_ignoring_n_gets_k_requests(self, tmp_path, sampler):
        FakeSampler.max_choices = 1
        (line,) = api_lines(tmp_path, sampler, num_samples=3)
        assert len(FakeSampler.requests) == 4 and len(set(line["samples"])) == 3

    def test_no_choices_is_a_data_error(self, tmp_path, sampler):
        FakeSampler.max_choices = 0
        with pytest.raises(DataError, match="unexpected reply"):
            api_lines(tmp_path, sampler, num_samples=2, greedy=False)

    def test_without_samples_the_line_format_is_unchanged(self, tmp_path, sampler):
        (line,) = api_lines(tmp_path, sampler)
        # min/max_pixels: the frame the screens were resized to travels with the line (eval reads it)
        assert set(line) == {"id", "completion", "min_pixels", "max_pixels"}
        assert set(FakeSampler.requests[0]) == {
            "model", "messages", "max_tokens", "temperature"
        }  # fmt: skip


class TestPredictOptions:
    @pytest.mark.parametrize(
        ("option", "message"),
        [
            (["--num-samples", "-1"], "--num-samples must be >= 0"),
            (["--temperature", "-1"], "--temperature must be >= 0"),
            (["--top-p", "0"], "--top-p must be in (0, 1]"),
            (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
            (["--no-greedy"], "--no-greedy needs --num-samples"),
        ],
    )
    def test_bad_values_exit_2_with_one_line(self, tmp_path, capsys, option, message):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        argv = ["predict", "--model", "m", "--dataset", str(data), "--output", str(tmp_path / "p.jsonl")]
        assert main([*argv, *option]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and message in err
        assert not (tmp_path / "p.jsonl").exists()

    def test_samples_temperature_defaults_to_one(self):
        assert PredictSettings(num_samples=2).passes() == [(0.0, 1), (1.0, 2)]
        assert PredictSettings(num_samples=2, temperature=0.3, greedy=False).passes() == [(0.3, 2)]
        assert PredictSettings(temperature=0.3).passes() == [(0.3, 1)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch")
    from gui_agent_rl.train.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_model(root / "m"), write_tiny_dataset(root / "d", n_samples=3)


@pytest.mark.train
class TestLocalSampling:
    def predict(self, tiny, out, *extra):
        model, data = tiny
        argv = ["predict", "--model", str(model), "--dataset", str(data), "--output", str(out),
                "--batch-size", "2", "--max-new-tokens", "4", *extra]  # fmt: skip
        assert main(argv) == 0
        return [json.loads(x) for x in out.read_text().splitlines()]

    def test_two_samples_per_line_beside_the_greedy_completion_reproducible_with_seed(self, tiny, tmp_path):
        plain = self.predict(tiny, tmp_path / "plain.jsonl")
        first = self.predict(tiny, tmp_path / "a.jsonl", "--num-samples", "2", "--seed", "3")
        again = self.predict(tiny, tmp_path / "b.jsonl", "--num-samples", "2", "--seed", "3")
        assert [x["id"] for x in first] == ["tiny-0", "tiny-1", "tiny-2"]
        assert all(len(x["samples"]) == 2 and all(isinstance(s, str) for s in x["samples"]) for x in first)
        assert [x["completion"] for x in first] == [x["completion"] for x in plain]  # greedy, as before
        assert first == again
