"""The options and help texts of ``gui-agent-rl eval`` (shared with ``viz`` and ``report``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gui_agent_rl.cli._common import existing_file, positive_int
from gui_agent_rl.cli.score import add_point_distance, add_text_match

PROTOCOL_CHOICES = ("aitw", "aitz", "qwen-androidcontrol", "androidcontrol")  # evaluate.protocols

RULES_HELP = """\
matching rules (a step succeeds when the predicted type equals the truth's and):
  click, long_click         the centre of the predicted box is inside the truth box enlarged
                            --box-scale times about its centre (default 1.0), or, with
                            --tap-distance, within that normalised screen distance of the box
                            centre (x/width, y/height; AITW: --box-scale 2.4 --tap-distance 0.14);
                            a truth recorded as a point "x,y": within --tap-distance of it, else
                            within --point-distance (default 0.04; the accuracy reward's too)
  type, open_app            text similarity (normalised Levenshtein, as the rewards) >= --text-threshold,
                            texts compared per --text-match (default faithful: case and punctuation
                            count; casefold and loose are opt-in)
  swipe                     same direction of the finger (up/down/left/right)
  inquiry                   same AnswerIndex
  task_completed, task_impossible, wait, back    the type alone
A missing prediction, or an answer that is not a valid action, is wrong and a format failure.
grounding_accuracy: over samples whose truth is a click/long_click, a predicted click or long_click
whose centre matches the truth box as above. --by-task: episode success = every step of a task
right; goal progress = steps right before the task's first wrong one / its steps, averaged. A task's
steps are known from the samples' meta.episode_length (imported data), else --import-summary, else
--build-report (the dataset's steps plus those build rejected); a step missing from the dataset is a
wrong one. With none of them a task's steps are the ones in the dataset (nothing counted missing),
and the output says which source gave the lengths.
Predicted coordinates are read in --frame and converted per sample with its image_sizes (the last
image is the current screen), exactly as the accuracy reward does. The resized frame's pixel limits
are the ones `predict` recorded in the predictions (a warning when --min-pixels/--max-pixels differ),
else the Qwen2.5-VL defaults (with a warning). The predicted action is the last <answer> outside
<think> (an answer inside the thinking is not one)."""

PROTOCOL_HELP = """
--protocol NAME adds a published paper's step rule beside the default metrics (distances are
Euclidean on coordinates divided by the screenshot's width and height; inputs from each sample's
meta: tap_point, lift_point, elements [x1,y1,x2,y2] pixels, screen_size):
  aitw                 google-research android_in_the_wild/action_matching.py check_actions_match:
                       taps (touch-lift <= 0.04) match in one element box grown by 1.4x its size
                       (2.4x) or within 0.14; swipes on the main axis; others on type; typed text
                       equal or contained (SeeClick aitw_test.py)
  aitz                 Qwen2.5-VL's evaluator as OpenBMB/AgentCPM-GUI eval/utils/evaluator.py
                       publishes it: a click in an element grown to 1.2x that holds the truth point,
                       else within 0.14; scroll direction; text contained (lower-cased); press button
  qwen-androidcontrol  the same in AndroidControl mode: the 5 nearest elements (1.2x), else 0.04
  androidcontrol       alias of qwen-androidcontrol
Without meta.elements taps are judged by distance alone; without meta.tap_point the truth's point
(or box centre); the screen size falls back to image_sizes. Fallbacks are counted in the output.
The setting (high: goal; low: step instruction) is read from meta.goal/meta.step_instruction."""

SAMPLED_HELP = """
Predictions with "samples" (predict --num-samples K) add a "sampled" block and column: each rate
and reward averaged over all K completions of every sample, and pass@K (the share of samples with
at least one step success among their K), overall and per true action type. The values column is
the `completion` of each line (greedy unless predict ran with --no-greedy)."""


def _fraction(value: str) -> float:
    """A number; its range (finite, >= 0, ...) is MatchRules' to check, as one line (exit 2)."""
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None


def add_common(p: argparse.ArgumentParser) -> None:
    """The dataset, predictions, coordinate and matching options of ``eval``, ``viz`` and ``report``."""
    from gui_agent_rl.rewards.accuracy import TAP_DISTANCE_THRESHOLD
    from gui_agent_rl.schemas import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

    p.add_argument("--dataset", type=existing_file, required=True, help="dataset JSONL (from `build`)")
    p.add_argument(
        "--predictions",
        type=existing_file,
        required=True,
        help='JSON lines {"id", "completion"} (from `predict`; "samples" lists are read by eval)',
    )
    g = p.add_argument_group("coordinates (as the rewards read them)")
    g.add_argument(
        "--frame",
        choices=("resized", "original", "norm1000"),
        default="resized",
        help="where the model's numbers live (default resized: Qwen2.5-VL's smart_resize pixels)",
    )
    g.add_argument("--min-pixels", type=positive_int, help=f"processor min_pixels ({DEFAULT_MIN_PIXELS})")
    g.add_argument("--max-pixels", type=positive_int, help=f"processor max_pixels ({DEFAULT_MAX_PIXELS})")
    m = p.add_argument_group("matching rules (see below)")
    m.add_argument("--box-scale", type=_fraction, default=1.0, help="enlarge truth boxes (default 1.0)")
    m.add_argument(
        "--tap-distance",
        type=_fraction,
        nargs="?",
        const=TAP_DISTANCE_THRESHOLD,
        default=None,
        metavar="F",
        help=f"also accept taps within F of the box centre (alone: {TAP_DISTANCE_THRESHOLD}); default off",
    )
    m.add_argument("--text-threshold", type=_fraction, default=0.8, help="text similarity needed (0.8)")
    add_point_distance(m)
    add_text_match(m)


def add_eval_options(p: argparse.ArgumentParser) -> None:
    """The options only ``eval`` has: outputs, --compare, --by-task and its length sources, --protocol."""
    p.add_argument("--output", type=Path, help="write the metrics JSON here")
    p.add_argument("--compare", type=existing_file, metavar="OTHER.json", help="print deltas against these")
    p.add_argument("--by-task", action="store_true", help="episode success and goal progress per task_id")
    p.add_argument(
        "--build-report",
        type=existing_file,
        metavar="REPORT.jsonl",
        help="--by-task: build's report, whose rejected steps count as failed steps",
    )
    p.add_argument(
        "--import-summary",
        type=existing_file,
        metavar="SUMMARY.json",
        help="--by-task: an importer's import.summary.json (episode_lengths per task)",
    )
    p.add_argument(
        "--protocol", choices=PROTOCOL_CHOICES, help="also score with a published rule (see below)"
    )
    p.add_argument("--rewards", default="format,accuracy", help="rewards to average (comma-separated)")
    p.add_argument("--accuracy-method", default=None, help="box method of the accuracy reward")
    p.add_argument("--per-sample", type=Path, metavar="OUT.jsonl", help="write each sample's verdict")
