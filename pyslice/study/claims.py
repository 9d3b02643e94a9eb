"""The paper's claims as the study judges them: the paired differences per (seed, target) they rest
on (:func:`paired_differences`), each with a direction, an equivalence margin and the paper's
effect size, and their four-state verdicts (:func:`judge_claims`; rules in
:mod:`pyslice.base.statistics`).

The margins are fixed before any run, from the size of a difference that matters in the paper's
own tables: 0.01 of mean min-slice satisfaction (the issue's and half the paper's smallest
difference, 0.92 − 0.90), 2 percentage points of steps below 0.95, 0.1 ms of mean max-slice delay
(the paper's smallest step, 1.8 → 1.7 ms) and 2 % of a relative reward gain.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from pyslice.base.statistics import chain_verdict, effect_excluded, seed_mean_interval, verdict
from pyslice.study.results import Claim, Interval, SeedResult, TargetResult

__all__ = ["MARGINS", "PAPER", "judge_claims", "paired_differences"]

SAT, LOW, DELAY = "mean_min_throughput_satisfaction", "share_below_0.95", "mean_max_slice_delay_ms"
RELATIVE = "relative reward gain"

#: The paper's numbers the table is set beside.
PAPER: dict[str, Any] = {
    SAT: {"baseline": 0.87, "drl": 0.90, "tl": 0.92},
    LOW: {"baseline": 0.25, "drl": 0.19, "tl": 0.12},
    DELAY: {"baseline": 1.8, "drl": 1.7, "tl": 1.5},
    "tl_gain_over_drl": 0.27,
    "nearest_vs_farthest_early_gain": 0.03,
}

#: Equivalence margin of each kind of difference (see the module docstring).
MARGINS: dict[str, float] = {SAT: 0.01, LOW: 0.02, DELAY: 0.1, RELATIVE: 0.02}

#: The paired methods every window metric is compared on: a - b.
PAIRS = (("tl", "drl"), ("drl", "baseline"), ("tl", "baseline"), ("drl_scratch", "baseline"))

EARLY_EQUAL = "early reward at equal training steps: TL - scratch (relative)"
EQUAL = "reward at equal training steps: TL - scratch (relative)"
EARLY_EXPLORING = "early reward: TL - scratch exploring (relative)"
OVER_TL_STEPS = "reward over the TL steps: TL - scratch incl. exploration (relative)"
NEAREST = "early reward: nearest over farthest source (relative)"
GROUPS = "group distance: across - within"


def _differences() -> dict[str, Callable[[TargetResult], float]]:
    """Per-target paired differences by name."""
    fns: dict[str, Callable[[TargetResult], float]] = {}
    for metric in (SAT, LOW, DELAY):
        for a, b in PAIRS:
            fns[f"{metric}: {a} - {b}"] = (lambda t, a=a, b=b, m=metric: t.eval[a].get(m) - t.eval[b].get(m))
    fns[EARLY_EQUAL] = lambda t: t.tl_early_gain_equal_training_steps
    fns[EQUAL] = lambda t: t.tl_gain_equal_training_steps
    fns[EARLY_EXPLORING] = lambda t: t.tl_early_gain_over_drl
    fns[OVER_TL_STEPS] = lambda t: t.tl_gain_over_drl
    fns[NEAREST] = lambda t: t.nearest_vs_farthest_early_gain
    return fns


def _interval(values: list[list[float]]) -> Interval:
    if not np.isfinite(np.asarray(values, dtype=float)).any():
        nan = float("nan")
        return Interval(mean=nan, lo=nan, hi=nan, se=nan, df=0, n_seeds=0, n=0)
    return Interval(**seed_mean_interval(values))


def paired_differences(per_seed: list[SeedResult], targets: tuple[int, ...]) -> dict[str, Interval]:
    """Mean and 95 % t-interval on the per-seed means (:func:`pyslice.base.statistics.seed_mean_interval`)
    of each paired difference, per (seed, target) on the same traffic."""
    out = {name: _interval([[fn(r.targets[k]) for k in targets] for r in per_seed])
           for name, fn in _differences().items()}
    out[GROUPS] = _interval([[r.across_group_distance - r.within_group_distance] for r in per_seed])
    return out


def _judge(text: str, diff: dict[str, Interval], links: list[str], direction: str, margin: float | None,
           paper: list[float | None]) -> Claim:
    verdicts = {n: verdict(dataclasses.asdict(diff[n]), direction, margin) for n in links}
    effects = {n: e for n, e in zip(links, paper) if e is not None}
    v = chain_verdict(list(verdicts.values()))
    return Claim(claim=text, verdict=v, holds=v == "holds", evidence=links, direction=direction, margin=margin,
                 link_verdicts=verdicts, paper_effect=effects,
                 paper_effect_excluded={n: effect_excluded(dataclasses.asdict(diff[n]), e) for n, e in effects.items()})


def judge_claims(diff: dict[str, Interval], worst_scratch_ratio: float, early_window: int) -> list[Claim]:
    """The paper's claims with their four-state verdicts from the paired differences' intervals;
    ``worst_scratch_ratio`` is the smallest new-cell DRL / baseline satisfaction over (seed, target)."""
    claims = []
    for metric, text, direction in ((SAT, "After convergence TL > DRL > traffic-aware baseline on mean min-slice "
                                          "throughput satisfaction", "greater"),
                                    (LOW, "TL < DRL < baseline on the share of steps below 0.95 satisfaction", "less"),
                                    (DELAY, "TL < DRL < baseline on mean max-slice delay", "less")):
        p = PAPER[metric]
        claims.append(_judge(text, diff, [f"{metric}: tl - drl", f"{metric}: drl - baseline"], direction,
                             MARGINS[metric], [p["tl"] - p["drl"], p["drl"] - p["baseline"]]))
    claims.append(_judge(f"TL starts far higher than DRL from scratch after its exploration (first {early_window} "
                         "training steps of each)", diff, [EARLY_EQUAL], "greater", MARGINS[RELATIVE], [None]))
    sound = "holds" if worst_scratch_ratio >= 0.8 else "does not hold"
    claims.append(Claim(claim="DRL from scratch in a new cell reaches at least 0.8 of the baseline's satisfaction on "
                              "the final window, for every seed and target (a sound learner; not a paper claim)",
                        verdict=sound, holds=sound == "holds", evidence=[]))
    claims.append(_judge("TL gains over DRL at equal training steps (paper: about 27 %)", diff, [EQUAL], "greater",
                         MARGINS[RELATIVE], [PAPER["tl_gain_over_drl"]]))
    claims.append(_judge(f"The nearest source gives a larger early gain than the farthest (paper: about 3 % in the "
                         f"first {early_window} steps)", diff, [NEAREST], "greater", MARGINS[RELATIVE],
                         [PAPER["nearest_vs_farthest_early_gain"]]))
    claims.append(_judge("The VAE distance groups cells with the same requirements (within-group < across-group)",
                         diff, [GROUPS], "greater", None, [None]))
    return claims
