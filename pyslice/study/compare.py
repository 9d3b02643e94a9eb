"""Two studies side by side: a controlled ablation (one change, same seeds and targets) judged per
(seed, target) pair. :func:`compare_studies` pairs the reference's and the variant's numbers on
the (seed, target) pairs both ran, takes variant − reference per pair and gives each quantity the
t-interval on the per-seed means and a four-state verdict (:mod:`pyslice.base.statistics`; the
variant is ``higher``, ``lower``, ``equivalent`` within the quantity's margin, or ``not resolved``)."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from pyslice.base.statistics import verdict
from pyslice.study.claims import (LOG_STEPS_MARGIN, MARGINS, RELATIVE, REWARD_MARGIN, interval_over_seeds,
                                  log_steps_ratio, nan_if_none, source_choice_value)
from pyslice.study.results import Interval, SeedResult, StudyResults, TargetResult

__all__ = ["PER_SEED", "QUANTITIES", "Comparison", "compare_studies", "format_comparison"]

SAT = "mean_min_throughput_satisfaction"


def _window(method: str, metric: str = SAT) -> Callable[[TargetResult], float]:
    return lambda t: t.eval[method].get(metric)


#: The compared quantities: name → (per-target value, equivalence margin).
QUANTITIES: dict[str, tuple[Callable[[TargetResult], float], float]] = {
    "converged DRL satisfaction": (_window("drl"), MARGINS[SAT]),
    "TL satisfaction (final window)": (_window("tl"), MARGINS[SAT]),
    "DRL from scratch satisfaction (TL's steps)": (_window("drl_scratch"), MARGINS[SAT]),
    "converged DRL share of steps below 0.95": (_window("drl", "share_below_0.95"), MARGINS["share_below_0.95"]),
    "TL over scratch at equal training steps (relative to converged DRL)":
        (lambda t: nan_if_none(t.tl_gain_normalised), MARGINS[RELATIVE]),
    "nearest over farthest source, early window": (lambda t: t.nearest_vs_farthest_early_gain, MARGINS[RELATIVE]),
    "log steps ratio scratch / TL to 95 % of converged DRL": (lambda t: log_steps_ratio(t, 0.95), LOG_STEPS_MARGIN),
}
#: Per-seed quantities (the similarity analysis is one per seed): name → value.
PER_SEED: dict[str, Callable[[SeedResult], float]] = {
    "VAE group distance: across − within": lambda r: r.across_group_distance - r.within_group_distance,
    "VAE posterior σ², log10 of the median": lambda r: math.log10((r.posterior_variance or {}).get(
        "sigma2_median", math.nan)),
}
WORDS = {"holds": "higher", "does not hold": "lower", "equivalent": "equivalent", "not resolved": "not resolved"}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One quantity of two studies: each one's mean over the shared (seed, target) pairs, the paired
    difference variant − reference with its interval, and the verdict on it."""

    quantity: str
    reference: float
    variant: float
    difference: Interval
    margin: float | None
    verdict: str


def _pairs(a: StudyResults, b: StudyResults) -> list[tuple[SeedResult, SeedResult, list[int]]]:
    by_seed = {r.seed: r for r in b.per_seed}
    pairs = [(r, by_seed[r.seed], sorted(set(r.targets) & set(by_seed[r.seed].targets)))
             for r in a.per_seed if r.seed in by_seed]
    pairs = [p for p in pairs if p[2]]
    if not pairs:
        raise ValueError("the two studies share no (seed, target) pair: run the variant with the reference's "
                         "seeds and targets")
    return pairs


def _compare(name: str, values: list[tuple[list[float], list[float]]], margin: float | None) -> Comparison:
    diff = interval_over_seeds([[vb - va for va, vb in zip(ref, var)] for ref, var in values])
    flat = lambda i: [v for pair in values for v in pair[i] if math.isfinite(v)]  # noqa: E731
    mean = lambda xs: sum(xs) / len(xs) if xs else math.nan  # noqa: E731
    return Comparison(name, mean(flat(0)), mean(flat(1)), diff, margin,
                      WORDS[verdict(dataclasses.asdict(diff), "greater", margin)])


def compare_studies(reference: StudyResults, variant: StudyResults,
                    measure: str = "vae-kl-equal-sigma") -> list[Comparison]:
    """Every quantity of :data:`QUANTITIES`, the early reward of ``measure``'s source pick over a random
    pick, and the per-seed quantities of :data:`PER_SEED`, compared on the (seed, target) pairs both
    studies ran; ValueError when they share none."""
    pairs = _pairs(reference, variant)
    per_target = {**QUANTITIES, f"source pick ({measure}) over a random pick, early reward":
                  (lambda t: source_choice_value(t, measure, "gain_over_random"), REWARD_MARGIN)}
    out = [_compare(name, [([fn(ra.targets[k]) for k in ks], [fn(rb.targets[k]) for k in ks]) for ra, rb, ks in pairs],
                    margin) for name, (fn, margin) in per_target.items()]
    out += [_compare(name, [([fn(ra)], [fn(rb)]) for ra, rb, _ in pairs], None) for name, fn in PER_SEED.items()]
    return out


def format_comparison(rows: list[Comparison], reference: str, variant: str) -> str:
    """A Markdown table of :func:`compare_studies`' rows."""
    lines = [f"| quantity | {reference} | {variant} | variant − reference, 95 % interval | verdict |",
             "|---|---|---|---|---|"]
    for c in rows:
        d = c.difference
        margin = "" if c.margin is None else f" (± {c.margin:.3g})"
        lines.append(f"| {c.quantity} | {c.reference:.4g} | {c.variant:.4g} | {d.mean:.3g} [{d.lo:.3g}, {d.hi:.3g}] | "
                     f"{c.verdict}{margin} |")
    return "\n".join(lines)
