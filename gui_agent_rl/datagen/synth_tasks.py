"""Two small, learnable synthetic tasks for CPU training runs, in the SPEC §2 layout.

* ``text``: the instruction alone decides the answer ('open "mail"' -> ``open_app`` "mail", 'type
  "cat"' -> ``type`` "cat", "go back", "wait", 'done "cat"' -> ``task_completed``, 'cannot "cat"' ->
  ``task_impossible``); each step has one plain 56x56 screenshot, so the vision path still runs. The
  value is quoted so that it has the same tokens in the prompt and in the answer (a copy, not a
  per-word lookup from ' dog' to '"dog').
* ``grounding``: a 112x112 screen with 2-3 buttons in distinct colours at random cells of a 2x2 grid;
  "tap red" -> ``click`` on the red button's pixel box ``x1,y1,x2,y2``.

Steps are independent; each step's input holds only ``task_content`` and ``screen_path2``. Screen
sides are multiples of 28 and their area lies within Qwen2.5-VL's default pixel limits, so the
processor's resize leaves them unchanged and answers in original pixels are answers in resized
pixels too. Each corpus also gets ``ROOT/prompt.txt`` (the walker ignores files at ROOT), the
prefix to build it with: ``gui-agent-rl build ROOT -o D.jsonl --prompt ROOT/prompt.txt``. It asks
for ``<answer>{action}</answer>`` and nothing else. The same seed gives the same bytes.

>>> synthesize_text_corpus("corpus", tasks=20, steps=4, seed=0)  # doctest: +SKIP
80
"""

from __future__ import annotations

import colorsys
import json
import os
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gui_agent_rl.datagen.synth import _task_ids
from gui_agent_rl.schemas import smart_resize

TASKS = ("phone", "text", "grounding")
DEFAULT_SIZES = {"phone": (1080, 2400), "text": (56, 56), "grounding": (112, 112)}
DEFAULT_GRID = 2
PROMPT_FILE = "prompt.txt"  # at ROOT: not a digits folder, so build's walker ignores it
SIDE_FACTOR = 28  # Qwen2.5-VL: one visual token covers 28x28 pixels
MIN_CELL = 28  # pixels per grid cell, so each cell holds at least one visual token

TEXT_APPS = ("mail", "maps", "music", "camera", "clock", "notes", "photos", "chat")
TEXT_WORDS = ("cat", "dog", "sun", "tea", "box", "hat", "pen", "cup", "key", "egg", "bus", "map")
# instruction template -> action type; a template with {app} or {word} puts it in the parameter
TEXT_TEMPLATES = {
    'open "{app}"': "open_app",
    'type "{word}"': "type",
    "go back": "back",
    "wait": "wait",
    'done "{word}"': "task_completed",
    'cannot "{word}"': "task_impossible",
}
_TEXT_BACKGROUNDS = ((245, 245, 245), (230, 236, 245), (245, 238, 225), (232, 245, 232))
COLOURS = {
    "red": (220, 30, 30),
    "green": (20, 170, 50),
    "blue": (30, 70, 230),
    "yellow": (250, 210, 0),
    "purple": (150, 40, 200),
}
_GROUND_BACKGROUND = (240, 240, 240)
BUTTONS_PER_SCREEN = (2, 3)  # fewest and most buttons, capped by the number of cells


def check_screen_size(width: int, height: int) -> None:
    """``ValueError`` unless both sides are multiples of 28 that Qwen's resize keeps as they are."""
    if width % SIDE_FACTOR or height % SIDE_FACTOR or min(width, height) <= 0:
        raise ValueError(f"screen sides must be positive multiples of {SIDE_FACTOR}, got {width}x{height}")
    if smart_resize(height, width) != (height, width):
        raise ValueError(f"a {width}x{height} screen would be resized; keep its area within the pixel limits")


def check_grid(width: int, height: int, grid: int) -> None:
    """``ValueError`` unless a ``grid`` x ``grid`` layout fits: 2 or more, cells of 28 pixels or more."""
    if grid < 2:
        raise ValueError(f"the grid needs at least 2 cells a side for 2-3 buttons, got {grid}")
    if min(width, height) // grid < MIN_CELL:
        raise ValueError(f"a {grid}x{grid} grid on {width}x{height} makes cells under {MIN_CELL} pixels")


