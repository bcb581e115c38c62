"""``predict``: batched transformers generation with the tiny model, and an OpenAI-compatible server."""

from __future__ import annotations

import base64
import json
from typing import ClassVar

import pytest
from fake_http import JsonHandler, serving

from gui_agent_rl.train.data import DataError
from gui_agent_rl.train.predict import PredictSettings, api_messages, predict
from gui_agent_rl.train.tiny import write_tiny_dataset


class FakeChatServer(JsonHandler):
    """Answers /v1/chat/completions with the number of images it received; records the requests."""

    requests: ClassVar[list] = []

    def do_POST(self):
        body = self.read_json()
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        parts = body["messages"][0]["content"]
        n_images = sum(p["type"] == "image_url" for p in parts)
        reply = {
            "choices": [{"message": {"role": "assistant", "content": f"<answer>{n_images} images</answer>"}}]
        }
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        self.reply_json(reply)


@pytest.fixture
def server():
    FakeChatServer.requests = []
    with serving(FakeChatServer) as url:
        yield url


class TestApiPredict:
    def test_writes_one_line_per_sample_in_order_with_base64_screens(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=3)
        out = tmp_path / "pred.jsonl"
        settings = PredictSettings(batch_size=2)
        n = predict("served-model", data, out, settings=settings, api_base=f"{server}/v1", api_key="k")
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert n == 3 and [x["id"] for x in lines] == ["tiny-0", "tiny-1", "tiny-2"]
        assert all(x["completion"] == "<answer>2 images</answer>" for x in lines)
        request = FakeChatServer.requests[0]
        assert request["auth"] == "Bearer k" and request["body"]["model"] == "served-model"
        url = request["body"]["messages"][0]["content"][1]["image_url"]["url"]
        assert base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")

    def test_server_error_is_one_line_data_error(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        with pytest.raises(DataError, match="HTTP 404"):
            predict("m", data, tmp_path / "p.jsonl", api_base=f"{server}/wrong")
        assert not (tmp_path / "p.jsonl").exists()  # atomic writer left nothing behind

    def test_image_parts_sit_where_the_markers_were(self, tmp_path):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1)
        record = {
            "human": "A<image>B<image>",
            "image_paths": [str(data.parent / "screens" / "0_prev.png")] * 2,
        }
        kinds = [p["type"] for p in api_messages(record)[0]["content"]]
        assert kinds == ["text", "image_url", "text", "image_url"]


@pytest.mark.train
class TestLocalPredict:
    def test_tiny_model_batched_generation_through_the_cli(self, tmp_path, capsys):
        pytest.importorskip("torch")
        from gui_agent_rl.cli import main as cli_main
        from gui_agent_rl.train.tiny import build_tiny_model

        model = build_tiny_model(tmp_path / "m")
        data = write_tiny_dataset(tmp_path / "d", n_samples=3)
        out = tmp_path / "pred.jsonl"
        argv = ["predict", "--model", str(model), "--dataset", str(data), "--output", str(out),
                "--batch-size", "2", "--max-new-tokens", "4"]  # fmt: skip
        assert cli_main(argv) == 0
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert [x["id"] for x in lines] == ["tiny-0", "tiny-1", "tiny-2"]
        assert all(isinstance(x["completion"], str) for x in lines)
