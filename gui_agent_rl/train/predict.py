"""Completions for a dataset: batched transformers ``generate``, or an OpenAI-compatible server.

Writes ``{"id": <sample id>, "completion": "<model text>"}`` lines (dataset order) for ``score`` and
``eval``. With ``num_samples`` K >= 1 a line also holds ``"samples"`` (K completions sampled at
``temperature``, 1.0 when that is 0; nucleus ``top_p``, top-k off) and ``"temperature"``, while
``completion`` stays the greedy one (or ``samples[0]`` with ``greedy=False``). The prompts are the
training prompts (images where the ``<image>`` markers stood). The server mode is what the seed did
after training::

    vllm serve CHECKPOINT --limit-mm-per-prompt image=2
    gui-agent-rl predict --model CHECKPOINT --api-base http://127.0.0.1:8000/v1 \
        --dataset d.jsonl --output p.jsonl

Both modes show the model each screenshot resized exactly as in training (:func:`open_screen` with the
run's pixel limits), so it answers in the frame the rewards and ``eval`` score in. The server mode
resizes on the client, before encoding, with the limits of :func:`resolve_pixel_limits` (the server's
own ``smart_resize`` then leaves the 28-aligned, in-range image as it is, whatever its limits, unless
its ``max_pixels`` is smaller than the image).
"""

from __future__ import annotations

import json
import logging
import math
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gui_agent_rl.schemas import JsonlWriter, default_image_folder
from gui_agent_rl.train.api_frame import TRAINING_LIMITS, PixelLimits, image_data_url, resolve_pixel_limits
from gui_agent_rl.train.data import DataError, DataSource, load_records, open_screen, prompt_messages

logger = logging.getLogger(__name__)


DEFAULT_SAMPLE_TEMPERATURE = 1.0  # the samples' temperature when --temperature is 0 (greedy)


class Pass(NamedTuple):
    """One decoding pass over a batch: ``n`` completions per prompt; temperature 0 is greedy."""

    temperature: float
    n: int


@dataclass
class PredictSettings:
    max_new_tokens: int = 512
    temperature: float = 0.0
    batch_size: int = 4
    min_pixels: int | None = None
    max_pixels: int | None = None
    limit: int | None = None
    timeout_s: float = 300.0
    num_samples: int = 0
    """Sampled completions per sample besides the greedy one (0: none, the plain line format)."""
    top_p: float = 1.0
    seed: int | None = None
    """Seeds sampling: ``torch.manual_seed`` before generating, or the request's ``seed``."""
    greedy: bool = True
    """With ``num_samples``: also the greedy pass (False: ``completion`` is ``samples[0]``)."""

    def __post_init__(self) -> None:
        if self.num_samples < 0:
            raise ValueError(f"--num-samples must be >= 0, got {self.num_samples}")
        if not 0 <= self.temperature < math.inf:
            raise ValueError(f"--temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")
        if not self.greedy and self.num_samples == 0:
            raise ValueError("--no-greedy needs --num-samples >= 1")

    @property
    def sample_temperature(self) -> float:
        """The samples' temperature: ``temperature``, or 1.0 when that is 0."""
        return self.temperature or DEFAULT_SAMPLE_TEMPERATURE

    def passes(self) -> list[Pass]:
        """The decoding passes per batch: ``completion``'s, then the samples' (when any)."""
        if self.num_samples == 0:
            return [Pass(self.temperature, 1)]
        greedy = [Pass(0.0, 1)] if self.greedy else []
        return [*greedy, Pass(self.sample_temperature, self.num_samples)]


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
        if settings.seed is not None:
            torch.manual_seed(settings.seed)  # seeds CUDA too: the samples repeat run to run

    def _inputs(self, batch: Sequence[dict[str, Any]]) -> Any:
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
        return inputs.to(self.model.device)

    def _run(self, inputs: Any, step: Pass) -> list[list[str]]:
        import torch

        if step.temperature > 0:
            # top_k=0: the checkpoint's generation config may set top_k=1 (Qwen2.5-VL does), which
            # would make every sample the greedy one.
            options = {"do_sample": True, "temperature": step.temperature, "top_p": self.settings.top_p}
            options.update(top_k=0, num_return_sequences=step.n)
        else:
            options = {"do_sample": False}
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.settings.max_new_tokens, **options)
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        return [texts[i : i + step.n] for i in range(0, len(texts), step.n)]  # prompt-major order

    def generate(self, batch: Sequence[dict[str, Any]], passes: Sequence[Pass]) -> list[list[list[str]]]:
        """``[record][pass]`` -> that pass's ``n`` completions: one ``generate`` call per pass."""
        inputs = self._inputs(batch)
        per_pass = [self._run(inputs, step) for step in passes]
        return [[texts[i] for texts in per_pass] for i in range(len(batch))]


