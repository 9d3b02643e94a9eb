"""The one act → step → learn loop: pretraining (:class:`pyslice.learn.train.Trainer`) and the transfer
experiments (:mod:`pyslice.study.transfer_runs`) run their steps through it, so both share its order
(act, simulate, store and update, then record) and its wall-time buckets (``policy``,
``simulator``, ``update``)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Step", "TIMING_BUCKETS", "run_steps"]

#: The wall-time buckets every loop reports.
TIMING_BUCKETS = ("policy", "simulator", "update")


@dataclass
class Step:
    """One finished step, as the ``record`` callback sees it."""

    t: int  # 0-based index of the step
    obs: np.ndarray
    next_obs: np.ndarray
    reward: np.ndarray
    info: dict[str, Any]
    action: Any  # what ``act`` returned beside the shares (e.g. the agents' raw actions, the phase)
    learned: Any  # what ``learn`` returned (e.g. the updates' losses)


def run_steps(env_step: Callable[[Any], tuple[np.ndarray, np.ndarray, dict[str, Any]]], obs: np.ndarray, start: int,
              end: int, act: Callable[[int, np.ndarray], tuple[Any, Any]],
              learn: Callable[[int, np.ndarray, Any, np.ndarray, np.ndarray, dict[str, Any]], Any],
              record: Callable[[Step], None], timing: dict[str, float]) -> np.ndarray:
    """Steps ``start .. end - 1``: ``act(t, obs) -> (shares, action)``, ``env_step(shares) -> (next_obs,
    reward, info)``, ``learn(t, obs, action, reward, next_obs, info) -> learned`` (store transitions,
    update), then ``record(Step)``; the time of each part is added to ``timing``. Returns the last
    observation."""
    for t in range(start, end):
        t0 = time.perf_counter()
        shares, action = act(t, obs)
        t1 = time.perf_counter()
        next_obs, reward, info = env_step(shares)
        t2 = time.perf_counter()
        learned = learn(t, obs, action, reward, next_obs, info)
        t3 = time.perf_counter()
        timing["policy"] += t1 - t0
        timing["simulator"] += t2 - t1
        timing["update"] += t3 - t2
        record(Step(t, obs, next_obs, reward, info, action, learned))
        obs = next_obs
    return obs
