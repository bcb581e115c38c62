"""A training sample in VLM-R1's JSONL shape (SPEC §4), and JSON-lines reading and writing.

Lines are read and written with orjson, which never escapes non-ASCII text. Writing is atomic: a
:class:`JsonlWriter` writes a temporary file beside the target and renames it only when the block
ends without an exception, so a crash or Ctrl-C leaves the previous file as it was; the new file keeps
the old one's permissions (else the umask's, as ``open()`` would).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath
from types import TracebackType
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gui_agent_rl.schemas.actions import describe_validation_error
from gui_agent_rl.schemas.tempfiles import TEMP_SUFFIX, temp_prefix

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


def current_umask() -> int:
    """The process's umask (Linux: read from /proc, so the mask is never changed, even briefly)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass  # not Linux, or a kernel before 4.7: set and restore it
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replace_keeping_mode(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """``os.replace(tmp, path)``, the new file given the permissions ``path`` had, else the umask's.

    A temporary file is created private (``mkstemp``: 0600); a file replacing another keeps the old one's
    permission bits (a private dataset stays private on rebuild), and a new one gets what ``open()``
    would have given it: ``0o666 & ~umask``.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, path)


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
        # Named by output, host and pid: should this process die, a later write removes it (tempfiles.py)
        prefix, folder = temp_prefix(self.path), self.path.parent
        fd, self._tmp = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=folder)
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
                replace_keeping_mode(self._tmp, self.path)
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


class ImagePathError(ValueError):
    """A dataset's image path that could name a file outside its image folder."""


def confined_image_path(folder: str | os.PathLike[str], relative: str) -> Path:
    """``folder / relative``, or :class:`ImagePathError` when ``relative`` could lead out of ``folder``.

    Image paths are relative to the image folder, and ``build`` writes them normalised (never absolute,
    never a ``..`` part). A dataset that names ``/etc/passwd`` or ``../../.ssh/id_rsa`` could make
    ``train``, ``viz`` or ``predict`` read, and ``predict --api-base`` upload, any file: refused. The test
    is on the path's text, as ``build`` confines steps to the corpus root: symbolic links inside the
    folder are followed (the folder owner's choice, which ``build`` follows too), and with no ``..`` part
    a link cannot be climbed out of.

    >>> confined_image_path("corpus", "12/a.png").as_posix()
    'corpus/12/a.png'
    >>> confined_image_path("corpus", "../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gui_agent_rl.schemas.sample.ImagePathError: image path '../etc/passwd' leaves the image folder corpus ...
    """
    parts = relative.replace("\\", "/").split("/")
    absolute = os.path.isabs(relative) or relative.startswith(("/", "\\"))
    if os.name == "nt":
        absolute = absolute or bool(PureWindowsPath(relative).drive)
    if not relative.strip() or "\0" in relative or absolute or ".." in parts:
        raise ImagePathError(
            f"image path {relative!r} leaves the image folder {folder} (absolute, empty or with a '..' "
            "part); image paths must be relative to the image folder"
        )
    return Path(folder) / relative


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
