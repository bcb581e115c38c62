"""``predict --api-base`` sends screens in the training frame (issue 10, item 7).

The server's own resize depends on its pixel limits; the client resizes first, with the training
helper and the run's limits, so what the server receives is already ``smart_resize`` of the original.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import ClassVar

import pytest
from fake_http import JsonHandler, serving
from PIL import Image

from gui_agent_rl.schemas import smart_resize
from gui_agent_rl.train.api_frame import PixelLimits, resolve_pixel_limits, saved_pixel_limits
from gui_agent_rl.train.data import DataError, open_screen
from gui_agent_rl.train.predict import PredictSettings, predict
from gui_agent_rl.train.tiny import write_tiny_dataset

ORIGINAL = (500, 1000)  # (width, height) of the test screens
TRAIN_MIN, TRAIN_MAX = 4 * 28 * 28, 64 * 28 * 28  # the tiny recipe's limits


class ImageRecordingServer(JsonHandler):
    """An OpenAI-compatible /v1/chat/completions that keeps every image it receives (decoded)."""

    images: ClassVar[list[Image.Image]] = []
    payloads: ClassVar[list[bytes]] = []

    def do_POST(self):
        body = self.read_json()
        for part in body["messages"][0]["content"]:
            if part["type"] == "image_url":
                raw = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                type(self).payloads.append(raw)
                type(self).images.append(Image.open(io.BytesIO(raw)).convert("RGB"))
        self.reply_json({"choices": [{"message": {"content": "<answer>{}</answer>"}}]})


@pytest.fixture
def server():
    ImageRecordingServer.images, ImageRecordingServer.payloads = [], []
    with serving(ImageRecordingServer) as url:
        yield f"{url}/v1"


def training_size(min_pixels: int, max_pixels: int, size: tuple[int, int] = ORIGINAL) -> tuple[int, int]:
    """(width, height) the training processor gives a screen of ``size``."""
    h, w = smart_resize(size[1], size[0], min_pixels=min_pixels, max_pixels=max_pixels)
    return w, h


def received_sizes() -> set[tuple[int, int]]:
    return {img.size for img in ImageRecordingServer.images}


class TestScreensArriveInTheTrainingFrame:
    def test_limits_from_the_settings(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=2, size=ORIGINAL)
        settings = PredictSettings(min_pixels=TRAIN_MIN, max_pixels=TRAIN_MAX)
        predict("served", data, tmp_path / "p.jsonl", settings=settings, api_base=server)
        assert len(ImageRecordingServer.images) == 4
        assert received_sizes() == {training_size(TRAIN_MIN, TRAIN_MAX)} == {(140, 308)}

    def test_pixels_are_the_training_helpers(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1, size=ORIGINAL)
        settings = PredictSettings(min_pixels=TRAIN_MIN, max_pixels=TRAIN_MAX)
        predict("served", data, tmp_path / "p.jsonl", settings=settings, api_base=server)
        trained, _ = open_screen(str(data.parent / "screens" / "0_prev.png"), TRAIN_MAX, TRAIN_MIN)
        assert ImageRecordingServer.images[0].tobytes() == trained.tobytes()  # PNG: lossless

    def test_limits_from_the_checkpoints_saved_processor(self, tmp_path, server):
        # the layout transformers 5 writes (gui-agent-rl tiny-model, a trained checkpoint)
        model = tmp_path / "checkpoint"
        model.mkdir()
        size = {"longest_edge": TRAIN_MAX, "shortest_edge": TRAIN_MIN}
        config = {"image_processor": {"size": size}, "processor_class": "Qwen2_5_VLProcessor"}
        (model / "processor_config.json").write_text(json.dumps(config))
        data = write_tiny_dataset(tmp_path / "d", n_samples=1, size=ORIGINAL)
        predict(str(model), data, tmp_path / "p.jsonl", api_base=server)
        assert received_sizes() == {training_size(TRAIN_MIN, TRAIN_MAX)}

    def test_through_the_cli(self, tmp_path, server):
        from gui_agent_rl.cli import main as cli_main

        data = write_tiny_dataset(tmp_path / "d", n_samples=1, size=ORIGINAL)
        argv = ["predict", "--model", "served", "--api-base", server, "--dataset", str(data),
                "--output", str(tmp_path / "p.jsonl"), "--max-pixels", str(TRAIN_MAX)]  # fmt: skip
        assert cli_main(argv) == 0
        assert received_sizes() == {training_size(3136, TRAIN_MAX)}

    def test_a_screen_already_in_the_frame_goes_as_its_own_bytes(self, tmp_path, server, caplog):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1, size=(112, 224))  # 28-aligned, in range
        with caplog.at_level(logging.WARNING):
            predict("served", data, tmp_path / "p.jsonl", api_base=server)
        assert ImageRecordingServer.payloads[0] == (data.parent / "screens" / "0_prev.png").read_bytes()
        assert "training defaults" in caplog.text  # a served name: no saved processor to read

    def test_jpeg_screens_are_resized_and_sent_as_png(self, tmp_path, server):
        data = write_tiny_dataset(tmp_path / "d", n_samples=1, size=ORIGINAL)
        for name in ("0_prev", "0_cur"):
            Image.open(data.parent / "screens" / f"{name}.png").save(data.parent / "screens" / f"{name}.jpg")
        data.write_text(data.read_text().replace(".png", ".jpg"))
        settings = PredictSettings(min_pixels=TRAIN_MIN, max_pixels=TRAIN_MAX)
        predict("served", data, tmp_path / "p.jsonl", settings=settings, api_base=server)
        assert all(raw.startswith(b"\x89PNG") for raw in ImageRecordingServer.payloads)
        assert received_sizes() == {training_size(TRAIN_MIN, TRAIN_MAX)}


class TestPixelLimits:
    def test_release_layout_min_max_pixels_win_over_size(self, tmp_path):
        # Qwen2.5-VL-7B-Instruct's preprocessor_config.json spells them min_pixels/max_pixels
        config = {"min_pixels": 3136, "max_pixels": 12845056, "size": {"shortest_edge": 1, "longest_edge": 2}}
        (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
        assert saved_pixel_limits(tmp_path) == (3136, 12845056)

    def test_arguments_override_the_saved_processor_one_by_one(self, tmp_path):
        config = {"image_processor": {"size": {"shortest_edge": 100, "longest_edge": 50176}}}
        (tmp_path / "processor_config.json").write_text(json.dumps(config))
        assert resolve_pixel_limits(tmp_path, max_pixels=80000) == PixelLimits(100, 80000)
        assert resolve_pixel_limits("served-name") == PixelLimits()  # the training defaults

    def test_bad_limits_and_bad_config_are_one_line_errors(self, tmp_path):
        with pytest.raises(DataError, match="larger than max_pixels"):
            resolve_pixel_limits("served", min_pixels=5000, max_pixels=4000)
        (tmp_path / "processor_config.json").write_text("{not json")
        with pytest.raises(DataError, match="unreadable processor config"):
            resolve_pixel_limits(tmp_path)
