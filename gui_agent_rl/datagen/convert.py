"""One step file -> one sample line, or the reason it is rejected (SPEC §2-§4).

:class:`StepConverter` holds what every step of a build shares (root, options) and a
bounded cache of image checks, so each distinct screenshot is opened once even when consecutive
steps share it. It returns the sample serialised *without* its id and prompt prefix: the process
that writes the file gives ids in walk order and splices in the prefix (:func:`sample_line`), so a
worker process sends small plain bytes.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from gui_agent_rl.datagen.images import ImageError, check_image
from gui_agent_rl.datagen.walk import StepFile
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, SCREEN_FIELDS, StepRecord
from gui_agent_rl.schemas.actions import ClickAction, LongClickAction, SwipeAction

_BOM = b"\xef\xbb\xbf"
_IMAGE_CACHE_SIZE = 4096  # distinct images remembered per process; bounded so memory stays flat
_COORDINATE_ACTIONS = (ClickAction, LongClickAction, SwipeAction)
_HUMAN_VALUE = b'"from":"human","value":"'

# A sample serialised without its id and prompt prefix, and the offset where the prefix goes.
SampleBody = tuple[int, bytes]


def escape_prompt(prompt: str) -> bytes:
    """The prompt as it appears inside a JSON string (quotes, newlines escaped; Chinese kept)."""
    return orjson.dumps(prompt)[1:-1]


def sample_line(sample_id: int, body: SampleBody, escaped_prompt: bytes) -> bytes:
    """One complete JSONL record: the id first, then the body with the prompt prefix spliced in.

    >>> conv = StepConverter(ConvertOptions("examples/corpus"))  # doctest: +SKIP
    >>> sample_line(1, conv.convert(step), escape_prompt("前缀"))  # doctest: +SKIP
    b'{"id":1,"image":[...],"conversations":[{"from":"human","value":"前缀{...}"},...]...}'
    """
    offset, data = body
    return b'{"id":%d,%s%s%s' % (sample_id, data[1:offset], escaped_prompt, data[offset:])


class StepRejected(ValueError):
    """A step that cannot become a sample. ``kind`` groups reasons in the summary."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


@dataclass(frozen=True)
class ConvertOptions:
    """What a build's steps share; picklable, so it travels to worker processes once."""

    root: str
    reward_method: str | None = None
    image_check: str = "quick"


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 1 << 16)]
        while len(chunks[-1]) == 1 << 16:  # rare: a step file over 64 KiB
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _decode(raw: bytes) -> Any:
    raw = raw.removeprefix(_BOM)
    try:
        return orjson.loads(raw)  # also rejects invalid UTF-8
    except orjson.JSONDecodeError as exc:
        error = exc
    try:  # only now tell a bad encoding from bad JSON, for a precise reason
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        at = bad.start
        raise StepRejected("encoding", f"not UTF-8: byte 0x{raw[at]:02x} at offset {at}") from None
    raise StepRejected("json", f"not valid JSON: {error}") from None


def _prompt_input(raw_input: dict[str, Any], present: list[str]) -> dict[str, Any]:
    """The input with each present screenshot name replaced by ``<image>``, key order kept.

    Markers must follow the image order (previous screen, then current); should a file list
    ``screen_path2`` first, the two keys trade places so the text still matches the images.
    """
    slots = [k for k in raw_input if k in present]
    order = iter(f for f in SCREEN_FIELDS if f in present)
    renamed = {k: next(order) for k in slots}
    return {renamed.get(k, k): IMAGE_PLACEHOLDER if k in renamed else v for k, v in raw_input.items()}


