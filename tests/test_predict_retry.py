"""``predict --api-base`` survives a flaky server and keeps what it predicted (issue 11, item 6).

Before the fix one failed request (a 503, a dropped connection) ended the run with nothing written:
no retry, and the atomic writer discarded every finished prediction.
"""

from __future__ import annotations

import json
import threading
import urllib.error
from typing import ClassVar

import pytest
from fake_http import JsonHandler, serving

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.train import api_client
from gui_agent_rl.train.data import DataError
from gui_agent_rl.train.partial import HEADER_KEY, partial_path
from gui_agent_rl.train.predict import PredictSettings, _stamp, predict
from gui_agent_rl.train.tiny import write_tiny_dataset

FAST = {"retry_wait_s": 0.0, "batch_size": 2}


def sample_index(body: dict) -> int:
    """Which tiny sample a request is for: its prompt says 任务<i>."""
    text = "".join(p.get("text", "") for p in body["messages"][0]["content"])
    return int(text.split("任务", 1)[1].split(":", 1)[0])


class FlakyServer(JsonHandler):
    """Answers ``<answer>i</answer>``; ``script`` holds what to do before answering: a status to send, or
    "drop" (close without a reply). ``broken`` samples always get HTTP 500."""

    lock = threading.Lock()
    script: ClassVar[list] = []
    broken: ClassVar[set[int]] = set()
    seen: ClassVar[list[int]] = []

    def do_POST(self):
        index = sample_index(self.read_json())
        with self.lock:
            type(self).seen.append(index)
            action = self.script.pop(0) if self.script else None
        if index in self.broken:
            action = 500
        if action == "drop":
            self.close_connection = True
            return
        if action is not None:
            self.send_response(action)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"busy")
            return
        self.reply_json({"choices": [{"message": {"content": f"<answer>{index}</answer>"}}]})


@pytest.fixture
def server():
    FlakyServer.script, FlakyServer.broken, FlakyServer.seen = [], set(), []
    with serving(FlakyServer) as url:
        yield f"{url}/v1"


def completions(path) -> dict[str, str]:
    return {x["id"]: x["completion"] for x in map(json.loads, path.read_text().splitlines())}


