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
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pyslice.base.statistics import chain_verdict, effect_excluded, seed_mean_interval, verdict
from pyslice.study.efficiency import LEVELS
from pyslice.study.results import Claim, Interval, SeedResult, TargetResult

__all__ = ["MARGINS", "PAPER", "interval_over_seeds", "judge_claim", "judge_claims", "log_steps_ratio", "nan_if_none",
           "paired_differences", "source_choice_intervals", "source_choice_value"]

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
NORMALISED = "reward relative to converged DRL at equal training steps: TL over scratch"
EARLY_NORMALISED = "early reward relative to converged DRL at equal training steps: TL over scratch"
#: log(scratch's steps / TL's steps) to reach a share of converged DRL's reward.
STEPS = {q: f"steps to {100 * q:g} % of converged DRL's reward: log(scratch / TL)" for q in LEVELS}
PICK_OVER_RANDOM = "early reward of the source pick over a random pick"
BEST_OVER_PICK = "early reward of the best source over the pick"
LOG_STEPS_MARGIN = math.log(1.1)
"""Equivalence margin of a steps ratio: 10 %."""
REWARD_MARGIN = 0.01
"""Equivalence margin of an early-reward difference (reward units: min-slice satisfaction)."""


def nan_if_none(value: float | None) -> float:
    """An optional result field as a number: NaN where the study did not measure it."""
    return math.nan if value is None else float(value)


def log_steps_ratio(t: TargetResult, level: float) -> float:
    """log(scratch's steps / TL's steps) to reach ``level`` of converged DRL's reward; a run that
    never reaches it counts its whole horizon (a bound: the ratio is understated when scratch never
    reaches it, overstated when TL does not). NaN without the long scratch run."""
    if t.steps_to_reach is None or t.horizon is None:
        return math.nan
    key = f"{level:g}"
    tl, scratch = t.steps_to_reach["tl"][key], t.steps_to_reach["scratch"][key]
    tl = t.horizon["tl"] if math.isnan(tl) else tl
    scratch = t.horizon["scratch"] if math.isnan(scratch) else scratch
    return math.log(scratch / tl)


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
    fns[NORMALISED] = lambda t: nan_if_none(t.tl_gain_normalised)
    fns[EARLY_NORMALISED] = lambda t: nan_if_none(t.tl_early_gain_normalised)
    for q, name in STEPS.items():
        fns[name] = lambda t, q=q: log_steps_ratio(t, q)
    return fns


def source_choice_value(t: TargetResult, measure: str, key: str) -> float:
    """``key`` (``gain_over_random``, ``shortfall_from_best``) of ``measure``'s source pick for a
    target; NaN where the study did not run TL from every source."""
    return math.nan if t.source_choice is None or measure not in t.source_choice else t.source_choice[measure][key]


def interval_over_seeds(values: list[list[float]]) -> Interval:
    """The t-interval on the per-seed means of ``values`` [seed][target] (NaN without a finite value)."""
    if not np.isfinite(np.asarray(values, dtype=float)).any():
        nan = float("nan")
        return Interval(mean=nan, lo=nan, hi=nan, se=nan, df=0, n_seeds=0, n=0)
    return Interval(**seed_mean_interval(values))


def paired_differences(per_seed: list[SeedResult], targets: tuple[int, ...], source_measure: str) -> dict[str, Interval]:
    """Mean and 95 % t-interval on the per-seed means (:func:`pyslice.base.statistics.seed_mean_interval`)
    of each paired difference, per (seed, target) on the same traffic; the source choice's by
    ``source_measure`` (the study's)."""
    out = {name: interval_over_seeds([[fn(r.targets[k]) for k in targets] for r in per_seed])
           for name, fn in _differences().items()}
    out[GROUPS] = interval_over_seeds([[r.across_group_distance - r.within_group_distance] for r in per_seed])
    for name, key in ((PICK_OVER_RANDOM, "gain_over_random"), (BEST_OVER_PICK, "shortfall_from_best")):
        out[name] = interval_over_seeds([[source_choice_value(r.targets[k], source_measure, key) for k in targets] for r in per_seed])
    return out


def source_choice_intervals(per_seed: list[SeedResult], targets: tuple[int, ...]) -> dict[str, dict[str, Interval]]:
    """Per similarity measure: the intervals of its pick's early reward over a random pick
    (``gain_over_random``) and short of the best source (``shortfall_from_best``)."""
    measures = dict.fromkeys(m for r in per_seed for k in targets for m in (r.targets[k].source_choice or {}))
    return {m: {key: interval_over_seeds([[source_choice_value(r.targets[k], m, key) for k in targets] for r in per_seed])
                for key in ("gain_over_random", "shortfall_from_best")} for m in measures}


def judge_claim(text: str, diff: dict[str, Interval], links: list[str], direction: str, margin: float | None,
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
        claims.append(judge_claim(text, diff, [f"{metric}: tl - drl", f"{metric}: drl - baseline"], direction,
                             MARGINS[metric], [p["tl"] - p["drl"], p["drl"] - p["baseline"]]))
    claims.append(judge_claim(f"TL starts far higher than DRL from scratch after its exploration (first {early_window} "
                         "training steps of each)", diff, [EARLY_EQUAL], "greater", MARGINS[RELATIVE], [None]))
    sound = "holds" if worst_scratch_ratio >= 0.8 else "does not hold"
    claims.append(Claim(claim="DRL from scratch in a new cell reaches at least 0.8 of the baseline's satisfaction on "
                              "the final window, for every seed and target (a sound learner; not a paper claim)",
                        verdict=sound, holds=sound == "holds", evidence=[]))
    # at equal training steps: relative to converged DRL on each one's own traffic where the long
    # scratch runs allow it (the whole TL run), else raw rewards over scratch's training steps
    equal = NORMALISED if math.isfinite(diff[NORMALISED].mean) else EQUAL
    claims.append(judge_claim("TL gains over DRL at equal training steps (paper: about 27 %)", diff, [equal], "greater",
                         MARGINS[RELATIVE], [PAPER["tl_gain_over_drl"]]))
    for q in LEVELS:
        if math.isfinite(diff[STEPS[q]].mean):
            claims.append(judge_claim(f"TL needs fewer steps than DRL from scratch to reach {100 * q:g} % of converged "
                                 "DRL's reward (the ratio scratch / TL > 1)", diff, [STEPS[q]], "greater",
                                 LOG_STEPS_MARGIN, [None]))
    if math.isfinite(diff[PICK_OVER_RANDOM].mean):
        claims.append(judge_claim("The source eq. 10 picks gives a higher early reward than a random source", diff,
                             [PICK_OVER_RANDOM], "greater", REWARD_MARGIN, [None]))
    claims.append(judge_claim(f"The nearest source gives a larger early gain than the farthest (paper: about 3 % in the "
                         f"first {early_window} steps)", diff, [NEAREST], "greater", MARGINS[RELATIVE],
                         [PAPER["nearest_vs_farthest_early_gain"]]))
    claims.append(judge_claim("The VAE distance groups cells with the same requirements (within-group < across-group)",
                         diff, [GROUPS], "greater", None, [None]))
    return claims
