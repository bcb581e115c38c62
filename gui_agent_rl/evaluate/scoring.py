"""Score a joined (sample, completion) list: step verdicts, reward means and the metrics dict.

The rewards are the trainer's own callables (``get_reward_funcs``) called once over the whole set
with the columns a trainer passes (``solution``, ``image_sizes``, ``accu_reward_method``,
``output_format``), so the ``rewards`` means are what the reward logs would show for these
completions. A missing prediction is scored as the empty completion. A completion is well-formed
(``format_rate``) when it is exactly the output form its sample states and its answer is a valid action.
The predicted action is the answer the rewards read (``rewards.parsing.answer_text``: the last
``<answer>`` pair outside ``<think>``), so an answer written inside the thinking is not a prediction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gui_agent_rl.evaluate.episodes import LengthSources, episode_length
from gui_agent_rl.evaluate.metrics import MatchRules, StepResult, aggregate, judge_step, task_metrics
from gui_agent_rl.evaluate.predictions import Scored, sample_draws, sample_temperature
from gui_agent_rl.evaluate.protocol_eval import judge_protocol
from gui_agent_rl.evaluate.protocols import Protocol, get_protocol
from gui_agent_rl.evaluate.sampled import sampled_metrics
from gui_agent_rl.rewards.accuracy import DEFAULT_POINT_DISTANCE
from gui_agent_rl.rewards.parsing import answer_text, current_screen, truth_action
from gui_agent_rl.rewards.registry import RewardSettings, get_reward_funcs
from gui_agent_rl.schemas import Action, ImageFrame, JsonlWriter, Sample, parse_completion
from gui_agent_rl.schemas.completion import DEFAULT_OUTPUT_FORMAT, matches_output_format

DEFAULT_REWARDS = ("format", "accuracy")


def sample_truth(sample: Sample) -> Action:
    """The sample's true action, parsed as the rewards parse it (an ``<answer>`` wrapper tolerated).

    Raises ``ValueError`` naming the sample: bad truth is a data error, never a silent 0.
    """
    return truth_action(sample.solution, f"sample {sample.id!r}: solution")


def image_frame(sample: Sample, settings: RewardSettings) -> ImageFrame | None:
    """The current screen (last image) with the processor's pixel limits; None without image sizes."""
    return current_screen(
        sample.image_sizes, f"sample {sample.id!r}: image_sizes", settings.min_pixels, settings.max_pixels
    )


def reward_columns(rows: Sequence[Scored]) -> dict[str, list]:
    """The keyword columns a TRL trainer passes to reward functions, for these samples."""
    return {
        "id": [r.sample.id for r in rows],  # the rewards name the sample in their errors
        "solution": [r.sample.solution for r in rows],
        "image_sizes": [[list(s) for s in r.sample.image_sizes or []] for r in rows],
        "accu_reward_method": [r.sample.accu_reward_method for r in rows],
        "output_format": [r.sample.output_format for r in rows],
    }


def output_format(sample: Sample, settings: RewardSettings) -> str:
    """The form a sample's completion must have: the settings' forced one, else the sample's, else think."""
    return settings.output_format or sample.output_format or DEFAULT_OUTPUT_FORMAT


def reward_scores(
    rows: Sequence[Scored], names: Sequence[str], settings: RewardSettings
) -> dict[str, list[float | None]]:
    """``{reward name: per-sample score}`` from the trainer's reward callables."""
    completions = [r.completion or "" for r in rows]
    prompts = [r.sample.prompt for r in rows]
    columns = reward_columns(rows)
    funcs = get_reward_funcs(list(names), settings)
    return {  # by keyword, as TRL calls them: a user's reward(completions, **kwargs) works here too
        name: list(f(prompts=prompts, completions=completions, completion_ids=None, **columns))
        for name, f in zip(names, funcs, strict=True)
    }


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    results: list[StepResult]
    metrics: dict


def predicted(completion: str | None) -> tuple[Action | None, str | None]:
    """``(action, None)`` for the answer a completion gives (as the rewards read it), else ``(None, why)``."""
    if completion is None:
        return None, "no prediction"
    answer = answer_text(completion)
    if answer is None:
        nested = parse_completion(completion).answer_text is not None
        return None, "no <answer>...</answer> pair" + (" outside <think>" if nested else "")
    parsed = parse_completion(f"<answer>{answer}</answer>")  # the reasons parse_completion gives
    return parsed.action, parsed.error


def judge_row(
    row: Scored, truth: Action, rules: MatchRules, settings: RewardSettings, rewards: dict[str, float | None]
) -> StepResult:
    """The verdict on one (sample, completion) pair."""
    pred, error = predicted(row.completion)
    frame = image_frame(row.sample, settings)
    type_ok, step_ok, grounding_ok, reason = judge_step(
        pred, truth, frame, settings.coordinate_frame, rules, error=error
    )
    sample = row.sample
    well_formed = pred is not None and matches_output_format(row.completion, output_format(sample, settings))
    return StepResult(
        sample.id,
        truth,
        pred,
        type_ok,
        step_ok,
        grounding_ok,
        reason,
        sample.task_id,
        sample.step,
        rewards,
        well_formed=well_formed,
        episode_length=episode_length(sample),
    )


