"""Service satisfaction of paper eq. 2 from per-slice KPIs.

For cell k and slice n the terms are phi[k,n]/phi*[k,n] and d*[k,n]/d[k,n], each capped at 1; the
reward is the minimum over slices of the smaller term. A slice with no active users is satisfied
(both terms 1); a slice whose users all get nothing (throughput 0) has satisfaction 0.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def satisfaction_terms(
    throughput: np.ndarray,
    delay: np.ndarray,
    users: np.ndarray,
    req_throughput: np.ndarray,
    req_delay: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Throughput and delay terms min(phi/phi*, 1) and min(d*/d, 1), [..., K, N]."""
    throughput = np.asarray(throughput, dtype=float)
    delay = np.asarray(delay, dtype=float)
    empty = np.asarray(users) <= 0
    tput_term = np.minimum(throughput / req_throughput, 1.0)
    with np.errstate(divide="ignore"):
        delay_term = np.where(delay > 0.0, np.minimum(req_delay / np.where(delay > 0.0, delay, 1.0), 1.0), 0.0)
    # A slice with users but no served UE (all in outage) has delay 0 and throughput 0: unsatisfied.
    delay_term = np.where(throughput > 0.0, delay_term, 0.0)
    return np.where(empty, 1.0, tput_term), np.where(empty, 1.0, delay_term)


def reward(throughput, delay, users, req_throughput, req_delay) -> np.ndarray:
    """Paper eq. 2 per cell: min over slices of min(phi/phi*, d*/d, 1), [..., K]."""
    t, d = satisfaction_terms(throughput, delay, users, req_throughput, req_delay)
    return np.minimum(t, d).min(axis=-1)


def min_throughput_satisfaction(throughput, users, req_throughput) -> np.ndarray:
    """Minimum over slices of min(phi/phi*, 1) per cell (the quantity of paper Fig. 5), [..., K]."""
    empty = np.asarray(users) <= 0
    term = np.where(empty, 1.0, np.minimum(np.asarray(throughput, dtype=float) / req_throughput, 1.0))
    return term.min(axis=-1)


def max_slice_delay(delay, users, outage=None, unserved_delay_s: float | None = None) -> np.ndarray:
    """Maximum over slices with users of the mean delay (paper Fig. 6), [..., K]; 0 if no users.

    One convention with eq. 2, which counts a slice whose users are all in outage as unsatisfied:
    given ``outage`` counts and ``unserved_delay_s`` (the scenario's ``max_delay_s``, the delay a
    starved slice reports), such a slice's delay counts as ``unserved_delay_s`` instead of the 0 the
    core reports for a slice without served UEs."""
    users = np.asarray(users)
    d = np.where(users > 0, np.asarray(delay, dtype=float), 0.0)
    if outage is not None and unserved_delay_s is not None:
        d = np.where((users > 0) & (np.asarray(outage) >= users), float(unserved_delay_s), d)
    return d.max(axis=-1)


def drop_rate(dropped, demand) -> np.ndarray:
    """Share of the offered traffic that was dropped, per (cell, slice) [..., K, N]; 0 where a slice
    offers nothing."""
    demand = np.asarray(demand, dtype=float)
    return np.where(demand > 0, np.asarray(dropped, dtype=float) / np.where(demand > 0, demand, 1.0), 0.0)


def delay_statistics(max_delay_s) -> dict[str, float]:
    """Mean, median and 95th percentile (ms) of max-slice delays (s, any shape)."""
    d = 1e3 * np.asarray(max_delay_s, dtype=float).ravel()
    return {"mean_max_slice_delay_ms": float(d.mean()), "median_max_slice_delay_ms": float(np.median(d)),
            "p95_max_slice_delay_ms": float(np.percentile(d, 95))}


def step_kpis(kpis: Mapping[str, np.ndarray], req_throughput: np.ndarray,
              unserved_delay_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The per-step statistics every rollout records, from one step's KPIs (an env ``info`` or the
    same fields of a simulator result, any leading dims): min-throughput satisfaction ``[..., K]``
    (Fig. 5), max-slice delay in seconds ``[..., K]`` (Fig. 6, a slice whose users are all in outage
    counts ``unserved_delay_s``) and the drop rate ``[..., K, N]`` (``None`` without ``dropped``)."""
    sat = min_throughput_satisfaction(kpis["throughput"], kpis["users"], req_throughput)
    delay = max_slice_delay(kpis["delay"], kpis["users"], kpis["outage"], unserved_delay_s)
    drop = drop_rate(kpis["dropped"], kpis["demand"]) if "dropped" in kpis else None
    return sat, delay, drop


def kpi_summary(min_tput_satisfaction, max_delay_s, reward=None, drop=None) -> dict[str, Any]:
    """The headline statistics of a window of steps, under the one name each has everywhere
    (results.json, ``pyslice evaluate``, ``pyslice simulate``):

    - ``mean_min_throughput_satisfaction`` and ``share_below_0.95`` (the share of (step, cell)
      samples whose min-throughput satisfaction is below 0.95; paper Fig. 5);
    - ``mean/median/p95_max_slice_delay_ms`` (:func:`delay_statistics`; paper Fig. 6);
    - with ``reward`` (eq. 2, any shape): ``mean_reward`` and ``share_reward_below_0.95``;
    - with ``drop`` (rates ``[..., N]``): ``drop_rate_per_slice`` (mean over all but the slice axis)
      and ``mean_drop_rate``."""
    sat = np.asarray(min_tput_satisfaction, dtype=float)
    out: dict[str, Any] = {}
    if reward is not None:
        r = np.asarray(reward, dtype=float)
        out["mean_reward"] = float(r.mean())
        out["share_reward_below_0.95"] = float((r < 0.95).mean())
    out["mean_min_throughput_satisfaction"] = float(np.mean(sat))
    out["share_below_0.95"] = float(np.mean(sat < 0.95))
    out.update(delay_statistics(max_delay_s))
    if drop is not None:
        d = np.asarray(drop, dtype=float)
        out["drop_rate_per_slice"] = d.reshape(-1, d.shape[-1]).mean(axis=0).tolist()
        out["mean_drop_rate"] = float(np.mean(d))
    return out
