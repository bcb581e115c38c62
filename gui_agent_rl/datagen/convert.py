"""One step file -> one sample line, or the reason it is rejected (SPEC §2-§4).

:class:`StepConverter` holds what every step of a build shares (root, options) and a
bounded cache of image checks, so each distinct screenshot is opened once even when consecutive
steps share it. It returns the sample serialised *without* its id and prompt prefix: the process
that writes the file gives ids in walk order and splices in the prefix (:func:`sample_line`), so a
worker process sends small plain bytes.

The sample is assembled as bytes from pieces (orjson for every value, so the escaping is orjson's
throughout) rather than as a dict dumped whole: the validated model already holds every value, and
a build spends most of its time per step, not per byte. ``ConvertOptions.layout`` ``seed`` renders
the seed builder's bytes instead (:mod:`gui_agent_rl.datagen.layout`).

A step's optional ``meta`` object is copied verbatim into the sample (key ``meta``, never into the
prompt text). A step whose action type is missing from its own non-empty ``action_type_list`` is
rejected (kind ``action_type``): its prompt would forbid the very answer it trains. With a packaged
prefix (``ConvertOptions.list_actions``) a step whose list is not the seed's ten returns its prompt's
action types as a third element, and the writer splices the prefix listing those
(:func:`~gui_agent_rl.datagen.prompts.load_prompt`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from gui_agent_rl.datagen.images import ImageError, check_image
from gui_agent_rl.datagen.layout import SampleBody, id_piece, render_seed, suffix
from gui_agent_rl.datagen.prompts import prompt_action_types
from gui_agent_rl.datagen.step_checks import StepRejected, check_action, check_bounds, check_markers
from gui_agent_rl.datagen.walk import StepFile
from gui_agent_rl.schemas import IMAGE_PLACEHOLDER, SCREEN_FIELDS, StepRecord

_BOM = b"\xef\xbb\xbf"
_IMAGE_CACHE_SIZE = 4096  # distinct images remembered per process; bounded so memory stays flat
_SCREEN_KEYS = frozenset(SCREEN_FIELDS)
_READ_SIZE = 1 << 14  # a step file is ~1-2 KiB; a smaller buffer is cheaper to allocate and trim

# SampleBody: a sample serialised without its id and prompt prefix: the bytes before the prefix (from
# the comma after the id to the human value's opening quote) and the bytes after it (to the closing brace).


def sample_line(sample_id: int, body: SampleBody, escaped_prompt: bytes, layout: str = "compact") -> bytes:
    """One complete JSONL record: the id first, then the body with the prompt prefix spliced in.

    >>> conv = StepConverter(ConvertOptions("examples/corpus"))  # doctest: +SKIP
    >>> sample_line(1, conv.convert(step), layout.escape_prompt("前缀"))  # doctest: +SKIP
    b'{"id":1,"image":[...],"conversations":[{"from":"human","value":"前缀{...}"},...]...}'
    """
    return b"".join(sample_pieces(sample_id, body, escaped_prompt, layout))


def sample_pieces(
    sample_id: int, body: SampleBody, escaped_prompt: bytes, layout: str = "compact"
) -> tuple[bytes, ...]:
    """:func:`sample_line` in pieces, for a writer that joins many lines at once (one copy each)."""
    head, tail = body[0], body[1]  # a third element names the prompt's action types (see convert)
    return id_piece(sample_id, layout), head, escaped_prompt, tail


@dataclass(frozen=True)
class ConvertOptions:
    """What a build's steps share; picklable, so it travels to worker processes once."""

    root: str
    reward_method: str | None = None
    image_check: str = "quick"
    output_format: str | None = None  # "answer" / "think": the form the prompt states; None: no key
    layout: str = "compact"  # or "seed": the seed builder's bytes (datagen.layout)
    list_actions: bool = False  # a packaged prefix: each step's prompt lists its action_type_list


def _read(path: str) -> bytes:
    # Non-blocking: the walk saw a regular file, but should a FIFO have replaced it, no hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        chunks = [os.read(fd, _READ_SIZE)]
        while len(chunks[-1]) == _READ_SIZE:  # rare: a step file over 16 KiB
            chunks.append(os.read(fd, _READ_SIZE))
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


def _prompt_input(raw_input: dict[str, Any], present: list[str], swap: bool = True) -> dict[str, Any]:
    """The input with each present screenshot name replaced by ``<image>``, key order kept.

    Markers must follow the image order (previous screen, then current); should a file list
    ``screen_path2`` first, the two keys trade places so the text still matches the images (unless
    ``swap`` is false: the seed's layout keeps the file's text).
    """
    if not swap or len(present) < 2 or next(k for k in raw_input if k in _SCREEN_KEYS) == SCREEN_FIELDS[0]:
        prompt = raw_input.copy()  # the usual order: replacing values keeps every key in place
        for key in present:
            prompt[key] = IMAGE_PLACEHOLDER
        return prompt
    slots = [k for k in raw_input if k in present]
    order = iter(f for f in SCREEN_FIELDS if f in present)
    renamed = {k: next(order) for k in slots}
    return {renamed.get(k, k): IMAGE_PLACEHOLDER if k in renamed else v for k, v in raw_input.items()}


