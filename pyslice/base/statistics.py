"""Confidence intervals and three-state verdicts for the study's paired comparisons.

The study's unit is a (seed, target cell) pair: within a seed, every method runs on the same
traffic, so differences between methods are paired. Seeds are independent; target cells of one
seed share the pretraining run and are not. The interval of a mean difference therefore comes from
a **hierarchical bootstrap**: resample seeds with replacement, then cells with replacement within
each drawn seed, and take the mean of the drawn values; the 2.5 and 97.5 percentiles of
``n_boot`` such means give the 95 % interval (percentile method). With one seed only the cells are
resampled.

A claim in a direction (``"greater"``: the difference should be > 0) gets one of three verdicts:

* ``holds``: the interval excludes 0 on the claimed side;
* ``does not hold``: the interval excludes 0 on the other side;
* ``not resolved``: the interval contains 0, or it rests on fewer than :data:`MIN_SEEDS` seeds.

A chain claim (A > B > C) holds when every link holds, does not hold when any link does not, and is
not resolved otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pyslice.base.validation import check_int

__all__ = ["MIN_SEEDS", "VERDICTS", "bootstrap_mean_ci", "chain_verdict", "verdict"]

VERDICTS = ("holds", "does not hold", "not resolved")
#: Fewest independent seeds behind an interval that may decide a claim.
MIN_SEEDS = 2


def _groups(values: Mapping[Any, Sequence[float]] | Sequence[Sequence[float]]) -> list[np.ndarray]:
    groups = list(values.values()) if isinstance(values, Mapping) else list(values)
    out = [np.asarray(g, dtype=float).ravel() for g in groups]
    out = [g[np.isfinite(g)] for g in out]
    out = [g for g in out if g.size]
    if not out:
        raise ValueError("bootstrap needs at least one finite value")
    return out


def bootstrap_mean_ci(values: Mapping[Any, Sequence[float]] | Sequence[Sequence[float]], n_boot: int = 4000,
                      level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Mean of all values and its hierarchical-bootstrap ``level`` interval.

    Args:
        values: one sequence of per-cell values per seed (a mapping seed → values, or a list).
            Non-finite values are left out.
        n_boot: bootstrap resamples (≥ 100).
        level: interval coverage in (0, 1).
        seed: seeds the resampling (same inputs and seed → same interval, bit for bit).

    Returns ``{"mean", "lo", "hi", "n_seeds", "n"}``.
    """
    n_boot = check_int("n_boot", n_boot, 100)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    groups = _groups(values)
    rng = np.random.default_rng(seed)
    S = len(groups)
    sizes = np.array([g.size for g in groups])
    M = int(sizes.max())
    padded = np.zeros((S, M))
    for s, g in enumerate(groups):
        padded[s, : g.size] = g
    # all resamples at once: seeds [n_boot, S], then for every drawn seed its cell count of cells
    # drawn from it [n_boot, S, M] (slots beyond a seed's count are masked out)
    picked = rng.integers(0, S, (n_boot, S)) if S > 1 else np.zeros((n_boot, 1), dtype=np.int64)
    n = sizes[picked]  # [n_boot, S]
    cells = rng.integers(0, n[..., None], (n_boot, S, M))
    used = np.arange(M) < n[..., None]
    draws = np.where(used, padded[picked[..., None], cells], 0.0)
    means = draws.sum(axis=(1, 2)) / n.sum(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return {"mean": float(np.concatenate(groups).mean()), "lo": float(lo), "hi": float(hi), "n_seeds": int(S),
            "n": int(sizes.sum())}


def verdict(ci: Mapping[str, float], direction: str = "greater", min_seeds: int = MIN_SEEDS) -> str:
    """Three-state verdict of a claim that the quantity is > 0 (``"greater"``) or < 0 (``"less"``).
    An interval from fewer than ``min_seeds`` seeds (``ci["n_seeds"]``, when given) or with a NaN
    bound is ``not resolved``: cells of one seed share its pretraining run, so their spread alone
    says nothing about another seed."""
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    lo, hi = float(ci["lo"]), float(ci["hi"])
    if not (np.isfinite(lo) and np.isfinite(hi)) or int(ci.get("n_seeds", min_seeds)) < min_seeds:
        return "not resolved"
    if direction == "less":
        lo, hi = -hi, -lo
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    return "not resolved"


def chain_verdict(verdicts: Sequence[str]) -> str:
    """Verdict of a chain of claims (A > B > C): every link must hold."""
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"unknown verdict {v!r}; expected one of {VERDICTS}")
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    if verdicts and all(v == "holds" for v in verdicts):
        return "holds"
    return "not resolved"
