"""llm_judge against a small OpenAI-compatible server on 127.0.0.1 started by the test."""

from __future__ import annotations

import json
import logging
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from fake_http import QuietHTTPServer

from gui_agent_rl.rewards.llm_judge import FALLBACK_SCORE, LLMJudgeReward, parse_grade

KEY = "sk-test-secret-123"
TRUTH = '{"action_type": "back", "action_parameter": {"back": ""}}'
GOOD = f"<think>x</think><answer>{TRUTH}</answer>"


class FakeEndpoint:
    """Answers /v1/chat/completions with queued (status, reply text, delay) entries, then the default."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.queue: list[tuple[int, str, float]] = []
        self.default = (200, "8", 0.0)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), **body}
                )
                status, text, delay = endpoint.queue.pop(0) if endpoint.queue else endpoint.default
                time.sleep(delay)
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": text}}]}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)


@pytest.fixture
def endpoint(monkeypatch):
    fake = FakeEndpoint()
    fake.thread.start()
    monkeypatch.setenv("OPENAI_API_BASE", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def judge(**kwargs) -> LLMJudgeReward:
    return LLMJudgeReward(model="judge-model", backoff=0.01, **kwargs)


class TestLLMJudge:
    def test_grade_out_of_ten_becomes_the_score(self, endpoint):
        assert judge()(completions=[GOOD], solution=[TRUTH]) == [0.8]
        (req,) = endpoint.requests
        assert req["path"] == "/v1/chat/completions" and req["model"] == "judge-model"
        assert req["auth"] == f"Bearer {KEY}"
        assert TRUTH in req["messages"][1]["content"]

    def test_identical_answers_cost_one_request_and_are_cached(self, endpoint):
        reward = judge()
        assert reward(completions=[GOOD, GOOD], solution=[TRUTH, TRUTH]) == [0.8, 0.8]
        assert reward(completions=[GOOD], solution=[TRUTH]) == [0.8]
        assert len(endpoint.requests) == 1

    def test_server_errors_are_retried(self, endpoint):
        endpoint.queue = [(503, "", 0.0), (429, "", 0.0)]
        assert judge(retries=2)(completions=[GOOD], solution=[TRUTH]) == [0.8]
        assert len(endpoint.requests) == 3

    def test_client_errors_are_not_retried(self, endpoint):
        endpoint.queue = [(400, "", 0.0)]
        assert judge(retries=3)(completions=[GOOD], solution=[TRUTH]) == [FALLBACK_SCORE]
        assert len(endpoint.requests) == 1

    def test_failing_endpoint_scores_the_fallback_warns_without_the_key_and_caches_nothing(
        self, endpoint, caplog
    ):
        endpoint.default = (500, "", 0.0)
        reward = judge(retries=1)
        with caplog.at_level(logging.WARNING, logger="gui_agent_rl.rewards.llm_judge"):
            assert reward(completions=[GOOD], solution=[TRUTH]) == [FALLBACK_SCORE]
        assert "HTTP 500 after 2 attempts" in caplog.text
        assert KEY not in caplog.text
        endpoint.default = (200, "10", 0.0)
        assert reward(completions=[GOOD], solution=[TRUTH]) == [1.0]

    def test_slow_endpoint_times_out_to_the_fallback(self, endpoint):
        endpoint.queue = [(200, "9", 1.0)]
        start = time.perf_counter()
        assert judge(timeout=0.2, retries=0)(completions=[GOOD], solution=[TRUTH]) == [FALLBACK_SCORE]
        assert time.perf_counter() - start < 0.9

    def test_completion_without_an_answer_scores_zero_without_a_request(self, endpoint):
        assert judge()(completions=["no answer here"], solution=[TRUTH]) == [0.0]
        assert endpoint.requests == []

    def test_reply_without_a_number_scores_zero(self, endpoint):
        endpoint.default = (200, "looks fine", 0.0)
        assert judge()(completions=[GOOD], solution=[TRUTH]) == [0.0]

    def test_missing_endpoint_setting_is_a_configuration_error(self, monkeypatch):
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        with pytest.raises(ValueError, match="OPENAI_API_BASE"):
            judge()(completions=[GOOD], solution=[TRUTH])

    def test_pickle_keeps_settings_and_drops_the_cache(self, endpoint):
        reward = judge(timeout=3.0)
        reward(completions=[GOOD], solution=[TRUTH])
        clone = pickle.loads(pickle.dumps(reward))
        assert clone.__name__ == "llm_judge" and clone.timeout == 3.0 and clone.model == "judge-model"
        assert clone(completions=[GOOD], solution=[TRUTH]) == [0.8]
        assert len(endpoint.requests) == 2

    def test_credentials_in_the_url_are_not_logged(self, endpoint, caplog):
        endpoint.default = (500, "", 0.0)
        url = endpoint.url.replace("http://", "http://user:hunter2@")
        with caplog.at_level(logging.WARNING, logger="gui_agent_rl.rewards.llm_judge"):
            assert judge(base_url=url, retries=0)(completions=[GOOD], solution=[TRUTH]) == [FALLBACK_SCORE]
        assert "hunter2" not in caplog.text and "127.0.0.1" in caplog.text

    def test_nonsense_settings_are_refused(self):
        with pytest.raises(ValueError, match="timeout"):
            LLMJudgeReward(timeout=0)


class TestParseGrade:
    @pytest.mark.parametrize(
        ("reply", "grade"),
        [("7", 0.7), ("Score: 10/10", 1.0), ("-3", 0.0), ("42", 1.0), ("8.5", 0.85), ("none", None)],
    )
    def test_first_number_out_of_ten_clamped(self, reply, grade):
        assert parse_grade(reply) == (grade if grade is None else pytest.approx(grade))