class StepConverter:
    """Validate steps and render samples (without id and prompt prefix) for one build.

    >>> conv = StepConverter(ConvertOptions(root="examples/corpus"))  # doctest: +SKIP
    >>> head, tail = conv.convert(step_file)  # doctest: +SKIP
    >>> head  # doctest: +SKIP
    b',"image":["144/144_0.jpg","144/144_1.jpg"],"conversations":[{"from":"human","value":"'
    """

    def __init__(self, options: ConvertOptions) -> None:
        self.options = options
        self.root = os.path.abspath(options.root)
        self._root_prefix = self.root + os.sep
        # path -> (path relative to root, (w, h) or the defect); insertion order = age, for eviction
        self._images: OrderedDict[str, tuple[str, tuple[int, int] | str]] = OrderedDict()
        self.images_checked = 0
        self._suffix = suffix(options.layout, options.reward_method, options.output_format)

    def convert(self, step: StepFile) -> SampleBody:
        """The sample without id and prompt prefix (see :func:`sample_line`); :class:`StepRejected`
        says why there is none (also for an entry the walk already refused: ``step.problem``)."""
        if step.problem is not None:
            raise StepRejected(*step.problem)
        try:
            raw = _read(step.path)
        except OSError as exc:
            raise StepRejected("unreadable", f"cannot read step file ({exc.strerror})") from None
        obj = _decode(raw)
        try:
            record = StepRecord.from_obj(obj)
        except ValueError as exc:
            raise StepRejected("schema", str(exc)) from None
        inp, action = record.input, record.output
        coordinates = check_action(record)
        task_dir = step.path[: step.path.rindex(os.sep)]
        present, paths, sizes = [], [], []
        for field in SCREEN_FIELDS:  # record.input.screens(), unrolled: previous screen, then current
            if name := getattr(inp, field):
                rel, size = self._image(task_dir, field, name)
                present.append(field)
                paths.append(rel)
                sizes.append(size)
        if coordinates:
            check_bounds(action, sizes[-1])
        if self.options.layout == "seed":
            body = self._render_seed(step, obj, present, paths, sizes)
        else:
            think = orjson.dumps(obj["think"]) if record.think is not None else None
            meta = orjson.dumps(obj["meta"]) if record.meta is not None else None
            prompt_input = _prompt_input(obj["input"], present)
            body = self._render(step, prompt_input, paths, sizes, action.to_json(), think=think, meta=meta)
        types = prompt_action_types(inp.action_type_list) if self.options.list_actions else None
        return body if types is None else (*body, types)  # type: ignore[return-value]

    def _render(
        self,
        step: StepFile,
        prompt_input: dict[str, Any],
        paths: list[str],
        sizes: list,
        answer: str,
        *,
        think: bytes | None = None,
        meta: bytes | None = None,
    ) -> SampleBody:
        # The human value is JSON inside a JSON string. orjson's output holds no raw control
        # characters (it escapes them), so quoting it as a string only escapes '\\' and '"': two
        # byte replaces instead of a decode and a second dump (~3 us). The prefix goes in front,
        # spliced in by the writer (sample_line): the same ~4 KB need not travel from a worker.
        human = orjson.dumps(prompt_input).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        check_markers(human, len(paths))
        # "image" and "image_sizes" are lists even when empty: VLM-R1 builds an Arrow table whose
        # columns are the first row's keys, so a text-only first row must not drop them.
        head = b',"image":%s,"conversations":[{"from":"human","value":"' % orjson.dumps(paths)
        tail = b'%s"},{"from":"gpt","value":%s}],"image_sizes":%s,"task_id":%s,"step":%d%s%s%s' % (
            human,
            orjson.dumps(answer),
            orjson.dumps(sizes),
            orjson.dumps(step.task_id),
            step.step,
            b"" if think is None else b',"think":%s' % think,
            b"" if meta is None else b',"meta":%s' % meta,
            self._suffix,
        )
        return head, tail

    def _render_seed(
        self, step: StepFile, obj: dict[str, Any], present: list[str], paths: list[str], sizes: list
    ) -> SampleBody:
        """The seed's layout: the input (markers in place, keys never swapped) and output as written."""
        prompt_input = _prompt_input(obj["input"], present, swap=False)
        check_markers(orjson.dumps(prompt_input), len(paths))  # json.dumps too leaves "<" as it is
        return render_seed(
            paths, prompt_input, obj["output"], sizes=sizes, task_id=step.task_id, step=step.step,
            think=obj.get("think"), closing=self._suffix, meta=obj.get("meta"),
        )  # fmt: skip

    def _image(self, task_dir: str, field: str, name: str) -> tuple[str, tuple[int, int]]:
        """``(path relative to root, (w, h))`` of a screenshot, checked once per distinct file."""
        if "/" not in name and "\\" not in name and name not in (".", ".."):
            full = f"{task_dir}{os.sep}{name}"  # the common case, a plain file name: nothing to normalise
        elif os.path.isabs(name) or name.startswith(("/", "\\")):
            raise StepRejected(
                "path", f"input.{field}: absolute path {name!r}; screenshots are relative to the task folder"
            )
        else:
            full = os.path.normpath(os.path.join(task_dir, name))
        entry = self._images.get(full)
        if entry is None:
            if not full.startswith(self._root_prefix):
                raise StepRejected("path", f"input.{field}: {name!r} leaves the corpus root")
            entry = full[len(self._root_prefix) :].replace(os.sep, "/"), self._check(full)
            self._images[full] = entry
            if len(self._images) > _IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
        rel, result = entry
        if isinstance(result, str):
            raise StepRejected("image", f"input.{field}: {rel}: {result}")
        return entry  # type: ignore[return-value]

    def _check(self, full: str) -> tuple[int, int] | str:
        # Symbolic links are followed: a link is the user's own choice, and the trainer follows it too.
        self.images_checked += 1
        try:
            return check_image(full, self.options.image_check)
        except ImageError as exc:
            return str(exc)
