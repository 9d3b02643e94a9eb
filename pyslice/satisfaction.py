"""Service satisfaction of paper eq. 2 from per-slice KPIs.

For cell k and slice n the terms are phi[k,n]/phi*[k,n] and d*[k,n]/d[k,n], each capped at 1; the
reward is the minimum over slices of the smaller term. A slice with no active users is satisfied
(both terms 1); a slice whose users all get nothing (throughput 0) has satisfaction 0.
"""
from __future__ import annotations

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
