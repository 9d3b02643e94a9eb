"""Sample efficiency of TL against DRL from scratch, measured against converged DRL on the same
traffic (the study's ``evaluate`` phase runs the pretrained agents greedily over the TL seed's
traffic for as long as the longest learner run).

* :func:`steps_to_reach`: the steps a learner needs until its trailing mean reward reaches a share
  of converged DRL's trailing mean over the same steps (its exploration counted: samples are what TL
  saves).
* :func:`normalised_gain`: TL against scratch at equal *training* steps — TL's steps [0, W) against
  scratch's steps [E, E + W) after its E exploration steps — each divided by converged DRL's reward
  on its own steps, so the traffic of the two windows does not enter the comparison.
* :func:`normalised_gain_curve`: the same as a function of the training steps (the gain curve).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pyslice.study.results import SeedResult

__all__ = ["LEVELS", "normalised_gain", "normalised_gain_curve", "sample_efficiency_summary", "steps_to_reach"]

#: Shares of converged DRL's reward whose first reaching is reported.
LEVELS = (0.9, 0.95)


def _trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(np.asarray(x, dtype=float))])
    return c[window:] - c[:-window]  # [T - window + 1]: sum over steps [t - window + 1, t]


def steps_to_reach(reward: np.ndarray, reference: np.ndarray, level: float, window: int) -> float:
    """The number of steps after which the trailing ``window``-step mean of ``reward`` first reaches
    ``level`` × the trailing mean of ``reference`` over the same steps (so at least ``window``);
    NaN if it never does within ``min(len(reward), len(reference))`` steps."""
    if not 0 < level <= 1:
        raise ValueError(f"level must be in (0, 1], got {level!r}")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window!r}")
    T = min(len(reward), len(reference))
    if T < window:
        return math.nan
    ok = _trailing_sum(reward[:T], window) >= level * _trailing_sum(reference[:T], window)
    hits = np.flatnonzero(ok)
    return float(hits[0] + window) if hits.size else math.nan


def normalised_gain(tl: np.ndarray, scratch: np.ndarray, drl: np.ndarray, exploration: int,
                    length: int | None = None) -> float:
    """TL over scratch at equal training steps, each relative to converged DRL on its own steps:
    (Σ TL[0:W] / Σ DRL[0:W]) / (Σ S[E:E+W] / Σ DRL[E:E+W]) − 1, with W = ``length`` or as long as
    both runs allow. NaN when W < 1 or a sum is not positive."""
    E = int(exploration)
    W = min(len(tl), len(scratch) - E, len(drl) - E)
    if length is not None:
        W = min(W, int(length))
    if W < 1:
        return math.nan
    d_tl, d_s, s = float(np.sum(drl[:W])), float(np.sum(drl[E:E + W])), float(np.sum(scratch[E:E + W]))
    if d_tl <= 0 or d_s <= 0 or s <= 0:
        return math.nan
    return float((np.sum(tl[:W]) / d_tl) / (s / d_s) - 1.0)


def normalised_gain_curve(tl: np.ndarray, scratch: np.ndarray, drl: np.ndarray, exploration: int) -> np.ndarray:
    """[W] TL's and scratch's cumulative mean reward relative to converged DRL on the same steps, TL
    minus scratch, after t = 1..W training steps (shares of converged DRL's reward)."""
    E = int(exploration)
    W = min(len(tl), len(scratch) - E, len(drl) - E)
    if W < 1:
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tl_share = np.cumsum(tl[:W]) / np.cumsum(drl[:W])
        scratch_share = np.cumsum(scratch[E:E + W]) / np.cumsum(drl[E:E + W])
    return np.asarray(tl_share - scratch_share, dtype=float)


def sample_efficiency_summary(per_seed: Sequence[SeedResult], targets: Sequence[int]) -> dict[str, dict[str, float]]:
    """Per level (``"0.9"``, ``"0.95"``), over every (seed, target) with the long scratch run: the
    share of TL and scratch runs that reach it, their median steps among those that do, and the
    number of pairs. Empty without the long scratch runs."""
    out: dict[str, dict[str, float]] = {}
    results = [r.targets[k] for r in per_seed for k in targets if r.targets[k].steps_to_reach is not None]
    if not results:
        return out
    for q in LEVELS:
        key = f"{q:g}"
        row: dict[str, float] = {"pairs": float(len(results))}
        for who in ("tl", "scratch"):
            steps = np.array([t.steps_to_reach[who][key] for t in results if t.steps_to_reach is not None])
            reached = steps[np.isfinite(steps)]
            row[f"{who}_reached"] = float(reached.size / steps.size)
            row[f"{who}_median_steps"] = float(np.median(reached)) if reached.size else math.nan
        out[key] = row
    return out