class TestRetries:
    def test_503_429_and_a_dropped_connection_are_retried(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=3)
        FlakyServer.script = [503, "drop", 429, 502]
        out = tmp_path / "p.jsonl"
        assert predict("m", data, out, settings=PredictSettings(**FAST), api_base=server) == 3
        assert completions(out) == {f"tiny-{i}": f"<answer>{i}</answer>" for i in range(3)}
        assert len(FlakyServer.seen) == 7 and not partial_path(out).exists()

    def test_gives_up_after_the_retries_naming_the_attempts(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        FlakyServer.broken = {0}
        settings = PredictSettings(retries=2, **FAST)
        with pytest.raises(DataError, match=r"HTTP 500 for id tiny-0: busy \(after 3 attempts\)"):
            predict("m", data, tmp_path / "p.jsonl", settings=settings, api_base=server)
        assert FlakyServer.seen == [0, 0, 0]

    def test_a_client_error_is_not_retried(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        FlakyServer.script = [400]
        with pytest.raises(DataError, match="HTTP 400"):
            predict("m", data, tmp_path / "p.jsonl", settings=PredictSettings(**FAST), api_base=server)
        assert FlakyServer.seen == [0]

    def test_backoff_doubles_up_to_the_cap_and_follows_retry_after(self, monkeypatch):
        waits: list[float] = []
        failures = iter([urllib.error.URLError("refused")] * 7)

        def attempt(request, timeout):
            raise next(failures)

        monkeypatch.setattr(api_client, "_attempt", attempt)
        with pytest.raises(DataError, match="unreachable"):
            api_client.post_json("http://h/v1", {}, {}, timeout=1, retries=6, sleep=waits.append)
        assert waits == [1, 2, 4, 8, 16, 30]

    def test_retries_option_through_the_cli(self, tmp_path, server, capsys):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        FlakyServer.script = [503]
        argv = ["predict", "--model", "m", "--api-base", server, "--dataset", str(data)]
        assert cli_main([*argv, "--output", str(tmp_path / "p.jsonl"), "--retries", "-1"]) == 2
        assert "--retries must be >= 0" in capsys.readouterr().err
        assert cli_main([*argv, "--output", str(tmp_path / "p.jsonl"), "--retries", "0"]) == 2
        assert "HTTP 503" in capsys.readouterr().err


class TestResume:
    def test_finished_predictions_survive_a_failure_and_a_rerun_resumes(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=5)
        out = tmp_path / "p.jsonl"
        FlakyServer.broken = {3}
        settings = PredictSettings(retries=1, **FAST)
        with pytest.raises(DataError, match="id tiny-3"):
            predict("m", data, out, settings=settings, api_base=server)
        assert not out.exists()
        kept = partial_path(out).read_text().splitlines()
        assert HEADER_KEY in json.loads(kept[0])
        assert {json.loads(x)["id"] for x in kept[1:]} == {"tiny-0", "tiny-1", "tiny-2"}  # tiny-2: same batch

        FlakyServer.broken, FlakyServer.seen = set(), []
        assert predict("m", data, out, settings=settings, api_base=server) == 5
        assert sorted(FlakyServer.seen) == [3, 4]  # only what was missing
        assert list(completions(out)) == [f"tiny-{i}" for i in range(5)]  # dataset order
        assert not partial_path(out).exists()

    def test_a_line_cut_short_by_a_crash_is_predicted_again(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=2)
        out = tmp_path / "p.jsonl"
        settings = PredictSettings(**FAST)
        header = json.dumps({HEADER_KEY: _stamp("m", settings)})
        kept = json.dumps({"id": "tiny-0", "completion": "KEPT"})
        partial_path(out).write_text(f'{header}\n{kept}\n{{"id": "tiny-1", "compl', encoding="utf-8")
        predict("m", data, out, settings=settings, api_base=server)
        assert completions(out) == {"tiny-0": "KEPT", "tiny-1": "<answer>1</answer>"}
        assert FlakyServer.seen == [1]

    def test_other_settings_refuse_to_resume_and_no_resume_starts_over(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=2)
        out = tmp_path / "p.jsonl"
        header = json.dumps({HEADER_KEY: _stamp("m", PredictSettings(temperature=0.7))})
        partial_path(out).write_text(header + "\n" + json.dumps({"id": "tiny-0", "completion": "x"}) + "\n")
        with pytest.raises(DataError, match=r"other temperature.*--no-resume"):
            predict("m", data, out, settings=PredictSettings(**FAST), api_base=server)
        predict("m", data, out, settings=PredictSettings(**FAST), api_base=server, resume=False)
        assert completions(out) == {"tiny-0": "<answer>0</answer>", "tiny-1": "<answer>1</answer>"}

    def test_no_resume_through_the_cli(self, tmp_path, server, capsys):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        out = tmp_path / "p.jsonl"
        partial_path(out).write_text("not a progress file\n")
        argv = ["predict", "--model", "m", "--api-base", server, "--dataset", str(data), "--output", str(out)]
        assert cli_main(argv) == 2
        assert "not a predict progress file" in capsys.readouterr().err
        assert cli_main([*argv, "--no-resume"]) == 0
        assert completions(out) == {"tiny-0": "<answer>0</answer>"}


@pytest.mark.train
class TestLocalModelResumes:
    def test_tiny_model_keeps_the_partial_lines_and_generates_the_rest(self, tmp_path):
        pytest.importorskip("torch")
        from gui_agent_rl.train.tiny import build_tiny_model

        model = str(build_tiny_model(tmp_path / "m"))
        data = write_tiny_dataset(tmp_path / "d", n_samples=3)
        out = tmp_path / "p.jsonl"
        settings = PredictSettings(max_new_tokens=3, batch_size=2)
        header = json.dumps({HEADER_KEY: _stamp(model, settings)})
        kept = json.dumps({"id": "tiny-1", "completion": "KEPT"})
        partial_path(out).write_text(f"{header}\n{kept}\n")
        assert predict(model, data, out, settings=settings) == 3
        got = completions(out)
        assert list(got) == ["tiny-0", "tiny-1", "tiny-2"] and got["tiny-1"] == "KEPT"
        assert not partial_path(out).exists()
