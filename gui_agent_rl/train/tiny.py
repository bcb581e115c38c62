"""An offline tiny random Qwen2.5-VL (real architecture, tokenizer and chat template) for CPU runs.

No model hub is needed: the configuration is Qwen2.5-VL's with tiny sizes, the tokenizer is a
byte-level BPE trained on a small built-in corpus (English, Chinese, the action JSON vocabulary) and
wrapped in transformers' ``Qwen2Tokenizer`` (Qwen's pre-tokenizer), and the special tokens sit after
the learned vocabulary in Qwen's order, with the model config's token ids taken from the tokenizer.

>>> build_tiny_model("tiny-qwen")  # doctest: +SKIP
PosixPath('tiny-qwen')

The folder then loads with ``AutoModelForImageTextToText.from_pretrained`` and
``AutoProcessor.from_pretrained``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLProcessor, Qwen2Tokenizer

logger = logging.getLogger(__name__)

# Qwen2's special tokens in the order Qwen's vocabulary lists them (ids 151643.. in the real model).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2.5-VL-7B-Instruct's chat template, verbatim.
QWEN2_5_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# A small corpus so the BPE learns merges for the words our prompts and answers use.
_CORPUS = (
    "You are a phone operation agent. Look at the screenshot and the task, then answer.",
    '<think>{"screen": "home", "goal": "open the app", "plan": "tap", "check": "ok"}</think>',
    '<answer>{"action_type": "click", "box": [[120, 340], [560, 410]]}</answer>',
    '{"action_type": "swipe", "start": [300, 900], "end": [300, 200]}',
    '{"action_type": "type", "text": "hello"} {"action_type": "open_app", "text": "淘宝"}',
    '{"action_type": "long_click"} {"action_type": "task_completed"} {"action_type": "task_impossible"}',
    '{"action_type": "inquiry", "inquiry": {"question": "?", "candidates": ["A", "B"], "answer_index": 0}}',
    "根据输入的任务内容和UI图,生成合适的手机操作。动作类型和参数需要与实际手机操作的UI区域对应。",
    "输出需要是json字符串,而且是有效的动作表达。打开淘宝,点击底部购物车,点击店铺,点击关注,等待。",
    "任务描述、UI图以及历史操作,确定精确的动作,输出相应的操作参数。搜索框 输入 返回 首页 设置 微信",
    "0123456789 ,.:;!?()[]{}<>/\\'\"-_+=*&%$#@ abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    # The wire format (SPEC §3) and the synthetic tasks' prompts, so that an answer is ~20 tokens, not ~40.
    '<answer>{"action_type": "click", "action_parameter": {"click": "12,34,56,78"}}</answer>',
    '{"action_type": "open_app", "action_parameter": {"open_app": "mail"}, "action_description": "x"}',
    '{"action_type": "long_click", "action_parameter": {"long_click": "1,2,3,4"}}',
    '{"action_type": "type", "action_parameter": {"type": "cat"}} {"action_type": "swipe"}',
    '{"action_type": "back", "action_parameter": {"back": ""}} {"action_type": "wait", "action_parameter": '
    '{"wait": ""}} {"action_type": "task_completed", "action_parameter": {"task_completed": "done"}} '
    '{"action_type": "task_impossible", "action_parameter": {"task_impossible": "cannot"}}',
    '{"task_content": "tap red", "screen_path1": "<image>", "screen_path2": "<image>"}',
    "You operate a phone. Answer with the action that task_content asks for. Allowed actions, one example "
    "each: Output exactly and nothing else. Input: The screenshot pixels shows coloured buttons; "
    "which one to tap. Answer with a click on that button's pixel box. The only allowed action, for example",
)

TINY_TEXT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    # head_dim 16 -> 8 rotary frequencies, split over (temporal, height, width) like 7B's [16, 24, 24].
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
}
TINY_VISION = {
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "fullatt_block_indexes": [1],
}


def train_tokenizer(vocab_size: int = 1000) -> Qwen2Tokenizer:
    """A byte-level BPE on the built-in corpus, as a ``Qwen2Tokenizer`` with Qwen's special tokens last."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AddedToken, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    vocab = dict(state["vocab"])
    # Specials go last, in Qwen's order, so their ids relate as in the real vocabulary.
    vocab.update({t: len(vocab) + i for i, t in enumerate(QWEN_SPECIAL_TOKENS)})
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in QWEN_SPECIAL_TOKENS[1:]]}
    )
    tokenizer.chat_template = QWEN2_5_VL_CHAT_TEMPLATE
    return tokenizer