def api_messages(record: dict[str, Any], limits: PixelLimits = TRAINING_LIMITS) -> list[dict[str, Any]]:
    """The prompt in OpenAI chat format: ``image_url`` parts (screens resized to ``limits``) at markers."""
    urls = iter([image_data_url(p, limits) for p in record["image_paths"]])
    parts = []
    for part in prompt_messages(record["human"], len(record["image_paths"]))[0]["content"]:
        if part["type"] == "image":
            parts.append({"type": "image_url", "image_url": {"url": next(urls)}})
        else:
            parts.append(part)
    return [{"role": "user", "content": parts}]


class ApiGenerator:
    """An OpenAI-compatible ``/chat/completions`` endpoint (vLLM, SGLang, ...), ``batch_size`` in flight.

    A sampled pass asks for ``n`` choices in one request and tops up with further requests when the
    server returns fewer (some ignore ``n``); sampled requests send ``top_k: -1`` so a checkpoint's
    generation config (vLLM applies it by default) cannot turn sampling into greedy decoding. Screens
    are resized on this side to the training frame (limits: settings, else ``model``'s saved processor).
    """

    def __init__(self, model: str, api_base: str, api_key: str | None, settings: PredictSettings) -> None:
        self.model, self.settings = model, settings
        self.limits = resolve_pixel_limits(model, settings.min_pixels, settings.max_pixels)
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"

    def _body(self, messages: list[dict[str, Any]], step: Pass, n: int, attempt: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.settings.max_new_tokens,
            "temperature": step.temperature,
        }
        if step.temperature > 0:
            body.update(top_p=self.settings.top_p, top_k=-1)
            if n > 1:
                body["n"] = n
            if self.settings.seed is not None:  # a top-up must not repeat the first request's draws
                body["seed"] = self.settings.seed + attempt
        return body

    def _post(self, body: dict[str, Any], sample_id: Any) -> list[str]:
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
            raise DataError(f"{self.url}: HTTP {exc.code} for id {sample_id}: {detail}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise DataError(f"{self.url}: unreachable ({exc})") from None
        try:
            texts = [choice["message"]["content"] or "" for choice in reply["choices"]]
        except (KeyError, TypeError):
            texts = []
        if not texts:
            raise DataError(f"{self.url}: unexpected reply for id {sample_id}: {str(reply)[:200]}")
        return texts

    def _completions(self, record: dict[str, Any], passes: Sequence[Pass]) -> list[list[str]]:
        messages = api_messages(record, self.limits)
        out = []
        for step in passes:
            texts: list[str] = []
            for attempt in range(step.n):  # every reply holds >= 1 choice: n requests at most
                texts += self._post(self._body(messages, step, step.n - len(texts), attempt), record["id"])
                if len(texts) >= step.n:
                    break
            out.append(texts[: step.n])
        return out

    def generate(self, batch: Sequence[dict[str, Any]], passes: Sequence[Pass]) -> list[list[list[str]]]:
        """``[record][pass]`` -> that pass's ``n`` completions, the records' requests in parallel."""
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            return list(pool.map(lambda record: self._completions(record, passes), batch))


def prediction_line(sample_id: Any, texts: Sequence[Sequence[str]], settings: PredictSettings) -> dict:
    """The output line of one sample from its passes' completions (see :meth:`PredictSettings.passes`)."""
    if settings.num_samples == 0:
        return {"id": sample_id, "completion": texts[0][0]}
    samples = list(texts[-1])
    return {
        "id": sample_id,
        "completion": texts[0][0] if settings.greedy else samples[0],
        "samples": samples,
        "temperature": settings.sample_temperature,
    }


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
    passes = settings.passes()
    with JsonlWriter(output) as out:
        for batch in _batches(records, settings.batch_size):
            for record, texts in zip(batch, generator.generate(batch, passes), strict=True):
                out.write(prediction_line(record["id"], texts, settings))
            logger.info("%d/%d predicted", out.count, len(records))
    return out.count
