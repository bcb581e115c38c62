"""No credential in ``predict --api-base``'s messages and logs (issue 11, item 14).

Before the fix ``--api-base http://user:secret@host/v1`` printed the password, and the first 200 bytes
of a server's error reply were echoed as they came: a server that echoes the request's key leaked it.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest
from fake_http import JsonHandler, serving

from gui_agent_rl.cli import main as cli_main
from gui_agent_rl.train.api_client import redact, redact_url
from gui_agent_rl.train.tiny import write_tiny_dataset

KEY = "my-private-key-42"  # looks like no known token format: only knowing it can hide it


class EchoingServer(JsonHandler):
    """Replies ``status`` with an error body that repeats the request's Authorization header."""

    status: ClassVar[int] = 401

    def do_POST(self):
        self.read_json()
        auth = self.headers.get("Authorization", "")
        self.reply_json({"error": f"key rejected: {auth} (sk-proj-abcdef0123456789, key={KEY})"}, self.status)


@pytest.fixture
def server():
    with serving(EchoingServer) as url:
        yield url


def predict_cli(capsys, tmp_path, api_base: str, *extra: str) -> str:
    data = write_tiny_dataset(tmp_path / "d", n_samples=1)
    argv = ["predict", "--model", "m", "--api-base", api_base, "--dataset", str(data)]
    code = cli_main([*argv, "--output", str(tmp_path / "p.jsonl"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


class TestMessages:
    def test_password_in_the_url_is_never_shown(self, tmp_path, capsys, caplog):
        err = predict_cli(capsys, tmp_path, "http://user:s3cret-pw@127.0.0.1:9/v1")
        assert "s3cret-pw" not in err + caplog.text and "user:" not in err
        assert "http://***@127.0.0.1:9/v1" in err and "--api-key" in err

    @pytest.mark.parametrize("status", [401, 503])  # 503: retried, each retry logged
    def test_a_key_the_server_echoes_back_is_redacted(self, tmp_path, server, capsys, caplog, status):
        EchoingServer.status = status
        with caplog.at_level(logging.WARNING):
            err = predict_cli(capsys, tmp_path, f"{server}/v1", "--api-key", KEY, "--retries", "1")
        shown = err + caplog.text
        assert f"HTTP {status}" in err and "key rejected: Bearer ***" in err
        assert KEY not in shown and "sk-proj-abcdef" not in shown
        assert (status == 503) == ("retry 1/1" in caplog.text)

    def test_the_key_from_the_environment_is_redacted_too(self, tmp_path, server, capsys, monkeypatch):
        EchoingServer.status = 403
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        assert KEY not in predict_cli(capsys, tmp_path, f"{server}/v1")

    def test_not_a_url_is_one_line(self, tmp_path, capsys):
        assert "expected an http(s) URL" in predict_cli(capsys, tmp_path, "notaurl")


class TestRedaction:
    def test_url(self):
        assert redact_url("https://u:p@h:1/v1") == "https://***@h:1/v1"
        assert redact_url("http://h/v1?api-key=abc&x=1") == "http://h/v1?api-key=***&x=1"
        assert redact_url("http://h:8000/v1") == "http://h:8000/v1"

    def test_text(self):
        text = 'Auth: Bearer tok.en-1 "api_key": "zzz" http://a:b@h/ sk-abcdefgh1234 basic dXNlcjpwdw=='
        assert redact(text) == 'Auth: Bearer *** "api_key": "***" http://***@h/ sk-*** basic ***'
        assert redact("echo: hunter2-secret", ["hunter2-secret"]) == "echo: ***"
        assert redact("EMPTY body", [None, ""]) == "EMPTY body"
