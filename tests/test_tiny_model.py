"""The offline tiny Qwen2.5-VL: loads with the Auto classes, ids agree, Chinese round-trips, images work."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from gui_agent_rl.cli import main as cli_main  # noqa: E402
from gui_agent_rl.train.tiny import QWEN_SPECIAL_TOKENS, build_tiny_model  # noqa: E402

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    return AutoModelForImageTextToText.from_pretrained(path), AutoProcessor.from_pretrained(path)


class TestTinyModel:
    def test_real_architecture_and_processor_classes(self, loaded):
        model, processor = loaded
        assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
        assert type(processor).__name__ == "Qwen2_5_VLProcessor"
        assert type(processor.tokenizer).__name__ == "Qwen2Tokenizer"
        assert model.model.visual.merger is not None

    def test_special_token_ids_agree_with_config_and_keep_qwen_order(self, loaded):
        model, processor = loaded
        ids = [processor.tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        tok = processor.tokenizer.convert_tokens_to_ids
        assert model.config.image_token_id == tok("<|image_pad|>")
        assert model.config.video_token_id == tok("<|video_pad|>")
        assert model.config.vision_start_token_id == tok("<|vision_start|>")
        assert model.config.text_config.eos_token_id == tok("<|im_end|>")
        assert model.config.text_config.vocab_size >= len(processor.tokenizer)

    def test_chinese_and_json_round_trip_byte_level(self, loaded):
        tokenizer = loaded[1].tokenizer
        text = '点击「购物车」{"action_type": "click"} 𠀀 emoji 🙂'
        assert tokenizer.decode(tokenizer(text)["input_ids"]) == text

    def test_chat_template_renders_one_image_pad_per_image_item(self, loaded):
        processor = loaded[1]
        parts = [{"type": "text", "text": "上一屏"}, {"type": "image"}, {"type": "text", "text": "当前屏"}]
        messages = [{"role": "user", "content": [*parts, {"type": "image"}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 2
        assert text.index("上一屏") < text.index("<|image_pad|>") < text.index("当前屏")
        assert text.endswith("<|im_start|>assistant\n")

    def test_generates_from_two_images(self, loaded):
        from PIL import Image

        model, processor = loaded
        messages = [
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "go"}],
            }
        ]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images = [Image.new("RGB", (100, 200), "red"), Image.new("RGB", (300, 150), "blue")]
        inputs = processor(text=[text], images=images, return_tensors="pt")
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
        assert out.shape[1] > inputs["input_ids"].shape[1]


class TestTinyModelCommand:
    def test_writes_a_loadable_folder(self, tmp_path, capsys):
        assert cli_main(["tiny-model", str(tmp_path / "m")]) == 0
        names = {p.name for p in (tmp_path / "m").iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= names
        assert "chat_template.jinja" in names or "chat_template.json" in names
