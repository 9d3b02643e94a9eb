"""Baseline slicing policies and a runner shared with the learned agents.

A policy maps the network observation [..., K, 4N] (see :mod:`pyslice.envs.slicing`) and, optionally, the
previous step's raw ``info`` to PRB shares [..., K, N] on the simplex (:class:`Policy`).

The three baselines also name the simulator's built-in policy they approximate (``builtin``).
:func:`run_policy_in_env` routes them through :meth:`pyslice.envs.slicing.SlicingEnv.step_policy`, where the
simulator applies them with perfect knowledge of the *current* step (docs/model.md §5: the traffic-aware
baseline knows the current demand; the max-min reference knows the current loads and spectral
efficiencies). Their ``act`` is a best-effort Python version from the previous step:

* :class:`EqualShares`: 1/N.
* :class:`TrafficAware`: a[k,n] ∝ u[k,n]·d_n, the offered demand of the previous step (users from
  ``info["users"]``, else from the observation's users block); equal shares for a cell without demand.
* :class:`MaxMinReference`: the max-min rule of docs/model.md §5 on the previous step's KPIs. With
  D[k,n] the served demand and x[k,n] the needed share, mean(1/se) = x·M·B/D, so the share that gives
  satisfaction s is a_n(s) = x_n + s·c_n with c_n = (x_n/D_n)·max(φ*_n, L_n/d*_n) (the harmonic mean
  of se stands in for the mean); s* = (1 − Σx)/Σc capped at 1 (shares ∝ x when Σx ≥ 1), the spare
  share spread equally over the slices with users. Without ``info`` it falls back to
  :class:`TrafficAware`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pyslice.sim.satisfaction import step_kpis
from pyslice.sim.scenario import Scenario
from pyslice.base.validation import check_int

__all__ = [
    "EqualShares",
    "MaxMinReference",
    "Policy",
    "TrafficAware",
    "make_policy",
    "proportional_shares",
    "run_policy_in_env",
]


@runtime_checkable
class Policy(Protocol):
    """Anything that maps observations [..., K, 4N] (and the previous info) to shares [..., K, N]."""

    name: str

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> np.ndarray: ...


def proportional_shares(weights: np.ndarray) -> np.ndarray:
    """Rows [..., N] proportional to non-negative ``weights``; equal shares where a row sums to 0."""
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum(axis=-1, keepdims=True)
    empty = total <= 0.0
    return np.where(empty, 1.0 / w.shape[-1], w / np.where(empty, 1.0, total))


def _n_slices(obs: np.ndarray) -> int:
    if obs.ndim < 2 or obs.shape[-1] % 4:
        raise ValueError(f"obs must have shape (..., K, 4N), got {obs.shape}")
    return obs.shape[-1] // 4


def _matches(info: dict[str, Any] | None, key: str, shape: tuple[int, ...]) -> bool:
    return info is not None and key in info and np.shape(info[key]) == shape


class EqualShares:
    """Equal shares 1/N in every cell (the paper's default action a')."""

    name = "equal"
    builtin = "equal"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> np.ndarray:
        obs = np.asarray(obs)
        n = _n_slices(obs)
        return np.full((*obs.shape[:-1], n), 1.0 / n)


class TrafficAware:
    """Shares ∝ offered demand u[k,n]·d_n of the previous step (the simulator's built-in version
    uses the current step's demand)."""

    name = "traffic-aware"
    builtin = "traffic-aware"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.demand_bps = np.array([s.demand_bps for s in scenario.slices], dtype=np.float64)

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> np.ndarray:
        obs = np.asarray(obs)
        n = _n_slices(obs)
        shape = (*obs.shape[:-1], n)
        if _matches(info, "users", shape):
            users = np.asarray(info["users"], dtype=np.float64)
        else:  # the observation's users block is u / G (G cancels in the proportion)
            users = np.asarray(obs[..., 2 * n:3 * n], dtype=np.float64)
        return proportional_shares(users * self.demand_bps)


class MaxMinReference:
    """Max-min satisfaction shares from the previous step's loads, demands and requirements
    (module docstring); the simulator's built-in version uses the current step's fixed point."""

    name = "max-min"
    builtin = "max-min"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        req_t, req_d = scenario.requirement_matrices()
        flow = np.array([s.flow_size_bits for s in scenario.slices], dtype=np.float64)
        self.need_bps = np.maximum(req_t, flow / req_d)  # max(φ*, L/d*) [K, N]
        self._fallback = TrafficAware(scenario)

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> np.ndarray:
        obs = np.asarray(obs)
        n = _n_slices(obs)
        shape = (*obs.shape[:-1], n)
        if not all(_matches(info, key, shape) for key in ("load", "demand", "users")):
            return self._fallback.act(obs, info)
        x = np.asarray(info["load"], dtype=np.float64)
        demand = np.asarray(info["demand"], dtype=np.float64)
        has_users = np.asarray(info["users"]) > 0
        served = demand > 0.0
        c = np.where(served, x / np.where(served, demand, 1.0), 0.0) * self.need_bps
        x = np.where(served, x, 0.0)
        sum_x = x.sum(axis=-1, keepdims=True)
        sum_c = c.sum(axis=-1, keepdims=True)
        s = np.where(sum_c > 0.0, np.minimum(1.0, (1.0 - sum_x) / np.where(sum_c > 0.0, sum_c, 1.0)), 1.0)
        a = x + np.maximum(s, 0.0) * c
        spare = np.maximum(1.0 - a.sum(axis=-1, keepdims=True), 0.0)
        targets = np.where(has_users.any(axis=-1, keepdims=True), has_users, True)
        a = a + spare * targets / targets.sum(axis=-1, keepdims=True)
        overloaded = sum_x >= 1.0
        return np.where(overloaded, proportional_shares(x), proportional_shares(a))


#: The Python side of each of the core's built-in policies (``_core.POLICIES``), by name.
_POLICIES = {cls.builtin: cls for cls in (EqualShares, TrafficAware, MaxMinReference)}


def make_policy(name: str, scenario: Scenario) -> EqualShares | TrafficAware | MaxMinReference:
    """The baseline called ``name`` ('equal', 'traffic-aware' or 'max-min') for ``scenario``."""
    if name not in _POLICIES:
        raise ValueError(f"policy name must be one of {', '.join(map(repr, _POLICIES))}, got {name!r}")
    return _POLICIES[name](scenario)


def run_policy_in_env(env: Any, policy: Policy | str | Sequence[Policy | str], steps: int, *,
                      seed: int | None = None, reset: bool = True, use_builtin: bool = True,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run ``policy`` for ``steps`` steps of a :class:`pyslice.envs.slicing.SlicingEnv` and collect KPIs:
    the one rollout of pyslice (evaluation, baselines, the study's evaluation phase).

    ``policy`` is a :class:`Policy` or a baseline name. A policy with a ``builtin`` name is stepped
    through ``env.step_policy`` (the simulator's perfect-knowledge version) unless ``use_builtin`` is
    False; otherwise ``env.step(policy.act(obs, info))`` with the previous step's info. A sequence
    holds one policy per replica of the env (e.g. a baseline and a learner on one shared world):
    built-in ones run in the simulator, the others get their replica's observation
    (``act(obs[r], None)``), all in one ``env.step_mixed``. The env is reset first (with ``seed``)
    unless ``reset`` is False. ``progress(t)`` is called after step t (1-based).

    Returns a dict of arrays with a leading time axis T = ``steps``: ``reward`` [T, ..., K] (paper
    eq. 2, the minimum slice satisfaction), ``min_throughput_satisfaction`` [T, ..., K] (min over slices
    of min(φ/φ*, 1), paper Fig. 5), ``max_slice_delay`` [T, ..., K] (s, paper Fig. 6), ``shares``
    [T, ..., K, N], ``drop_rate`` [T, ..., K, N] (share of the offered traffic dropped), plus
    ``mean_reward`` (float) and ``policy`` (its name). The per-step statistics are
    :func:`pyslice.sim.satisfaction.step_kpis`; summarise them with
    :func:`pyslice.sim.satisfaction.kpi_summary`.
    """
    steps = check_int("steps", steps, 0)
    if isinstance(policy, (str, bytes)) or not isinstance(policy, Sequence):
        step = _SinglePolicyStep(env, make_policy(policy, env.scenario) if isinstance(policy, str) else policy,
                                   use_builtin)
        name = getattr(step.policy, "name", type(step.policy).__name__)
    else:
        step = _PerReplicaStep(env, [make_policy(p, env.scenario) if isinstance(p, str) else p for p in policy],
                                 use_builtin)
        name = " | ".join(getattr(p, "name", type(p).__name__) for p in step.policies)
    if reset or env.last_obs is None:
        obs = env.reset(seed)
    else:
        obs = env.last_obs
    info = env.last_info
    rewards, tput_sat, delays, drops, shares = [], [], [], [], []
    for t in range(steps):
        obs, reward, info = step(obs, info)
        sat, delay, drop = step_kpis(info, env.requirements.throughput_bps, env.scenario.traffic.max_delay_s)
        rewards.append(reward)
        tput_sat.append(sat)
        delays.append(delay)
        drops.append(drop)
        shares.append(info["shares"])
        if progress is not None:
            progress(t + 1)
    k_shape = (*env.observation_shape[:-1],)
    stack = (lambda xs, extra=(): np.stack(xs) if xs else np.zeros((0, *k_shape, *extra)))
    out = {
        "reward": stack(rewards),
        "min_throughput_satisfaction": stack(tput_sat),
        "max_slice_delay": stack(delays),
        "shares": stack(shares, (env.n_slices,)),
        "drop_rate": stack(drops, (env.n_slices,)),
        "policy": name,
    }
    out["mean_reward"] = float(out["reward"].mean()) if steps else float("nan")
    return out


class _SinglePolicyStep:
    """One env step under one policy (built-in through the simulator, or ``act``)."""

    def __init__(self, env: Any, policy: Policy, use_builtin: bool) -> None:
        self.env, self.policy = env, policy
        self.builtin = getattr(policy, "builtin", None) if use_builtin else None

    def __call__(self, obs: np.ndarray, info: dict[str, Any] | None):
        if self.builtin is not None:
            return self.env.step_policy(self.builtin)
        return self.env.step(self.policy.act(obs, info))


class _PerReplicaStep:
    """One env step with one policy per replica (``env.step_mixed``)."""

    def __init__(self, env: Any, policies: list[Policy], use_builtin: bool) -> None:
        if len(policies) != env.replicas:
            raise ValueError(f"policy: one per replica ({env.replicas}), got {len(policies)}")
        self.env, self.policies = env, policies
        builtins = [getattr(p, "builtin", None) if use_builtin else None for p in policies]
        self.names = [b if b is not None else "given" for b in builtins]
        self.given = [r for r, b in enumerate(builtins) if b is None]
        self.actions = np.full((env.replicas, env.n_agents, env.n_slices), 1.0 / env.n_slices)  # rows of built-ins unused

    def __call__(self, obs: np.ndarray, info: dict[str, Any] | None):
        for r in self.given:
            self.actions[r] = self.policies[r].act(obs[r], None)
        return self.env.step_mixed(self.names, self.actions if self.given else None)
