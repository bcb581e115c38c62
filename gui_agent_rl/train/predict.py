"""Completions for a dataset: batched transformers ``generate``, or an OpenAI-compatible server.

Writes ``{"id": <sample id>, "completion": "<model text>"}`` lines (dataset order) for ``score`` and
``eval``. The prompts are the training prompts (images where the ``<image>`` markers stood). The
server mode is what the seed did after training::

    vllm serve CHECKPOINT --limit-mm-per-prompt image=2
    gui-agent-rl predict --model CHECKPOINT --api-base http://127.0.0.1:8000/v1 \
        --dataset d.jsonl --output p.jsonl
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gui_agent_rl.schemas import JsonlWriter, default_image_folder
from gui_agent_rl.train.data import DataError, DataSource, load_records, open_screen, prompt_messages

logger = logging.getLogger(__name__)


@dataclass
class PredictSettings:
    max_new_tokens: int = 512
    temperature: float = 0.0
    batch_size: int = 4
    min_pixels: int | None = None
    max_pixels: int | None = None
    limit: int | None = None
    timeout_s: float = 300.0


def _records(dataset: Path, image_folder: Path | None, limit: int | None) -> list[dict[str, Any]]:
    folder = Path(image_folder) if image_folder else default_image_folder(dataset)
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found")
    records = load_records([DataSource(Path(dataset), folder)])
    return records[:limit] if limit else records


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LocalGenerator:
    """transformers: one left-padded ``generate`` call per batch."""

    def __init__(self, model_path: str, settings: PredictSettings) -> None:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from gui_agent_rl.train.model import loading, set_pixel_limits

        self.settings = settings
        with loading("processor", model_path):
            self.processor = AutoProcessor.from_pretrained(model_path, padding_side="left")
        image_processor = getattr(self.processor, "image_processor", None)
        size = getattr(image_processor, "size", None) or {}  # a SizeDict or a dict
        self.min_pixels = settings.min_pixels or size.get("shortest_edge") or 3136
        self.max_pixels = settings.max_pixels or size.get("longest_edge")
        if settings.min_pixels or settings.max_pixels:
            set_pixel_limits(self.processor, self.min_pixels, self.max_pixels)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        with loading("model", model_path):
            model = AutoModelForImageTextToText.from_pretrained(model_path, dtype=dtype)
        self.model = model.to(device).eval()

    def generate(self, batch: Sequence[dict[str, Any]]) -> list[str]:
        import torch

        # Opened and resized exactly as in training (same frame, same pixels).
        images = [
            [open_screen(p, self.max_pixels, self.min_pixels)[0] for p in r["image_paths"]] for r in batch
        ]
        texts = [
            self.processor.apply_chat_template(
                prompt_messages(r["human"], len(imgs)), add_generation_prompt=True, tokenize=False
            )
            for r, imgs in zip(batch, images, strict=True)
        ]
        flat = [img for imgs in images for img in imgs]
        inputs = self.processor(text=texts, images=flat or None, padding=True, return_tensors="pt")
        inputs = inputs.to(self.model.device)
        sampling = {"do_sample": True, "temperature": self.settings.temperature}
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.settings.max_new_tokens,
                **(sampling if self.settings.temperature > 0 else {"do_sample": False}),
            )
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)


def image_data_url(path: str) -> str:
    """A screenshot as a base64 ``data:`` URL (PNG bytes kept as they are, others re-encoded as PNG)."""
    raw = Path(path).read_bytes()
    if not raw.startswith(b"\x89PNG"):
        from PIL import Image

        buf = io.BytesIO()
        with Image.open(io.BytesIO(raw)) as img:
            img.convert("RGB").save(buf, format="PNG")
        raw = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def api_messages(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The prompt in OpenAI chat format: ``image_url`` parts where the markers stood."""
    urls = iter([image_data_url(p) for p in record["image_paths"]])
    parts = []
    for part in prompt_messages(record["human"], len(record["image_paths"]))[0]["content"]:
        if part["type"] == "image":
            parts.append({"type": "image_url", "image_url": {"url": next(urls)}})
        else:
            parts.append(part)
    return [{"role": "user", "content": parts}]


class ApiGenerator:
    """An OpenAI-compatible ``/chat/completions`` endpoint (vLLM, SGLang, ...), ``batch_size`` in flight."""

    def __init__(self, model: str, api_base: str, api_key: str | None, settings: PredictSettings) -> None:
        self.model, self.settings = model, settings
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"

    def _one(self, record: dict[str, Any]) -> str:
        body = {
            "model": self.model,
            "messages": api_messages(record),
            "max_tokens": self.settings.max_new_tokens,
            "temperature": self.settings.temperature,
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace")
            raise DataError(f"{self.url}: HTTP {exc.code} for id {record['id']}: {detail}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise DataError(f"{self.url}: unreachable ({exc})") from None
        try:
            return reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise DataError(
                f"{self.url}: unexpected reply for id {record['id']}: {str(reply)[:200]}"
            ) from None

    def generate(self, batch: Sequence[dict[str, Any]]) -> list[str]:
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            return list(pool.map(self._one, batch))


def predict(
    model: str,
    dataset: str | Path,
    output: str | Path,
    image_folder: str | Path | None = None,
    *,
    settings: PredictSettings | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
) -> int:
    """Write one prediction line per sample of ``dataset``; returns how many."""
    settings = settings or PredictSettings()
    records = _records(Path(dataset), Path(image_folder) if image_folder else None, settings.limit)
    if api_base:
        generator: Any = ApiGenerator(model, api_base, api_key, settings)
    else:
        generator = LocalGenerator(model, settings)
    with JsonlWriter(output) as out:
        for batch in _batches(records, settings.batch_size):
            for record, completion in zip(batch, generator.generate(batch), strict=True):
                out.write({"id": record["id"], "completion": completion})
            logger.info("%d/%d predicted", out.count, len(records))
    return out.count
