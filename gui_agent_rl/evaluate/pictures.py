"""Draw a whole evaluation: find the screenshots, caption each verdict, write one PNG per sample.

Image paths in a dataset are relative to the corpus root (the trainer's ``image_folders``). Without
``--image-folder`` the dataset's own folder is tried first, then the folder named like the dataset
beside it (``examples/corpus.jsonl`` -> ``examples/corpus/``), judged by the first sample's image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from gui_agent_rl.evaluate.metrics import StepResult
from gui_agent_rl.evaluate.predictions import Scored
from gui_agent_rl.evaluate.scoring import image_frame
from gui_agent_rl.evaluate.viz import (
    DEFAULT_HEIGHT,
    Caption,
    Marks,
    describe_action,
    load_caption_font,
    open_screen,
    render_picture,
    safe_name,
    scale_for,
)
from gui_agent_rl.rewards.accuracy import pred_to_original
from gui_agent_rl.rewards.registry import RewardSettings
from gui_agent_rl.schemas import (
    Box,
    ImageFrame,
    ImagePathError,
    Sample,
    confined_image_path,
    default_image_folder,
)

logger = logging.getLogger(__name__)


def resolve_image_folder(dataset: Path, samples: Sequence[Sample], given: Path | None = None) -> Path:
    """The folder the samples' image paths are relative to (see the module docstring).

    Raises ``ValueError`` naming the places tried when the first image is in none of them.
    """
    if given is not None:
        return given
    first = next((s.images[0] for s in samples if s.images), None)
    folder = default_image_folder(dataset, first)
    if first is None or (folder / first).is_file():
        return folder
    tried = " nor ".join(str(c / first) for c in (dataset.parent, dataset.with_suffix("")))
    raise ValueError(f"screenshot not found: neither {tried}; set --image-folder to the corpus root")


def check_image_paths(samples: Sequence[Sample], image_folder: Path) -> None:
    """Raise :class:`~gui_agent_rl.schemas.ImagePathError`, naming the sample, for the first image path
    that leaves ``image_folder`` (see :func:`~gui_agent_rl.schemas.confined_image_path`)."""
    for sample in samples:
        for relative in sample.images:
            try:
                confined_image_path(image_folder, relative)
            except ImagePathError as exc:
                raise ImagePathError(f"id {sample.id}: {exc}") from None


def _box_text(box: Box) -> str:
    return ",".join(f"{v:.0f}" for v in box.as_tuple())


def caption_for(
    verdict: StepResult, frame: ImageFrame | None, settings: RewardSettings, scale: float
) -> Caption:
    """The text under a picture: verdict, both actions, and how the screens were scaled."""
    where = f"task {verdict.task_id} step {verdict.step}" if verdict.task_id is not None else ""
    accuracy = verdict.rewards.get("accuracy")
    score = f" | accuracy reward {accuracy:.2f}" if accuracy is not None else ""
    header = f"id {verdict.id} {where} | {'RIGHT' if verdict.step_ok else 'WRONG'}: {verdict.reason}{score}"
    if verdict.pred is None:
        prediction = f"invalid ({verdict.reason})"
    else:
        prediction = describe_action(verdict.pred)
        box, ends = pred_to_original(verdict.pred, frame, settings.coordinate_frame)
        if settings.coordinate_frame != "original" and (box or ends):
            shown = _box_text(box) if box else _box_text(Box(ends[0].x, ends[0].y, ends[1].x, ends[1].y))
            prediction += f" -> original [{shown}]"
    size = "" if scale == 1 else f" | screens shown x{scale:.2f}"
    footer = f"green: truth, red: model{size} | model coordinates: {settings.coordinate_frame}"
    return Caption(header=header, truth=describe_action(verdict.truth), prediction=prediction, footer=footer)


def marks_for(verdict: StepResult, frame: ImageFrame | None, settings: RewardSettings) -> Marks:
    """Truth and prediction geometry in original pixels (truth is stored in them already)."""
    truth_box, truth_swipe = pred_to_original(verdict.truth, None, "original")
    pred_box, pred_swipe = (None, None)
    if verdict.pred is not None:
        pred_box, pred_swipe = pred_to_original(verdict.pred, frame, settings.coordinate_frame)
    return Marks(truth_box, truth_swipe, pred_box, pred_swipe)


def draw_all(
    chosen: Sequence[tuple[int, Scored, StepResult]],
    image_folder: Path,
    out_dir: Path,
    settings: RewardSettings,
    *,
    height: int = DEFAULT_HEIGHT,
) -> int:
    """Write ``NNNNN_<id>.png`` (NNNNN = position in the dataset) per ``(index, row, verdict)``.

    Samples without images are skipped with a warning; returns the number of pictures written.
    A missing screenshot raises ``FileNotFoundError`` naming it; an image path that leaves
    ``image_folder`` raises :class:`~gui_agent_rl.schemas.ImagePathError` naming the sample, before
    anything is drawn; a screenshot over Pillow's pixel limit raises ``ScreenTooLarge`` (a ``ValueError``).
    """
    check_image_paths([row.sample for _, row, _ in chosen], image_folder)
    font = load_caption_font()
    written = 0
    for index, row, verdict in chosen:
        sample = row.sample
        if not sample.images:
            logger.warning("sample %r has no images; no picture", sample.id)
            continue
        current = open_screen(image_folder, sample.images[-1])
        previous = open_screen(image_folder, sample.images[-2]) if len(sample.images) > 1 else None
        frame = image_frame(sample, settings)
        caption = caption_for(verdict, frame, settings, scale_for(current.size, height))
        picture = render_picture(
            current, previous, marks_for(verdict, frame, settings), caption, font=font, height=height
        )
        picture.save(out_dir / safe_name(index, sample.id), optimize=False)
        written += 1
    return written
