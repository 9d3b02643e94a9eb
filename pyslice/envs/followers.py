"""A learner's env with built-in policies stepping beside it on the same world.

:class:`FollowedEnv` looks like a one-replica :class:`pyslice.envs.slicing.SlicingEnv` to a learner
(same observations, rewards and info, bit for bit) while each named built-in policy ('equal',
'traffic-aware', 'max-min') runs as a further replica of one shared world (``shared_world=True``):
same UE trajectories, traffic and links, each replica with its own shares, loads and queues. The
followers cost only the shares-dependent half of a step (load coupling, throughput, delay), so a
baseline on a learner's own timeline comes at a fraction of a separate run: the study's pretraining
phase gets the traffic-aware baseline of Fig. 3/4 this way.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pyslice.envs.slicing import BUILTIN_POLICIES, SlicingEnv
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import validate_shares

__all__ = ["FollowedEnv"]


def _replica_info(info: dict[str, Any], r: int) -> dict[str, Any]:
    """Replica ``r``'s info as a one-replica env gives it (every batched field indexed, ``time`` kept)."""
    out = {key: value if key == "time" else value[r] for key, value in info.items()}
    out["iterations"] = int(out["iterations"])
    return out


class FollowedEnv:
    """Replica 0 is the learner's (``step(shares)`` with shares [K, N]); replicas 1.. run ``followers``.

    Args:
        scenario: the network.
        seed: the world's seed (the learner's replica is that of ``SlicingEnv(scenario, seed)``).
        followers: built-in policy names, one follower replica each (at least one).
        n_neighbours, observation: as :class:`pyslice.envs.slicing.SlicingEnv`.

    After each step, :attr:`follower_reward` [F, K] and :attr:`follower_info` (one info dict per
    follower) hold the followers' step.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, followers: Sequence[str] = ("traffic-aware",), *,
                 n_neighbours: int = 6, observation: str = "clipped") -> None:
        if isinstance(followers, (str, bytes)) or not isinstance(followers, Sequence):
            raise TypeError(f"followers must be a sequence of policy names, got {type(followers).__name__}")
        names = tuple(followers)
        if not names:
            raise ValueError("followers must name at least one built-in policy")
        for name in names:
            if name not in BUILTIN_POLICIES:
                raise ValueError(f"followers: each must be one of {', '.join(map(repr, BUILTIN_POLICIES))}, "
                                 f"got {name!r}")
        self.followers = names
        self.shared = SlicingEnv(scenario, seed=seed, replicas=1 + len(names), same_seed=True, shared_world=True,
                                 n_neighbours=n_neighbours, observation=observation)
        self.scenario = scenario
        self.n_agents, self.n_slices, self.obs_dim = self.shared.n_agents, self.shared.n_slices, self.shared.obs_dim
        self._policies = ("given", *names)
        self._actions = np.full((self.shared.replicas, self.n_agents, self.n_slices), 1.0 / self.n_slices)
        self.last_obs: np.ndarray | None = None
        self.last_info: dict[str, Any] | None = None
        self.follower_reward: np.ndarray | None = None
        self.follower_info: list[dict[str, Any]] = []

    @property
    def seed(self) -> int:
        return self.shared.seed

    def _split(self, obs: np.ndarray, reward: np.ndarray, info: dict[str, Any]
               ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        self.follower_reward = np.array(reward[1:])
        self.follower_info = [_replica_info(info, r) for r in range(1, self.shared.replicas)]
        self.last_obs, self.last_info = obs[0], _replica_info(info, 0)
        return self.last_obs, reward[0], self.last_info

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Restart the world (every replica with ``seed``) and run the warm-up step; the learner's obs."""
        obs = self.shared.reset(seed)
        info = self.shared.last_info
        assert info is not None
        reward = np.zeros((self.shared.replicas, self.n_agents))  # the warm-up step's reward is not returned
        return self._split(obs, reward, info)[0]

    def step(self, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """The learner's shares [K, N] (rows on the simplex) for replica 0; the followers choose their own."""
        arr = validate_shares(shares, self.n_agents, self.n_slices, name="actions")
        if arr.shape != (self.n_agents, self.n_slices):
            raise ValueError(f"actions must have shape {(self.n_agents, self.n_slices)}, got {arr.shape}")
        self._actions[0] = arr
        return self._split(*self.shared.step_mixed(self._policies, self._actions))

    def get_state(self) -> dict[str, Any]:
        """Every replica's state (continues bit for bit with :meth:`set_state`)."""
        return self.shared.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot of a FollowedEnv with the same scenario and followers."""
        self.shared.set_state(state)
        if self.shared.last_obs is not None and self.shared.last_info is not None:
            self.last_obs, self.last_info = self.shared.last_obs[0], _replica_info(self.shared.last_info, 0)