def _act(kind: str, value: str = "") -> dict:
    return {"action_type": kind, "action_parameter": {kind: value}}


def _example(kind: str, value: str = "") -> str:
    return json.dumps(_act(kind, value))


def _answer_rule() -> str:
    return (
        'Output exactly <answer>{"action_type": ..., "action_parameter": {...}}</answer> and nothing else.\n'
        "Input:\n"
    )


def text_prompt() -> str:
    """The prefix of a ``text`` corpus: the task, its six action types with an example each, the form."""
    examples = [
        ("open_app", "mail"),
        ("type", "cat"),
        ("back", ""),
        ("wait", ""),
        ("task_completed", "cat"),
        ("task_impossible", "cat"),
    ]
    lines = "\n".join(_example(kind, value) for kind, value in examples)
    return (
        "You operate a phone. Answer with the action that task_content asks for. "
        "Allowed actions, one example each:\n"
        f"{lines}\n{_answer_rule()}"
    )


def grounding_prompt(width: int, height: int, grid: int) -> str:
    """The prefix of a ``grounding`` corpus, with an example box of the first cell's button."""
    example = ",".join(map(str, _button_box(0, 0, width, height, grid)))
    return (
        f"You operate a phone. The screenshot ({width}x{height} pixels) shows coloured buttons; "
        "task_content says which one to tap. Answer with a click on that button's pixel box "
        f"x1,y1,x2,y2 on the screenshot. The only allowed action, for example:\n"
        f"{_example('click', example)}\n{_answer_rule()}"
    )


def _cycle(rng: random.Random, items: tuple[str, ...], n: int) -> list[str]:
    """``n`` items in shuffled rounds: every item appears once ``n >= len(items)``."""
    out: list[str] = []
    while len(out) < n:
        out += rng.sample(items, len(items))
    return out[:n]


def _text_step(template: str, rng: random.Random) -> tuple[str, dict]:
    """``(instruction, action)`` of one ``text`` step."""
    kind = TEXT_TEMPLATES[template]
    value = rng.choice(TEXT_APPS) if "{app}" in template else rng.choice(TEXT_WORDS)
    instruction = template.format(app=value, word=value)
    return instruction, _act(kind, value if "{" in template else "")


