"""Completions for a dataset: batched transformers ``generate``, or an OpenAI-compatible server.

Writes ``{"id": <sample id>, "completion": "<model text>", "min_pixels": N, "max_pixels": M}`` lines
(dataset order) for ``score`` and ``eval``; the pixel limits the screens were resized with name the
frame the model answered in, and ``score``/``eval`` read its coordinates in that frame.
With ``num_samples`` K >= 1 a line also holds ``"samples"`` (K completions sampled at
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

Requests that fail for a passing reason (connection, timeout, 429, 5xx) are retried with backoff
(:mod:`~gui_agent_rl.train.api_client`), and every finished prediction is on disk at once: a run that
stops leaves ``OUTPUT.partial``, which the same command resumes (:mod:`~gui_agent_rl.train.partial`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gui_agent_rl.schemas import default_image_folder
from gui_agent_rl.train import partial
from gui_agent_rl.train.api_client import ApiGenerator, api_messages  # noqa: F401 - re-exported
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
    retries: int = 5
    """Server mode: further attempts after a connection error, timeout, HTTP 429 or 5xx."""
    retry_wait_s: float = 1.0
    """Server mode: the first pause before a retry, doubled each time (at most 30 s)."""

    def __post_init__(self) -> None:
        if self.num_samples < 0:
            raise ValueError(f"--num-samples must be >= 0, got {self.num_samples}")
        if not 0 <= self.temperature < math.inf:  # NaN fails both comparisons
            raise ValueError(f"--temperature must be >= 0 and finite, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")
        if not self.greedy and self.num_samples == 0:
            raise ValueError("--no-greedy needs --num-samples >= 1")
        if self.retries < 0:
            raise ValueError(f"--retries must be >= 0, got {self.retries}")

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

        from gui_agent_rl.train.model import check_model_path, loading, set_pixel_limits

        check_model_path(model_path)
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

    def each(self, batch: Sequence[dict[str, Any]], passes: Sequence[Pass]) -> Iterator[tuple[dict, list]]:
        """``(record, completions by pass)`` for the batch's records (one ``generate`` per pass)."""
        yield from zip(batch, self.generate(batch, passes), strict=True)


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
    resume: bool = True,
) -> int:
    """Write one prediction line per sample of ``dataset``; returns how many.

    Finished lines go to ``OUTPUT.partial`` at once; with ``resume`` a progress file left by an earlier
    run with the same settings is kept and only the samples it lacks are predicted.
    """
    settings = settings or PredictSettings()
    records = _records(Path(dataset), Path(image_folder) if image_folder else None, settings.limit)
    _check_unique_ids(records)
    if api_base:
        generator: Any = ApiGenerator(model, api_base, api_key, settings)
    else:
        generator = LocalGenerator(model, settings)
    progress, stamp = partial.partial_path(output), _stamp(model, settings)
    done = partial.read_partial(progress, stamp) if resume else {}
    done = {key: line for key, line in done.items() if key in {partial.sample_key(r["id"]) for r in records}}
    todo = [r for r in records if partial.sample_key(r["id"]) not in done]
    if done:
        logger.warning("%s: resuming, %d of %d samples already predicted", progress, len(done), len(records))
    with partial.PartialLog(progress, stamp, done.values()) as log:
        for batch in _batches(todo, settings.batch_size):
            for record, texts in generator.each(batch, settings.passes()):
                line = {**prediction_line(record["id"], texts, settings), **frame_fields(generator)}
                log.write(line)
                done[partial.sample_key(record["id"])] = line
            logger.info("%d/%d predicted", len(done), len(records))
    return partial.finish(Path(output), records, done)


def frame_fields(generator: Any) -> dict[str, int]:
    """``{"min_pixels", "max_pixels"}`` the generator resized screens with ({} when unknown): the frame
    the model answered in, which ``score``/``eval`` read from each line (evaluate.predictions)."""
    limits = getattr(generator, "limits", None)  # ApiGenerator: PixelLimits
    low, high = limits if limits is not None else (generator.min_pixels, generator.max_pixels)
    return {"min_pixels": int(low), "max_pixels": int(high)} if low and high else {}


#: settings that do not change the completions: a progress file written with other values is resumed
_RUN_ONLY = ("batch_size", "limit", "timeout_s", "retries", "retry_wait_s")


def _stamp(model: str, settings: PredictSettings) -> dict[str, Any]:
    fields = {k: v for k, v in asdict(settings).items() if k not in _RUN_ONLY}
    return {"model": model, **fields}


def _check_unique_ids(records: Sequence[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for record in records:
        key = partial.sample_key(record["id"])
        if key in seen:
            raise DataError(f"duplicate sample id {record['id']!r}: its predictions could not be told apart")
        seen.add(key)
