"""Intervals and four-state verdicts for the study's paired comparisons.

The study's unit is a (seed, target cell) pair: within a seed, every method runs on the same
traffic, so differences between methods are paired. Seeds are independent; target cells of one seed
share its pretraining run and are not. The interval of a mean difference is therefore a
**t-interval on the per-seed means** (:func:`seed_mean_interval`): average the cells within each
seed, then ``mean ± t_{S-1} · sd / √S`` over the S seed means. The seed means are independent and,
being averages over cells, close to normal, so the interval keeps its nominal coverage at few seeds
(tests/test_statistics.py checks ≥ 93 % at 5 × 12 and 3 × 2 on synthetic data with a known mean),
where a percentile bootstrap over 5 seeds covers about 85 %. With one seed there is no interval.

A claim that a difference is > 0 (``"greater"``) or < 0 (``"less"``) gets one of four verdicts
(:func:`verdict`):

* ``holds``: the 95 % interval excludes 0 on the claimed side;
* ``does not hold``: it excludes 0 on the other side;
* ``equivalent``: neither, and the two one-sided tests (TOST, each at 5 %) put the difference
  within ± ``margin``: the 90 % interval lies inside (−margin, margin);
* ``not resolved``: none of these, or fewer than :data:`MIN_SEEDS` seeds.

A chain claim (A > B > C, :func:`chain_verdict`) holds when every link holds, does not hold when any
link does not, is ``equivalent`` when the rest hold and at least one link is equivalent (the ordering
collapses there), and is not resolved otherwise.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["MIN_SEEDS", "VERDICTS", "chain_verdict", "effect_excluded", "equivalent", "power", "seed_mean_interval",
           "seeds_needed", "verdict"]

VERDICTS = ("holds", "does not hold", "equivalent", "not resolved")
#: Fewest independent seeds behind an interval that may decide a claim.
MIN_SEEDS = 2


def _groups(values: Mapping[Any, Sequence[float]] | Sequence[Sequence[float]]) -> list[np.ndarray]:
    groups = list(values.values()) if isinstance(values, Mapping) else list(values)
    out = [np.asarray(g, dtype=float).ravel() for g in groups]
    out = [g[np.isfinite(g)] for g in out]
    out = [g for g in out if g.size]
    if not out:
        raise ValueError("an interval needs at least one finite value")
    return out


def _t(level: float, df: int) -> float:
    return float(stats.t.ppf(0.5 + level / 2, df))


def seed_mean_interval(values: Mapping[Any, Sequence[float]] | Sequence[Sequence[float]],
                       level: float = 0.95) -> dict[str, float]:
    """Mean of the per-seed means and its t-interval at ``level``.

    Args:
        values: one sequence of per-cell values per seed (a mapping seed → values, or a list).
            Non-finite values are left out, and seeds left with none.
        level: interval coverage in (0, 1).

    Returns ``{"mean", "lo", "hi", "se", "df", "n_seeds", "n"}``: ``se`` is the standard error of
    the mean over seeds and ``df = n_seeds − 1``; with one seed ``lo``, ``hi`` and ``se`` are NaN.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    groups = _groups(values)
    means = np.array([g.mean() for g in groups])
    S = means.size
    mean = float(means.mean())
    n = int(sum(g.size for g in groups))
    if S < 2:
        return {"mean": mean, "lo": math.nan, "hi": math.nan, "se": math.nan, "df": 0, "n_seeds": S, "n": n}
    se = float(means.std(ddof=1) / math.sqrt(S))
    half = _t(level, S - 1) * se
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "se": se, "df": S - 1, "n_seeds": S, "n": n}


def _usable(ci: Mapping[str, float], min_seeds: int) -> bool:
    return (math.isfinite(float(ci["lo"])) and math.isfinite(float(ci["hi"]))
            and int(ci.get("n_seeds", min_seeds)) >= min_seeds)


def equivalent(ci: Mapping[str, float], margin: float, alpha: float = 0.05) -> bool:
    """TOST: both one-sided tests at ``alpha`` reject a difference beyond ± ``margin``; that is, the
    ``1 − 2 alpha`` t-interval (from ``ci``'s ``mean``, ``se`` and ``df``) lies inside (−margin, margin)."""
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin!r}")
    se, df = float(ci["se"]), int(ci["df"])
    if not (math.isfinite(se) and df >= 1):
        return False
    half = _t(1 - 2 * alpha, df) * se
    return bool(-margin < float(ci["mean"]) - half and float(ci["mean"]) + half < margin)


def effect_excluded(ci: Mapping[str, float], effect: float) -> bool:
    """The 95 % interval excludes a difference of ``effect`` (e.g. the paper's effect size)."""
    lo, hi = float(ci["lo"]), float(ci["hi"])
    return bool(math.isfinite(lo) and math.isfinite(hi) and not lo <= effect <= hi)


def verdict(ci: Mapping[str, float], direction: str = "greater", margin: float | None = None,
            min_seeds: int = MIN_SEEDS) -> str:
    """Four-state verdict of a claim that the difference is > 0 (``"greater"``) or < 0 (``"less"``);
    ``equivalent`` needs a ``margin`` (and ``ci``'s ``se`` and ``df``). An interval from fewer than
    ``min_seeds`` seeds (``ci["n_seeds"]``, when given) or with a NaN bound is ``not resolved``:
    cells of one seed share its pretraining run, so their spread alone says nothing about another seed."""
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    if not _usable(ci, min_seeds):
        return "not resolved"
    lo, hi = float(ci["lo"]), float(ci["hi"])
    if direction == "less":
        lo, hi = -hi, -lo
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    if margin is not None and equivalent(ci, margin):
        return "equivalent"
    return "not resolved"


def chain_verdict(verdicts: Sequence[str]) -> str:
    """Verdict of a chain of claims (A > B > C) from its links' verdicts."""
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"unknown verdict {v!r}; expected one of {VERDICTS}")
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    if verdicts and all(v == "holds" for v in verdicts):
        return "holds"
    if verdicts and all(v in ("holds", "equivalent") for v in verdicts):
        return "equivalent"
    return "not resolved"


def power(effect: float, sd: float, seeds: int, level: float = 0.95) -> float:
    """Probability that the ``level`` t-interval on ``seeds`` per-seed means excludes 0 on the side of a
    true mean difference ``effect`` whose per-seed means spread with standard deviation ``sd``
    (noncentral t; the power of :func:`verdict` to say ``holds``)."""
    if not (math.isfinite(effect) and math.isfinite(sd) and sd > 0):
        raise ValueError(f"effect must be finite and sd finite and > 0, got effect={effect!r}, sd={sd!r}")
    if int(seeds) < 2:
        raise ValueError(f"seeds must be >= 2, got {seeds!r}")
    df = int(seeds) - 1
    return float(stats.nct.sf(_t(level, df), df, abs(effect) * math.sqrt(seeds) / sd))


def seeds_needed(effect: float, sd: float, target_power: float = 0.8, level: float = 0.95,
                 max_seeds: int = 10_000) -> int:
    """Fewest seeds whose interval decides an ``effect`` (:func:`power` ≥ ``target_power``); raises
    ValueError when even ``max_seeds`` do not (e.g. ``effect`` = 0)."""
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must lie in (0, 1), got {target_power!r}")
    if effect == 0 or power(effect, sd, max_seeds, level) < target_power:
        raise ValueError(f"an effect of {effect!r} with sd {sd!r} needs more than {max_seeds} seeds")
    lo, hi = 2, max_seeds  # power grows with the seeds: bisect
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power(effect, sd, mid, level) >= target_power else (mid + 1, hi)
    return lo
