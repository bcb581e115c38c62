"""A training sample in VLM-R1's JSONL shape (SPEC §4), and JSON-lines reading and writing.

Lines are read and written with orjson, which never escapes non-ASCII text. Writing is atomic: a
:class:`JsonlWriter` writes a temporary file beside the target and renames it only when the block
ends without an exception, so a crash or Ctrl-C leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gui_agent_rl.schemas.actions import describe_validation_error

IMAGE_PLACEHOLDER = "<image>"
_WRITEBACK_BYTES = 8 << 20  # a JsonlWriter starts writing to disk every 8 MiB (see write)


class JsonlError(ValueError):
    """A bad line in a JSON-lines file; the message starts with ``path:line:``."""

    def __init__(self, path: str | os.PathLike[str], line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.reason = str(path), line, message


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_json)`` for each non-blank line; bad JSON raises :class:`JsonlError`."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield lineno, orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise JsonlError(path, lineno, f"not valid JSON ({exc})") from None


class JsonlWriter:
    """Write JSON lines to ``path`` atomically (temp file in the same folder, then rename).

    >>> with JsonlWriter("out.jsonl") as w:  # doctest: +SKIP
    ...     w.write({"id": 1, "text": "无锡"})
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._unsynced = 0  # bytes written since writing to disk was last started
        self._file: Any = None
        self._tmp: str | None = None

    def __enter__(self) -> JsonlWriter:
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)
        return self

    def write(self, obj: Any) -> None:
        if isinstance(obj, BaseModel):
            obj = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
        data = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        self._file.write(data)
        self.count += 1
        self._unsynced += len(data)
        if self._unsynced >= _WRITEBACK_BYTES and hasattr(os, "posix_fadvise"):
            # Start writing the new bytes to disk now, without waiting: the final fsync then has
            # little left to wait for (25 MB: 13 ms -> 1 ms). Only the just-written range, whose
            # pages are dirty, so nothing already cached is dropped.
            self._file.flush()
            start, size = self._file.tell() - self._unsynced, self._unsynced
            os.posix_fadvise(self._file.fileno(), start, size, os.POSIX_FADV_DONTNEED)
            self._unsynced = 0

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tmp is None:
            raise RuntimeError("JsonlWriter used outside a with-block")
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.chmod(self._tmp, 0o644)
                os.replace(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    speaker: Literal["human", "gpt"] = Field(alias="from")
    value: str


class Sample(BaseModel):
    """One JSONL line. Unknown keys are kept: VLM-R1 ignores them, and so do we."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: int | str
    image: str | list[str] | None = Field(default=None, description="Paths relative to the image folder")
    conversations: list[Turn] = Field(min_length=2, max_length=2)
    image_sizes: list[tuple[int, int]] | None = Field(default=None, description="[width, height] per image")
    task_id: str | None = None
    step: int | None = None
    accu_reward_method: str | None = None
    output_format: Literal["answer", "think"] | None = Field(
        default=None,
        description="The completion form the prompt states: answer = <answer>{action}</answer>; "
        "think = <think>{four fields}</think><answer>{action}</answer>; None: think (VLM-R1's)",
    )

    @property
    def images(self) -> list[str]:
        if self.image is None:
            return []
        return [self.image] if isinstance(self.image, str) else list(self.image)

    @property
    def prompt(self) -> str:
        """The human turn's text, ``<image>`` markers included."""
        return self.conversations[0].value

    @property
    def solution(self) -> str:
        """The gpt turn's text: for our corpora, the true action in wire format."""
        return self.conversations[1].value

    @model_validator(mode="after")
    def _consistent(self) -> Sample:
        first, second = self.conversations
        if (first.speaker, second.speaker) != ("human", "gpt"):
            raise ValueError("conversations must be one human turn, then one gpt turn")
        n = len(self.images)
        markers = first.value.count(IMAGE_PLACEHOLDER)
        if markers not in (0, n):
            raise ValueError(f"{markers} {IMAGE_PLACEHOLDER} markers for {n} images")
        if self.image_sizes is not None and len(self.image_sizes) != n:
            raise ValueError(f"{len(self.image_sizes)} image_sizes for {n} images")
        return self


def read_samples(path: str | os.PathLike[str]) -> Iterator[Sample]:
    """Stream the samples of a JSONL file; a bad line raises :class:`JsonlError` naming it."""
    for lineno, obj in iter_jsonl(path):
        try:
            yield Sample.model_validate(obj)
        except ValidationError as exc:
            raise JsonlError(path, lineno, describe_validation_error(exc)) from None


def default_image_folder(dataset: str | os.PathLike[str], first_image: str | None = None) -> Path:
    """Where a dataset's relative image paths start when the user names no folder.

    The dataset's own folder when its first image (``first_image``, else read from the file) is there,
    else the folder named like the dataset beside it (``examples/corpus.jsonl`` -> ``examples/corpus/``,
    the builder's corpus root) when the image is there; else the dataset's own folder, so that a
    missing-image error names the usual place.
    """
    dataset = Path(dataset)
    candidates = (dataset.parent, dataset.with_suffix(""))
    first = first_image
    if first is None and dataset.is_file():
        first = next((s.images[0] for s in read_samples(dataset) if s.images), None)
    if first is not None:
        for folder in candidates:
            if (folder / first).is_file():
                return folder
    return candidates[0]


def write_samples(path: str | os.PathLike[str], samples: Any) -> int:
    """Write samples (models or dicts) atomically; returns how many were written."""
    with JsonlWriter(path) as w:
        for s in samples:
            w.write(s)
    return w.count
