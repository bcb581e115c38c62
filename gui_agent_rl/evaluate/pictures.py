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
from gui_agent_rl.rewards.accuracy import FALLBACK_SCREEN, Geometry, action_geometry
from gui_agent_rl.rewards.registry import RewardSettings
from gui_agent_rl.schemas import (
    Action,
    Box,
    ImageFrame,
    ImagePathError,
    Point,
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


#: A direction swipe's arrow runs from the screen's centre for this share of the screen's shorter side.
DIRECTION_ARROW = 0.25
_UNIT = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}


def _box_text(box: Box) -> str:
    return ",".join(f"{v:.0f}" for v in box.as_tuple())


def _original_text(g: Geometry) -> str | None:
    """The answer's numbers in original pixels: box, point or endpoints (None: it has none)."""
    if g.box is not None:
        return _box_text(g.box)
    if g.point is not None:
        return f"{g.point.x:.0f},{g.point.y:.0f}"
    if g.ends is not None:
        (s, e) = g.ends
        return _box_text(Box(s.x, s.y, e.x, e.y))
    return None


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
        shown = _original_text(action_geometry(verdict.pred, frame, settings.coordinate_frame))
        if settings.coordinate_frame != "original" and shown:
            prediction += f" -> original [{shown}]"
    size = "" if scale == 1 else f" | screens shown x{scale:.2f}"
    footer = f"green: truth, red: model{size} | model coordinates: {settings.coordinate_frame}"
    return Caption(header=header, truth=describe_action(verdict.truth), prediction=prediction, footer=footer)


def _direction_arrow(direction: str, screen: ImageFrame) -> tuple[Point, Point]:
    centre = Point(screen.width / 2, screen.height / 2)
    length = DIRECTION_ARROW * min(screen.width, screen.height)
    ux, uy = _UNIT[direction]
    return centre, Point(centre.x + ux * length, centre.y + uy * length)


def _marks_of(action: Action, g: Geometry, screen: ImageFrame) -> dict:
    """One side's :class:`Marks` fields: box, or point, or swipe arrow, or a label."""
    if g.box is not None:
        return {"box": g.box}
    if g.point is not None:
        return {"point": g.point}
    if g.ends is not None:
        return {"swipe": g.ends}
    if g.direction is not None:
        return {"swipe": _direction_arrow(g.direction, screen)}
    if action.action_type in ("home", "key"):
        return {"label": describe_action(action).split("  (")[0]}
    return {}


def marks_for(
    verdict: StepResult,
    frame: ImageFrame | None,
    settings: RewardSettings,
    screen: tuple[int, int] | None = None,
) -> Marks:
    """Truth and prediction geometry in original pixels (truth is stored in them already).

    A swipe by direction becomes an arrow from the centre of the screen (``screen`` = its size, else
    ``frame``'s); home and key become labels.
    """
    size = ImageFrame(*screen) if screen else frame or FALLBACK_SCREEN
    truth = _marks_of(verdict.truth, action_geometry(verdict.truth, None, "original"), size)
    fields = {f"truth_{k}": v for k, v in truth.items()}
    if verdict.pred is not None:
        pred = _marks_of(verdict.pred, action_geometry(verdict.pred, frame, settings.coordinate_frame), size)
        fields.update({f"pred_{k}": v for k, v in pred.items()})
    return Marks(**fields)


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
            current,
            previous,
            marks_for(verdict, frame, settings, current.size),
            caption,
            font=font,
            height=height,
        )
        picture.save(out_dir / safe_name(index, sample.id), optimize=False)
        written += 1
    return written
