"""The authors' generalist (TL-DIRP) against integrated TL, on the same traffic: per (seed, target)
every policy's reward over the early window and the evaluation window, its min-slice throughput
satisfaction and its worst-slice QoS violation; the paired differences with their intervals and
verdicts; and each policy's reduction of the worst-slice violation against the traffic-aware
baseline, the authors' headline metric (about 15 % in their OJ-COMS 2023 paper).

The early window is a policy's first steps in the new cell; for DRL from scratch, its first steps
after its exploration (equal training steps, as the study's "TL starts higher" claim reads it).

The worst-slice QoS violation of a step is ``1 − min_n min(φ_n / φ*_n, 1)``: how far the worst
slice falls short of its required throughput (0 when every slice is served).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pyslice.study.claims import REWARD_MARGIN, interval_over_seeds, judge_claim
from pyslice.study.results import Claim, GeneralistComparison, Interval, Summary
from pyslice.study.transfer import TransferResult
from pyslice.study.transfer_runs import GENERALIST_LEARNERS

__all__ = ["COMPARED", "generalist_comparison", "judge_generalist"]

ZERO_SHOT, FINE_TUNED = GENERALIST_LEARNERS
#: The compared policies, in the order of the tables.
COMPARED = (ZERO_SHOT, FINE_TUNED, "TL nearest source", "TL random source", "DRL from scratch",
            "traffic-aware baseline", "max-min reference")
METRICS = ("early_reward", "eval_reward", "mean_min_throughput_satisfaction", "worst_slice_violation")
#: The authors' reduction of the worst-slice violation against the traffic-aware baseline.
PAPER_REDUCTION = 0.15

#: The paired differences judged, each a claim that it is > 0: (name, a, b, metric, claim).
DIFFERENCES = (
    ("eval reward: generalist fine-tuned - TL nearest", FINE_TUNED, "TL nearest source", "eval_reward",
     "The fine-tuned generalist beats integrated TL from the nearest source after the same steps"),
    ("eval reward: generalist fine-tuned - DRL from scratch", FINE_TUNED, "DRL from scratch", "eval_reward",
     "The fine-tuned generalist beats DRL from scratch after the same steps"),
    ("eval reward: generalist fine-tuned - zero-shot", FINE_TUNED, ZERO_SHOT, "eval_reward",
     "Fine-tuning improves the generalist in the new cell"),
    ("early reward: generalist zero-shot - DRL from scratch", ZERO_SHOT, "DRL from scratch", "early_reward",
     "The generalist zero-shot starts higher than DRL from scratch after its exploration"),
    ("early reward: generalist zero-shot - traffic-aware baseline", ZERO_SHOT, "traffic-aware baseline",
     "early_reward", "The generalist zero-shot beats the traffic-aware baseline from its first steps in the new cell"),
    ("early reward: generalist zero-shot - TL nearest", ZERO_SHOT, "TL nearest source", "early_reward",
     "The generalist zero-shot starts higher than integrated TL from the nearest source"),
    ("early reward: TL nearest - TL random source", "TL nearest source", "TL random source", "early_reward",
     "Integrated TL from the nearest source starts higher than from a random source"),
)
REDUCTION = "worst-slice violation reduction vs traffic-aware: "



def _values(sat: np.ndarray, reward: np.ndarray, early: slice, ev: slice) -> dict[str, float]:
    return {"early_reward": float(reward[early].mean()), "eval_reward": float(reward[ev].mean()),
            "mean_min_throughput_satisfaction": float(sat[ev].mean()),
            "worst_slice_violation": float((1.0 - sat[ev]).mean())}


def _target_values(folder: Path, evaluation: dict[str, np.ndarray], k: int, nearest_source: int, early: slice,
                   ev: slice) -> dict[str, dict[str, float]]:
    """Every compared policy's values for target ``k`` of one seed."""
    integrated = TransferResult.load(folder / "integrated")
    gen = TransferResult.load(folder / "generalist")
    rows = {"TL nearest source": (integrated, integrated.sources.index(nearest_source)),
            "DRL from scratch": (integrated, integrated.row("scratch")),
            "TL random source": (gen, 0), ZERO_SHOT: (gen, gen.row(ZERO_SHOT)), FINE_TUNED: (gen, gen.row(FINE_TUNED))}
    out = {name: _values(r.throughput_satisfaction[j], r.target_reward[j], early, ev) for name, (r, j) in rows.items()}
    E = integrated.scratch_exploration_steps  # scratch's early window: its first steps after exploring
    scratch_early = slice(E + early.start, E + early.stop)
    out["DRL from scratch"]["early_reward"] = float(integrated.target_reward[integrated.row("scratch"), scratch_early].mean())
    for name, label in (("traffic-aware baseline", "baseline"), ("max-min reference", "maxmin")):
        out[name] = _values(evaluation[f"{label}_satisfaction"][:, k], evaluation[f"{label}_reward"][:, k], early, ev)
    return {name: out[name] for name in COMPARED}


def generalist_comparison(out: Path, seeds: int, targets: tuple[int, ...], nearest: dict[tuple[int, int], int],
                          early_window: int, ev: slice) -> GeneralistComparison:
    """The comparison over the study in ``out`` (``nearest[(seed, target)]``: the target's nearest source)."""
    early = slice(0, early_window)
    per: list[dict[int, dict[str, dict[str, float]]]] = []
    for s in range(seeds):
        root = out / f"seed{s}"
        evaluation = dict(np.load(root / "evaluate" / "evaluation.npz", allow_pickle=False))
        per.append({k: _target_values(root / "transfer" / f"target{k}", evaluation, k, nearest[(s, k)], early, ev)
                    for k in targets})

    def seed_means(method: str, metric: str) -> list[float]:
        return [float(np.mean([p[k][method][metric] for k in targets])) for p in per]

    methods = {m: {metric: Summary(mean=float(np.mean(v := seed_means(m, metric))), std=float(np.std(v)), n=len(v))
                   for metric in METRICS} for m in COMPARED}
    differences = {name: interval_over_seeds([[p[k][a][metric] - p[k][b][metric] for k in targets] for p in per])
                   for name, a, b, metric, _ in DIFFERENCES}
    base = seed_means("traffic-aware baseline", "worst_slice_violation")
    reduction = {m: interval_over_seeds([[1.0 - v / b] for v, b in zip(seed_means(m, "worst_slice_violation"), base)])
                 for m in COMPARED if m != "traffic-aware baseline"}
    return GeneralistComparison(methods=methods, differences=differences, violation_reduction=reduction,
                                claims=judge_generalist(differences, reduction))


def judge_generalist(diff: dict[str, Interval], reduction: dict[str, Interval]) -> list[Claim]:
    """The comparison's claims with their verdicts from the differences' and reductions' intervals."""
    both = {**diff, **{REDUCTION + m: ci for m, ci in reduction.items()}}
    claims = [judge_claim(text, both, [name], "greater", REWARD_MARGIN, [None]) for name, _, _, _, text in DIFFERENCES]
    claims.append(judge_claim("The fine-tuned generalist has fewer worst-slice QoS violations than the traffic-aware "
                              "baseline (authors: about 15 % fewer)", both, [REDUCTION + FINE_TUNED], "greater", None,
                              [PAPER_REDUCTION]))
    return claims


def comparison_rows(comparison: GeneralistComparison) -> list[dict[str, Any]]:
    """The methods table as rows (one per policy) for the report."""
    return [{"method": m, **{metric: comparison.methods[m][metric].mean for metric in METRICS},
             "violation_reduction": comparison.violation_reduction.get(m)} for m in COMPARED]