class StepConverter:
    """Validate steps and render samples (without id and prompt prefix) for one build.

    >>> conv = StepConverter(ConvertOptions(root="examples/corpus"))  # doctest: +SKIP
    >>> conv.convert(step_file)  # (offset, b'{"image":[...],"conversations":[...],...}')  # doctest: +SKIP
    """

    def __init__(self, options: ConvertOptions) -> None:
        self.options = options
        self.root = os.path.abspath(options.root)
        self._images: OrderedDict[str, tuple[int, int] | str] = OrderedDict()
        self.images_checked = 0

    def convert(self, step: StepFile) -> SampleBody:
        """The sample without id and prompt prefix (see :func:`sample_line`); :class:`StepRejected`
        says why there is none."""
        try:
            raw = _read(step.path)
        except OSError as exc:
            raise StepRejected("unreadable", f"cannot read step file ({exc.strerror})") from None
        obj = _decode(raw)
        try:
            record = StepRecord.from_obj(obj)
        except ValueError as exc:
            raise StepRejected("schema", str(exc)) from None
        screens = record.input.screens()
        action = record.output
        if isinstance(action, _COORDINATE_ACTIONS) and record.input.screen_path2 is None:
            raise StepRejected(
                "screen",
                f"input.screen_path2: missing; a {action.action_type} needs the current screen "
                "its coordinates refer to",
            )
        task_dir = os.path.dirname(step.path)
        images = [self._image(task_dir, field, name) for field, name in screens]
        if isinstance(action, _COORDINATE_ACTIONS):
            self._check_bounds(action, images[-1][1])
        return self._render(step, obj["input"], [f for f, _ in screens], images, action.to_json())

    def _render(
        self, step: StepFile, raw_input: dict[str, Any], present: list[str], images: list, answer: str
    ) -> SampleBody:
        # The prefix is spliced in by the writer (sample_line): the same ~4 KB in every sample
        # need not travel from a worker process each time.
        human = orjson.dumps(_prompt_input(raw_input, present)).decode()
        # "image" and "image_sizes" are lists even when empty: VLM-R1 builds an Arrow table whose
        # columns are the first row's keys, so a text-only first row must not drop them.
        sample: dict[str, Any] = {
            "image": [rel for rel, _ in images],
            "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": answer}],
            "image_sizes": [list(size) for _, size in images],
            "task_id": step.task_id,
            "step": step.step,
        }
        if self.options.reward_method:
            sample["accu_reward_method"] = self.options.reward_method
        body = orjson.dumps(sample)
        return body.index(_HUMAN_VALUE) + len(_HUMAN_VALUE), body

    def _image(self, task_dir: str, field: str, name: str) -> tuple[str, tuple[int, int]]:
        """``(path relative to root, (w, h))`` of a screenshot, checked once per distinct file."""
        if os.path.isabs(name) or name.startswith(("/", "\\")):
            raise StepRejected(
                "path", f"input.{field}: absolute path {name!r}; screenshots are relative to the task folder"
            )
        if "/" not in name and os.sep not in name and name not in (".", ".."):
            full = f"{task_dir}{os.sep}{name}"  # the common case, a plain file name: nothing to normalise
        else:
            full = os.path.normpath(os.path.join(task_dir, name))
        if not full.startswith(self.root + os.sep):
            raise StepRejected("path", f"input.{field}: {name!r} leaves the corpus root")
        rel = full[len(self.root) + 1 :].replace(os.sep, "/")
        result = self._images.get(full)
        if result is None:
            result = self._check(full)
            self._images[full] = result
            if len(self._images) > _IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
        if isinstance(result, str):
            raise StepRejected("image", f"input.{field}: {rel}: {result}")
        return rel, result

    def _check(self, full: str) -> tuple[int, int] | str:
        # Symbolic links are followed: a link is the user's own choice, and the trainer follows it too.
        self.images_checked += 1
        try:
            return check_image(full, self.options.image_check)
        except ImageError as exc:
            return str(exc)

    @staticmethod
    def _check_bounds(action: Any, size: tuple[int, int]) -> None:
        w, h = size
        kind = action.action_type
        if isinstance(action, SwipeAction):
            points = [action.start, action.end]
            if all(p.x <= w and p.y <= h for p in points):
                return
            what = "swipe"
        else:
            box = action.box
            if box.x2 <= w and box.y2 <= h:
                return
            what = "box"
        value = action.to_wire()["action_parameter"][kind]
        raise StepRejected(
            "bounds",
            f"output.action_parameter.{kind}: {what} {value} lies outside the current screen ({w}x{h})",
        )
