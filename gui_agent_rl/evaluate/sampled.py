"""Figures over K sampled completions per sample: the mean over all samples, and pass@K.

Each draw (the j-th sampled completion of every sample) is judged exactly as the greedy completions
are (``scoring.judge_all``: the same step rules and reward callables); this module only averages the
verdicts. Rates are means over all K x N (sample, completion) pairs; ``pass_at_k`` is the share of
samples with at least one step success among their K completions (the unbiased estimator of Chen et
al. 2021 with k = n).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from math import comb

from gui_agent_rl.evaluate.metrics import StepResult, aggregate


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n completions of which c succeeded: ``1 - C(n-c, k) / C(n, k)``.

    With k == n it is 1 when any succeeded.

    >>> pass_at_k(4, 1, 4), pass_at_k(4, 1, 2), pass_at_k(4, 0, 4)
    (1.0, 0.5, 0.0)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def _mean(values: Sequence[float | bool | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _figures(per_sample: Sequence[Sequence[StepResult]]) -> dict:
    """Count, mean rates, reward means and pass@K over samples given as their K verdicts each.

    The rates come from :func:`aggregate` over all (sample, completion) verdicts, so they follow the
    greedy figures' definitions exactly.
    """
    flat = [r for results in per_sample for r in results]
    base = aggregate(flat)
    names = list(dict.fromkeys(name for r in flat for name in r.rewards))
    return {
        "count": len(per_sample),
        **{key: base[key] for key in ("type_accuracy", "step_success", "grounding_accuracy", "format_rate")},
        "pass_at_k": _mean(
            [pass_at_k(len(rs), sum(r.step_ok for r in rs), len(rs)) for rs in per_sample if rs]
        ),
        "rewards": {name: _mean([r.rewards.get(name) for r in flat]) for name in names},
    }


def sampled_metrics(draws: Sequence[Sequence[StepResult]], temperature: float | None = None) -> dict:
    """The ``sampled`` block of the metrics: ``draws[j][i]`` is the verdict on sample i's j-th completion.

    Keys: ``num_samples``, ``temperature`` (None when unknown), the :func:`_figures` keys over all
    samples (``grounding_accuracy`` over click/long_click truths), and ``per_type`` (by true type).
    """
    per_sample = list(zip(*draws, strict=True))
    groups: dict[str, list[tuple[StepResult, ...]]] = defaultdict(list)
    for results in per_sample:
        groups[results[0].truth.action_type].append(results)
    return {
        "num_samples": len(draws),
        "temperature": temperature,
        **_figures(per_sample),
        "per_type": {kind: _figures(groups[kind]) for kind in sorted(groups)},
    }
