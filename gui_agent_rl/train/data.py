"""Builder JSONL (any VLM-R1 JSONL) -> TRL GRPO rows.

Each row has a conversational ``prompt`` with one ``{"type": "image"}`` item where each ``<image>``
marker stood in the human text (text split around it), the ``images`` opened lazily (at batch time,
through ``datasets.Dataset.with_transform``) and the truth columns the rewards read: ``solution``,
``image_sizes`` (``[[w, h], ...]``, from the sample or from the opened images), ``accu_reward_method``,
``output_format`` and ``id``. Text-only samples have no image items and an empty ``images`` list.

>>> prompt_messages("Task <image> now <image> go", 2)[0]["content"]  # doctest: +NORMALIZE_WHITESPACE
[{'type': 'text', 'text': 'Task '}, {'type': 'image'}, {'type': 'text', 'text': ' now '},
 {'type': 'image'}, {'type': 'text', 'text': ' go'}]
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui_agent_rl.schemas import (
    IMAGE_PLACEHOLDER,
    ImagePathError,
    confined_image_path,
    default_image_folder,
    read_samples,
)
from gui_agent_rl.schemas.geometry import smart_resize
from gui_agent_rl.train.budget import (  # noqa: F401 - the budget check's old home; grpo imports it here
    check_prompt_budget,
    image_size,
    prompt_token_counts,
    warn_over_budget,
)

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

MAX_MISSING_SHOWN = 3


class DataError(ValueError):
    """Unusable training data (no samples, missing images, unpaired folders); one line."""


@dataclass(frozen=True)
class DataSource:
    """One JSONL file and the folder its image paths are relative to."""

    data_file: Path
    image_folder: Path


def pair_sources(
    data_files: Sequence[str | os.PathLike], image_folders: Sequence[str | os.PathLike]
) -> list[DataSource]:
    """Pair data files with image folders: one folder for all, one per file, or none (each file's
    :func:`~gui_agent_rl.schemas.default_image_folder`)."""
    if not data_files:
        raise DataError("no training data: give --data_file_paths")
    files = [Path(f) for f in data_files]
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: data file not found")
    if not image_folders:
        folders = [default_image_folder(f) for f in files]
    elif len(image_folders) == 1:
        folders = [Path(image_folders[0])] * len(files)
    elif len(image_folders) == len(files):
        folders = [Path(d) for d in image_folders]
    else:
        raise DataError(
            f"{len(image_folders)} image folders for {len(files)} data files: give one, or one per data file"
        )
    for d in dict.fromkeys(folders):
        if not d.is_dir():
            raise DataError(f"{d}: image folder not found")
    return [DataSource(f, d) for f, d in zip(files, folders, strict=True)]


def prompt_messages(human_text: str, n_images: int) -> list[dict[str, Any]]:
    """The human turn as one user message; image items where the markers were (in front if none)."""
    if n_images and IMAGE_PLACEHOLDER not in human_text:
        human_text = IMAGE_PLACEHOLDER * n_images + human_text
    content: list[dict[str, Any]] = []
    pieces = human_text.split(IMAGE_PLACEHOLDER) if n_images else [human_text]
    for i, piece in enumerate(pieces):
        if i:
            content.append({"type": "image"})
        if piece:
            content.append({"type": "text", "text": piece})
    return [{"role": "user", "content": content}]


def gold_think(sample: Any) -> str | None:
    """The sample's own think block (key ``think``) as JSON text, or None; Arrow wants one type."""
    think = getattr(sample, "think", None)
    if think is None or isinstance(think, str):
        return think
    return json.dumps(think, ensure_ascii=False)  # the layout render_completion writes


def _confined(src: DataSource, sample_id: Any, relative: str) -> Path:
    """The image path inside ``src``'s image folder; one that leaves it is a :class:`DataError`."""
    try:
        return confined_image_path(src.image_folder, relative)
    except ImagePathError as exc:
        raise DataError(f"{src.data_file}: id {sample_id}: {exc}") from None