def rules_record(rules: MatchRules, settings: RewardSettings) -> dict:
    """The settings a metrics file was computed under (``--compare`` warns when they differ).

    ``text_match`` is the step rule's; the rewards' is added as ``reward_text_match`` when it differs.
    """
    record = {
        "box_scale": rules.box_scale,
        "tap_distance": rules.tap_distance,
        "text_threshold": rules.text_threshold,
        "text_match": rules.text_match,
        "frame": str(getattr(settings.coordinate_frame, "value", settings.coordinate_frame)),
        "min_pixels": settings.min_pixels,
        "max_pixels": settings.max_pixels,
        "accuracy_method": settings.accuracy_method,
    }
    if settings.text_match != rules.text_match:
        record["reward_text_match"] = settings.text_match
    if rules.point_distance != DEFAULT_POINT_DISTANCE:  # recorded when set: older files lack the key
        record["point_distance"] = rules.point_distance
    return record


def judge_all(
    rows: Sequence[Scored], rules: MatchRules, settings: RewardSettings, reward_names: Sequence[str]
) -> tuple[list[StepResult], dict[str, list[float | None]]]:
    """Every row's verdict (with its reward scores), and ``{reward name: per-row score}``."""
    truths = [sample_truth(row.sample) for row in rows]  # bad truth: our message, before the rewards'
    scores = reward_scores(rows, reward_names, settings)
    results = [
        judge_row(row, truth, rules, settings, {name: values[i] for name, values in scores.items()})
        for i, (row, truth) in enumerate(zip(rows, truths, strict=True))
    ]
    return results, scores


def evaluate(
    rows: Sequence[Scored],
    rules: MatchRules | None = None,
    settings: RewardSettings | None = None,
    reward_names: Sequence[str] = DEFAULT_REWARDS,
    by_task: bool = False,
    *,
    with_samples: bool = True,
    protocol: Protocol | str | None = None,
    sources: LengthSources | None = None,
) -> Evaluation:
    """Judge every step and aggregate; ``metrics`` is what ``gui-agent-rl eval`` writes.

    When the rows carry sampled completions (and ``with_samples``), each draw is judged the same way
    and ``metrics["sampled"]`` holds their mean figures and pass@K (:mod:`.sampled`). A ``protocol``
    (:mod:`.protocols`) adds ``metrics["protocol"]`` (:mod:`.protocol_eval`); ``sources`` tell
    ``by_task`` how many steps each task had (:mod:`.episodes`).

    >>> rows = join_predictions(read_samples("d.jsonl"), read_predictions("p.jsonl"))  # doctest: +SKIP
    >>> ev = evaluate(rows, MatchRules(box_scale=1.2))  # doctest: +SKIP
    >>> ev.metrics["step_success"]  # doctest: +SKIP
    0.75
    """
    rules = rules or MatchRules()
    settings = settings or RewardSettings()
    results, scores = judge_all(rows, rules, settings, reward_names)
    metrics = aggregate(results)
    metrics["rewards"] = {name: _mean(values) for name, values in scores.items()}
    metrics["rules"] = rules_record(rules, settings)
    if protocol is not None:
        preset = get_protocol(protocol) if isinstance(protocol, str) else protocol
        results, metrics["protocol"] = judge_protocol(
            preset, [r.sample for r in rows], results, settings, rules
        )
        if by_task:
            under = [replace(r, step_ok=r.protocol["step_ok"]) for r in results]
            metrics["protocol"]["by_task"] = task_metrics(under, sources)
    if by_task:
        metrics["by_task"] = task_metrics(results, sources)
    draws = sample_draws(rows) if with_samples else []
    if draws:
        verdicts = [judge_all(draw, rules, settings, reward_names)[0] for draw in draws]
        metrics["sampled"] = sampled_metrics(verdicts, sample_temperature(rows))
    return Evaluation(results, metrics)


def verdict_record(result: StepResult) -> dict:
    """One line of ``eval --per-sample``: the verdict on a sample and its reward scores."""
    return {
        "id": result.id,
        "task_id": result.task_id,
        "step": result.step,
        "truth_type": result.truth.action_type,
        "pred_type": result.pred_type,
        "type_ok": result.type_ok,
        "step_ok": result.step_ok,
        "grounding_ok": result.grounding_ok,
        "reason": result.reason,
        "rewards": result.rewards,
        **({"protocol": result.protocol} if result.protocol is not None else {}),
    }


def write_verdicts(path: str | os.PathLike[str], results: Sequence[StepResult]) -> int:
    """Write one :func:`verdict_record` per result as JSON lines (atomically)."""
    with JsonlWriter(path) as writer:
        for result in results:
            writer.write(verdict_record(result))
    return writer.count
