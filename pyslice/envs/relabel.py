"""Instance relabelling: transferred transitions recomputed under the target cell's requirements.

Paper §IV-C's instance transfer moves the source agent's stored transitions into the new agent's
replay buffer unchanged, so their rewards (eq. 2) and the state's φ/φ* block are computed with the
*source's* requirements φ*, d*. For a source of the other requirement group the new agent then
fine-tunes towards the wrong targets. Relabelling keeps every transition's raw KPIs and recomputes
what depends on the requirements:

* the reward, eq. 2, from the step's throughput, delay and active users;
* the first observation block (:func:`pyslice.envs.slicing.throughput_feature`) of ``obs`` (from the previous
  step's throughput) and of ``next_obs`` (from the step's throughput).

Load, users and eq. 5's coordination feature do not depend on the requirements and are kept. The
paper's plain transfer stays the default (``instance_rewards = "source"``); relabelling is
``instance_rewards = "target"`` (:func:`pyslice.study.transfer_runs.run_transfer`, ``ReproduceConfig``).

The raw-KPI record stored per transition (:data:`KPI_FIELDS`, N values each, so 4N in all) is built
by :func:`kpi_record`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pyslice.envs.slicing import OBSERVATIONS, throughput_feature
from pyslice.sim.satisfaction import reward

__all__ = ["INSTANCE_REWARDS", "KPI_FIELDS", "kpi_dim", "kpi_record", "relabel_instances"]

#: Raw per-slice KPIs kept with each transition, in this order: the throughput behind ``obs`` (the
#: previous step's), the step's throughput, delay and active users (bit/s, s, count).
KPI_FIELDS = ("throughput_prev", "throughput", "delay", "users")
#: Whose requirements the transferred instances' rewards use: the source's (the paper) or the target's.
INSTANCE_REWARDS = ("source", "target")


def kpi_dim(n_slices: int) -> int:
    """Length of one transition's KPI record for ``n_slices`` slices."""
    return len(KPI_FIELDS) * int(n_slices)


def kpi_record(prev_info: dict[str, Any], info: dict[str, Any]) -> np.ndarray:
    """The KPI record [..., K, 4N] of the transition from ``prev_info``'s step to ``info``'s step
    (env ``info`` dicts: ``throughput``, ``delay``, ``users`` [..., K, N])."""
    return np.concatenate([np.asarray(prev_info["throughput"], dtype=float), np.asarray(info["throughput"], dtype=float),
                           np.asarray(info["delay"], dtype=float), np.asarray(info["users"], dtype=float)], axis=-1)


def relabel_instances(data: dict[str, np.ndarray], req_throughput: Any, req_delay: Any,
                      observation: str) -> dict[str, np.ndarray]:
    """Copies of transitions ``data`` (``obs``, ``act``, ``rew``, ``next_obs``, ``kpi``, as
    :meth:`pyslice.learn.replay.ReplayBuffers.agent_data` returns them) with the reward and the φ/φ* block
    recomputed under the requirements ``req_throughput`` φ* (bit/s) and ``req_delay`` d* (s), each
    [N], for the env's ``observation`` mode.

    Raises ValueError when the transitions carry no KPIs (a run saved before they were kept), the
    shapes disagree or a requirement is not finite and positive.
    """
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation must be one of {', '.join(map(repr, OBSERVATIONS))}, got {observation!r}")
    if "kpi" not in data:
        raise ValueError("relabelling needs the raw KPIs of each transition; this replay buffer keeps none "
                         "(a run saved before they were kept): use instance_rewards='source'")
    req_t = np.asarray(req_throughput, dtype=float)
    req_d = np.asarray(req_delay, dtype=float)
    N = req_t.shape[0] if req_t.ndim == 1 else -1
    if req_t.shape != (N,) or req_d.shape != (N,) or N < 1:
        raise ValueError(f"req_throughput and req_delay must both have shape (N,), got {req_t.shape} and {req_d.shape}")
    if not (np.all(np.isfinite(req_t)) and np.all(req_t > 0) and np.all(np.isfinite(req_d)) and np.all(req_d > 0)):
        raise ValueError("req_throughput and req_delay must be finite and > 0")
    kpi = np.asarray(data["kpi"], dtype=float)
    n = kpi.shape[0]
    if kpi.shape != (n, kpi_dim(N)):
        raise ValueError(f"kpi: expected shape ({n}, {kpi_dim(N)}) for {N} slices, got {kpi.shape}")
    if data["obs"].shape[-1] < N:
        raise ValueError(f"obs has {data['obs'].shape[-1]} features, fewer than the {N} of the throughput block")
    thr_prev, thr, delay, users = (kpi[:, i * N:(i + 1) * N] for i in range(len(KPI_FIELDS)))
    out = {key: np.array(value, copy=True) for key, value in data.items()}
    if observation != "raw-throughput":  # the raw throughput block does not depend on the requirements
        out["obs"][:, :N] = throughput_feature(thr_prev, req_t, observation)
        out["next_obs"][:, :N] = throughput_feature(thr, req_t, observation)
    out["rew"][:] = reward(thr, delay, users, req_t, req_d)
    return out