def load_records(sources: Sequence[DataSource]) -> list[dict[str, Any]]:
    """Read every sample, resolve image paths (confined to the image folder: see
    :func:`~gui_agent_rl.schemas.confined_image_path`), and fail on the first missing images (a few listed).
    """
    records: list[dict[str, Any]] = []
    missing: list[str] = []
    for src in sources:
        for sample in read_samples(src.data_file):
            paths = [str(_confined(src, sample.id, p)) for p in sample.images]
            missing += [f"{src.data_file}: id {sample.id}: {p}" for p in paths if not os.path.isfile(p)]
            records.append(
                {
                    "id": sample.id,
                    "human": sample.prompt,
                    "image_paths": paths,
                    "solution": sample.solution,
                    "image_sizes": [list(s) for s in sample.image_sizes] if sample.image_sizes else None,
                    "accu_reward_method": sample.accu_reward_method,
                    "output_format": getattr(sample, "output_format", None),
                    "think": gold_think(sample),
                }
            )
    if missing:
        more = f" (and {len(missing) - MAX_MISSING_SHOWN} more)" if len(missing) > MAX_MISSING_SHOWN else ""
        raise DataError(
            f"{len(missing)} image files not found, e.g. {'; '.join(missing[:MAX_MISSING_SHOWN])}{more}"
        )
    if not records:
        raise DataError(f"no samples in {', '.join(str(s.data_file) for s in sources)}")
    if len({type(r["id"]) for r in records}) > 1:  # Arrow columns need one type
        for r in records:
            r["id"] = str(r["id"])
    return records


def open_screen(path: str, max_pixels: int | None = None, min_pixels: int = 3136) -> tuple[Any, list[int]]:
    """(RGB image, original [w, h]); with ``max_pixels``, resized to Qwen's ``smart_resize`` target.

    The target is computed from the *original* size, exactly as the rewards compute the resized frame,
    and a 28-aligned in-budget image passes every Qwen2-VL-style processor unchanged, so TRL's processor
    and vLLM (which uses the checkpoint's own pixel limits, not ours) see the same image and insert the
    same number of image tokens. JPEGs are first decoded at a reduced DCT scale (``draft``, never below
    the target), which makes phone screenshots several times cheaper to open. An image over Pillow's
    ``MAX_IMAGE_PIXELS`` (a decompression bomb, which Pillow would only warn about and then decode whole
    up to twice that size) raises ``ValueError`` naming the file and its size, before any decoding.
    """
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ValueError(f"screenshot {path}: {exc}") from None
    with img:
        size = list(img.size)
        if not max_pixels:
            return img.convert("RGB"), size
        h, w = smart_resize(size[1], size[0], min_pixels=min_pixels, max_pixels=max_pixels)
        if img.format == "JPEG":
            img.draft("RGB", (w, h))
        rgb = img.convert("RGB")
    if rgb.size != (w, h):
        rgb = rgb.resize((w, h), Image.Resampling.BICUBIC)
    return rgb, size


class RowTransform:
    """``with_transform`` hook: open this batch's images and build the conversational prompts (picklable).

    GRPO reads each prompt ``num_generations`` times in a row (TRL's RepeatSampler), so the last few
    opened screenshots are kept and the repeats cost no decoding.
    """

    CACHE_SIZE = 16

    def __init__(self, max_pixels: int | None = None, min_pixels: int = 3136) -> None:
        self.max_pixels, self.min_pixels = max_pixels, min_pixels
        self._recent: OrderedDict[str, tuple[Any, list[int]]] = OrderedDict()

    def open(self, path: str) -> tuple[Any, list[int]]:
        if path in self._recent:
            self._recent.move_to_end(path)
            return self._recent[path]
        opened = self._recent[path] = open_screen(path, self.max_pixels, self.min_pixels)
        if len(self._recent) > self.CACHE_SIZE:
            self._recent.popitem(last=False)
        return opened

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        keys = ("prompt", "images", "image_sizes", "solution", "accu_reward_method", "output_format", "id")
        rows: dict[str, list] = {k: [] for k in keys}
        for i, paths in enumerate(batch["image_paths"]):
            opened = [self.open(p) for p in paths]
            rows["prompt"].append(prompt_messages(batch["human"][i], len(opened)))
            rows["images"].append([img for img, _ in opened])
            rows["image_sizes"].append(batch["image_sizes"][i] or [size for _, size in opened])
            for key in ("solution", "accu_reward_method", "id"):
                rows[key].append(batch[key][i])
            # the format rewards grade each completion in its sample's stated form (None: think)
            rows["output_format"].append(batch["output_format"][i] if "output_format" in batch else None)
        return rows


def build_train_dataset(
    records: list[dict[str, Any]], max_pixels: int | None = None, min_pixels: int = 3136
) -> Dataset:
    """A ``datasets.Dataset`` of the records whose rows come out as TRL rows (images opened on access)."""
    from datasets import Dataset

    return Dataset.from_list(records).with_transform(RowTransform(max_pixels, min_pixels))