def _button_box(col: int, row: int, width: int, height: int, grid: int) -> tuple[int, int, int, int]:
    """The drawn box (both corners inclusive, as Pillow draws) of the button in cell ``(col, row)``."""
    x0, x1 = col * width // grid, (col + 1) * width // grid
    y0, y1 = row * height // grid, (row + 1) * height // grid
    margin = max(2, min(x1 - x0, y1 - y0) // 8)
    return x0 + margin, y0 + margin, x1 - margin - 1, y1 - margin - 1


def _label(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], name: str) -> None:
    """The colour's name at the top of its button, when it fits above the box centre."""
    x1, y1, x2, y2 = box
    size = max(8, (y2 - y1) // 5)
    font = ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
    if right - left > x2 - x1 - 2 or y1 + 2 + bottom - top >= (y1 + y2) // 2 - 1:
        return  # too small a button: leave it unlabelled rather than cover its centre
    ink = (0, 0, 0) if name == "yellow" else (255, 255, 255)
    draw.text(((x1 + x2) // 2, y1 + 2), name, font=font, fill=ink, anchor="mt")


def cell_tint(col: int, row: int, grid: int) -> tuple[int, int, int]:
    """The pale hue of cell ``(col, row)``: a position cue in the pixels themselves.

    Qwen2.5-VL tells image positions apart only through rotary (relative) position encodings, which a
    two-layer toy model does not learn to read in minutes; it can read a colour. Each cell's own pale
    hue (hues spread around the wheel, far paler than any button) shows in the margin around its
    button, inside the same 28x28 patches as the button's colour, so "which hue sits next to red"
    locates the red button. Greys would not do: the vision tower's normalisation maps every grey
    patch to the same features.
    """
    hue = (row * grid + col) / (grid * grid)
    r, g, b = colorsys.hsv_to_rgb(hue, 0.3, 0.97)
    return round(r * 255), round(g * 255), round(b * 255)


def draw_grounding_screen(
    buttons: dict[str, tuple[int, int]], width: int, height: int, grid: int
) -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    """Draw ``{colour: (col, row)}`` buttons; return the image and each colour's box."""
    image = Image.new("RGB", (width, height), _GROUND_BACKGROUND)
    draw = ImageDraw.Draw(image)
    for row in range(grid):
        for col in range(grid):
            x0, y0 = col * width // grid, row * height // grid
            cell = (x0, y0, (col + 1) * width // grid - 1, (row + 1) * height // grid - 1)
            draw.rectangle(cell, fill=cell_tint(col, row, grid))
    boxes = {}
    for name, (col, row) in buttons.items():
        boxes[name] = box = _button_box(col, row, width, height, grid)
        draw.rectangle(box, fill=COLOURS[name])
        _label(draw, box, name)
    return image, boxes


def _grounding_step(target: str, rng: random.Random, width: int, height: int, grid: int) -> tuple:
    """``(image, instruction, action)`` of one ``grounding`` step whose target colour is ``target``."""
    cells = [(c, r) for r in range(grid) for c in range(grid)]
    n = rng.randint(*(min(k, len(cells)) for k in BUTTONS_PER_SCREEN))
    others = rng.sample([c for c in COLOURS if c != target], n - 1)
    names = rng.sample([target, *others], n)  # drawing order carries no hint of the target
    placed = dict(zip(names, rng.sample(cells, n), strict=True))
    image, boxes = draw_grounding_screen(placed, width, height, grid)
    return image, f"tap {target}", _act("click", ",".join(map(str, boxes[target])))


def _write_step(task_dir: Path, k: int, image: Image.Image, instruction: str, action: dict) -> None:
    name = f"{task_dir.name}_{k}.png"
    image.save(task_dir / name, format="PNG")
    record = {"input": {"task_content": instruction, "screen_path2": name}, "output": action}
    text = json.dumps(record, ensure_ascii=False, indent=2)
    (task_dir / f"step_{k}.json").write_text(text + "\n", encoding="utf-8")


def _prepare_root(root: str | os.PathLike[str], prompt: str) -> Path:
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    (path / PROMPT_FILE).write_text(prompt, encoding="utf-8")
    return path


def synthesize_text_corpus(
    root: str | os.PathLike[str], tasks: int, steps: int, seed: int = 0, *, width: int = 56, height: int = 56
) -> int:
    """Write a ``text`` corpus of ``tasks`` folders of ``steps`` steps; returns the step count.

    Templates come in shuffled rounds over the whole corpus, so all six appear once
    ``tasks * steps >= 6``. ``ValueError`` for a screen size Qwen's resize would change.
    """
    check_screen_size(width, height)
    path = _prepare_root(root, text_prompt())
    plan = iter(_cycle(random.Random(f"{seed}/plan"), tuple(TEXT_TEMPLATES), tasks * steps))
    for task_id in _task_ids(tasks):
        rng = random.Random(f"{seed}/{task_id}")
        (task_dir := path / task_id).mkdir(exist_ok=True)
        for k in range(steps):
            instruction, action = _text_step(next(plan), rng)
            image = Image.new("RGB", (width, height), rng.choice(_TEXT_BACKGROUNDS))
            _write_step(task_dir, k, image, instruction, action)
    return tasks * steps


def synthesize_grounding_corpus(
    root: str | os.PathLike[str],
    tasks: int,
    steps: int,
    seed: int = 0,
    *,
    width: int = 112,
    height: int = 112,
    grid: int = DEFAULT_GRID,
) -> int:
    """Write a ``grounding`` corpus of ``tasks`` folders of ``steps`` steps; returns the step count.

    Target colours come in shuffled rounds, so each is asked about equally often. ``ValueError`` for
    a screen size Qwen's resize would change or a grid whose cells are under 28 pixels.
    """
    check_screen_size(width, height)
    check_grid(width, height, grid)
    path = _prepare_root(root, grounding_prompt(width, height, grid))
    targets = iter(_cycle(random.Random(f"{seed}/plan"), tuple(COLOURS), tasks * steps))
    for task_id in _task_ids(tasks):
        rng = random.Random(f"{seed}/{task_id}")
        (task_dir := path / task_id).mkdir(exist_ok=True)
        for k in range(steps):
            image, instruction, action = _grounding_step(next(targets), rng, width, height, grid)
            _write_step(task_dir, k, image, instruction, action)
    return tasks * steps