def build_processor(
    tokenizer: Qwen2Tokenizer, min_pixels: int = 4 * 28 * 28, max_pixels: int = 64 * 28 * 28
) -> Qwen2_5_VLProcessor:
    """Qwen2.5-VL's processor (image, video, tokenizer, chat template), whole so AutoProcessor loads it."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(size=size),
        chat_template=QWEN2_5_VL_CHAT_TEMPLATE,
    )


def build_tiny_config(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLConfig:
    """Tiny sizes; every token id read from ``tokenizer`` so model and tokenizer agree."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    vocab = -(-len(tokenizer) // 64) * 64  # padded like Qwen's embedding matrix
    text = dict(
        TINY_TEXT, vocab_size=vocab, bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"]
    )
    text["pad_token_id"] = ids["<|endoftext|>"]
    vision = dict(TINY_VISION, out_hidden_size=TINY_TEXT["hidden_size"])
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )


def build_tiny_model(
    out_dir: str | Path, seed: int = 0, min_pixels: int = 4 * 28 * 28, max_pixels: int = 64 * 28 * 28
) -> Path:
    """Write a tiny random Qwen2.5-VL (weights, config, generation config, processor) to ``out_dir``."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    config = build_tiny_config(tokenizer)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.generation_config = GenerationConfig(
        bos_token_id=eot, eos_token_id=[im_end, eot], pad_token_id=eot, do_sample=True, temperature=1.0
    )
    model.save_pretrained(out)
    build_processor(tokenizer, min_pixels, max_pixels).save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("tiny Qwen2.5-VL (%d parameters, vocab %d) written to %s", n_params, len(tokenizer), out)
    return out


def write_tiny_dataset(root: str | Path, n_samples: int = 4, size: tuple[int, int] = (112, 224)) -> Path:
    """A few two-screenshot click samples (plain coloured PNGs) for CPU tests and demos; returns the JSONL.

    Image paths in the JSONL are relative to ``root`` (pass ``root`` as the image folder).
    """
    from PIL import Image, ImageDraw

    from gui_agent_rl.schemas import write_samples

    root = Path(root)
    (root / "screens").mkdir(parents=True, exist_ok=True)
    samples = []
    w, h = size
    for i in range(n_samples):
        names = [f"screens/{i}_prev.png", f"screens/{i}_cur.png"]
        for j, name in enumerate(names):
            img = Image.new("RGB", size, (40 * i % 255, 90 + 60 * j, 200))
            ImageDraw.Draw(img).rectangle((10, 20 + 10 * i, 60, 50 + 10 * i), fill=(250, 250, 250))
            img.save(root / name)
        box = f"10,{20 + 10 * i},60,{50 + 10 * i}"
        truth = {"action_type": "click", "action_parameter": {"click": box}, "action_description": "点击按钮"}
        samples.append(
            {
                "id": f"tiny-{i}",
                "image": names,
                "conversations": [
                    {"from": "human", "value": f"任务{i}:点击按钮。上一屏<image>当前屏<image>请输出动作。"},
                    {"from": "gpt", "value": json.dumps(truth, ensure_ascii=False)},
                ],
                "image_sizes": [[w, h], [w, h]],
                "task_id": f"task{i}",
                "step": 1,
            }
        )
    path = root / "data.jsonl"
    write_samples(path, samples)
    return path
