"""Vectorised single-cell env: ``num_envs`` copies of :class:`pyslice.envs.adapters.SingleCellEnv` stepped
together as the replicas of one :class:`pyslice.envs.slicing.SlicingEnv` (one C++ ``SimulatorBatch`` call per
step, replicas on threads).

    >>> import gymnasium, pyslice
    >>> envs = gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=8, vectorization_mode="vector_entry_point",
    ...                           cell=3, others="traffic-aware", seed=0)
    >>> obs, infos = envs.reset()                       # obs [8, 4N]; sub-env i: seed 0 + i
    >>> obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())

Sub-env i is, bit for bit, ``SingleCellEnv(cell, others, scenario, seed=seed + i, ...)`` reset and
stepped the same way (observations, rewards, truncations and every info field); see
:class:`SingleCellVectorEnv` for the seeding and autoreset conventions.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pyslice.envs.baselines import EqualShares, MaxMinReference, TrafficAware, make_policy
from pyslice.envs.adapters import SingleCellEnv
from pyslice.envs.slicing import BUILTIN_POLICIES, SlicingEnv, box_to_simplex
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import _check_seed, validate_shares
from pyslice.base.validation import check_int

__all__ = ["SingleCellVectorEnv", "make_single_cell_env"]

#: Built-in policy classes whose ``act`` works row by row on a leading replica axis (stateless).
VECTORISED_POLICIES = (EqualShares, TrafficAware, MaxMinReference)


def make_single_cell_env(cell: int = 0, others: Any = "equal", scenario: Scenario | None = None, seed: int = 0,
                         n_neighbours: int = 6, max_steps: int = 1000, observation: str = "clipped",
                         render_mode: None = None) -> SingleCellEnv:
    """Entry point of ``pyslice/SingleCell-v0``: :class:`SingleCellEnv` for cell ``cell`` (its ``k``)."""
    return SingleCellEnv(cell, others=others, scenario=scenario, seed=seed, n_neighbours=n_neighbours,
                         max_steps=max_steps, render_mode=render_mode, observation=observation)


class SingleCellVectorEnv(VectorEnv):
    """``num_envs`` single-cell envs (cell ``cell``) on one batched simulator.

    Every sub-env is a :class:`pyslice.envs.adapters.SingleCellEnv` with the same arguments; they differ only
    in their seeds. All of them step in one :meth:`pyslice.envs.slicing.SlicingEnv.step` over
    ``replicas=num_envs`` (``threads`` C++ threads, default ``min(num_envs, os.cpu_count())``).

    Seeding (sub-env i mirrors ``SingleCellEnv(seed=seed + i)`` over consecutive episodes):

    * the constructor gives sub-env i the seed ``seed + i`` and the generator
      ``np_random(seed + i)``;
    * ``reset(seed=s)``: sub-env i runs episode seed ``s + i`` and reseeds its generator with it
      (Gymnasium's vector convention); ``seed`` may also be a list of ``num_envs`` ints or Nones;
    * an unseeded reset of sub-env i (``reset()``, ``reset(seed=[..., None, ...])`` or an
      autoreset) uses ``seed + i`` the first time, afterwards a seed drawn from its generator,
      exactly as :meth:`SingleCellEnv.reset`.

    Autoreset: ``metadata["autoreset_mode"]`` is ``AutoresetMode.NEXT_STEP`` (Gymnasium 1.x's
    default). When sub-env i's episode ends at step t (it truncates after ``max_steps`` steps, it
    never terminates), the next :meth:`step` resets it: its action is ignored (but must still be
    valid), its reward is 0, terminated and truncated are False, and it returns its reset
    observation and reset info. The sub-envs share ``max_steps`` so they normally end together,
    and a step where all of them reset is one batch restart. When only some reset (after a
    ``reset(options={"reset_mask": m})`` that restarted some sub-envs), the others' simulators are
    snapshot and restored around the batch restart (:meth:`SlicingEnv.restart`), so every sub-env
    still equals its own ``SingleCellEnv``. ``reset(options={"reset_mask": m})`` (bool
    [num_envs]) resets only the sub-envs where ``m`` is True; the others keep their state and
    observation (their info masks are False). The first reset must reset every sub-env.

    ``others``: as :class:`SingleCellEnv` ('equal', 'traffic-aware', 'max-min', a policy object with
    ``act(obs, info)`` or a callable ``obs -> shares``). The built-in policies (by name or an
    instance of their classes) are evaluated once on the [num_envs, K, 4N] batch; any other policy
    is called once per sub-env with that sub-env's [K, 4N] observation and info dict, in sub-env
    order, and not for sub-envs that reset in this step (a stateful policy object is shared by the
    sub-envs, unlike separate envs).

    Infos: a dict of arrays with a leading [num_envs] axis, Gymnasium's vector convention: each
    :class:`SingleCellEnv` info field (the cell's KPI rows [num_envs, N], ``cell_load``, ``mask``,
    ``iterations``, ``time``, ...) plus ``reward_all`` [num_envs, K] (every cell's reward; zeros
    and ``_reward_all`` False for sub-envs that reset), each with its ``_key`` bool mask.

    Invalid actions (wrong shape, not numbers, NaN/inf, outside [0, 1]) raise ValueError naming
    ``actions`` (and the sub-env index, ``actions[i]``) before anything changes.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, cell: int = 0, others: Any = "equal", scenario: Scenario | None = None,
                 seed: int = 0, n_neighbours: int = 6, max_steps: int = 1000, observation: str = "clipped",
                 threads: int | None = None, render_mode: None = None) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.seed = _check_seed(seed)
        if self.seed + self.num_envs - 1 >= 2**64:
            raise ValueError(f"seed must be < 2**64 - {self.num_envs - 1} (sub-env i uses seed + i), got {seed}")
        if threads is None:
            threads = min(self.num_envs, os.cpu_count() or 1)
        self.env = SlicingEnv(Scenario.paper() if scenario is None else scenario, seed=self.seed,
                              replicas=self.num_envs, threads=threads, n_neighbours=n_neighbours,
                              observation=observation)
        k = check_int("cell", cell, 0)
        if k >= self.env.n_agents:
            raise ValueError(f"cell must be a cell index in [0, {self.env.n_agents - 1}], got {k}")
        self.cell = k
        self.max_steps = check_int("max_steps", max_steps, 1)
        self.others = others
        self._batch_policy, self._policy = self._resolve_others(others)
        n = self.env.n_slices
        self.single_observation_space = spaces.Box(self.env.observation_low, self.env.observation_high,
                                                   dtype=np.float32)
        self.single_action_space = spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = [seeding.np_random(self.seed + i)[0] for i in range(self.num_envs)]
        self._first = np.ones(self.num_envs, dtype=bool)
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._obs: np.ndarray | None = None  # [R, K, 4N] the network's last observation per sub-env
        self._info: dict[str, np.ndarray] = {}  # its info, arrays [R, ...]

    def _resolve_others(self, others: Any) -> tuple[Callable | None, Callable | None]:
        """(batched act, per-sub-env act): exactly one is set."""
        if isinstance(others, str):
            return make_policy(others, self.env.scenario).act, None
        if type(others) in VECTORISED_POLICIES:
            return others.act, None
        if hasattr(others, "act") and callable(others.act):
            return None, others.act
        if callable(others):
            return None, lambda obs, info: others(obs)
        raise TypeError(f"others must be a policy name {BUILTIN_POLICIES}, a policy with .act or a callable, "
                        f"got {type(others).__name__}")

    # ---- Gymnasium vector API ------------------------------------------------------------------------

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        r = self.num_envs
        seeds = self._reset_seeds(seed)
        mask = np.ones(r, dtype=bool)
        if options is not None and "reset_mask" in options:
            mask = options["reset_mask"]
            if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (r,):
                raise ValueError(f"options['reset_mask'] must be a bool numpy array of shape ({r},), got {mask!r}")
            if not mask.any():
                raise ValueError("options['reset_mask'] must reset at least one sub-env")
            if self._obs is None and not mask.all():
                raise ValueError("the first reset must reset every sub-env (options['reset_mask'] all True)")
            mask = mask.copy()
        episode = [self._episode_seed(i, seeds[i]) if mask[i] else None for i in range(r)]
        if mask.all():
            obs, _, info = self._batched(self.env.reset(seeds=episode), None, self.env.last_info)
            self._store(obs, info, None)
        else:  # restart some sub-envs and run their warm-up step; the others are put back untouched
            saved = self.env.replica_states()
            self.env.restart(episode)
            obs, _, info = self._step_env(self._equal_shares())
            self.env.set_replica_states({i: saved[i] for i in range(r) if not mask[i]})
            self._store(obs, info, mask)
        self._steps[mask] = 0
        self._autoreset[mask] = False
        return self._obs[:, self.cell].copy(), self._infos(mask, None)

    def step(self, actions: Any):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        own = self._check_actions(actions)
        resetting = self._autoreset.copy()
        shares = self._other_shares(resetting)
        shares[:, self.cell] = own
        shares[resetting] = 1.0 / self.env.n_slices  # a resetting sub-env's warm-up step
        # everything is checked: from here on state changes
        if resetting.any():
            self.env.restart([self._episode_seed(i, None) if resetting[i] else None for i in range(self.num_envs)])
        obs, reward, info = self._step_env(shares)
        self._store(obs, info, None)
        self._steps = np.where(resetting, 0, self._steps + 1)
        rewards = np.where(resetting, 0.0, reward[:, self.cell])
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = ~resetting & (self._steps >= self.max_steps)
        self._autoreset = terminated | truncated
        reward_all = np.where(resetting[:, None], 0.0, reward)
        return (self._obs[:, self.cell].copy(), rewards, terminated, truncated,
                self._infos(np.ones(self.num_envs, dtype=bool), (reward_all, ~resetting)))

    def render(self) -> None:
        """No rendering (``render_modes`` is empty)."""
        return None

    def close_extras(self, **kwargs: Any) -> None:
        env = getattr(self, "env", None)  # absent when __init__ refused its arguments
        if env is not None:
            env.close()

    # ---- internals ----------------------------------------------------------------------------------

    def _reset_seeds(self, seed: Any) -> list[int | None]:
        r = self.num_envs
        if seed is None:
            return [None] * r
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            base = _check_seed(seed)
            if base + r - 1 >= 2**64:
                raise ValueError(f"seed must be < 2**64 - {r - 1} (sub-env i uses seed + i), got {seed}")
            return [base + i for i in range(r)]
        if isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
            if len(seed) != r:
                raise ValueError(f"seed must be an int, None or a list of {r} seeds (one per sub-env), "
                                 f"got {len(seed)} seeds")
            return [None if s is None else _check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]
        raise TypeError(f"seed must be an int, None or a list of {r} seeds, got {type(seed).__name__}")

    def _episode_seed(self, i: int, seed: int | None) -> int:
        """Sub-env i's episode seed, exactly as :meth:`SingleCellEnv.reset` draws it."""
        if seed is not None:
            self._rngs[i] = seeding.np_random(seed)[0]
        elif self._first[i]:
            seed = self.seed + i
        else:
            seed = int(self._rngs[i].integers(0, 2**63))
        self._first[i] = False
        return seed

    def _check_actions(self, actions: Any) -> np.ndarray:
        """Box actions [R, N] -> the cell's shares [R, N] (ValueError naming ``actions``)."""
        shape = (self.num_envs, self.env.n_slices)
        try:
            a = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"actions must be an array of numbers of shape {shape}, got "
                             f"{type(actions).__name__}") from exc
        if a.shape != shape:
            raise ValueError(f"actions must have shape {shape} (num_envs, slices), got {a.shape}")
        try:
            return box_to_simplex(a)
        except ValueError:
            for i in range(self.num_envs):  # name the sub-env whose action is bad
                box_to_simplex(a[i], name=f"actions[{i}]")
            raise

    def _other_shares(self, resetting: np.ndarray) -> np.ndarray:
        """Every cell's shares [R, K, N] from ``others`` on each sub-env's last step (rows of
        resetting sub-envs are overwritten by the caller)."""
        r, k, n = self.num_envs, self.env.n_agents, self.env.n_slices
        if self._batch_policy is not None:
            out = validate_shares(self._batch_policy(self._obs, self._info), k, n, name="shares of the other cells")
            return np.array(np.broadcast_to(out, (r, k, n)), dtype=np.float64)
        shares = np.full((r, k, n), 1.0 / n)
        for i in np.flatnonzero(~resetting):
            out = validate_shares(self._policy(self._obs[i], self._sub_info(i)), k, n,
                                  name=f"shares of the other cells (sub-env {i})")
            shares[i] = np.reshape(out, (k, n))
        return shares

    def _sub_info(self, i: int) -> dict[str, Any]:
        """Sub-env i's network info as a one-replica :class:`SlicingEnv` gives it."""
        info: dict[str, Any] = {key: value[i] for key, value in self._info.items()}
        info["iterations"], info["time"] = int(info["iterations"]), int(self._time()[i])
        return info

    def _step_env(self, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One batched step with every cell's shares [R, K, N]."""
        return self._batched(*self.env.step(shares[0] if self.num_envs == 1 else shares))

    def _batched(self, obs: np.ndarray, reward: np.ndarray | None, info: dict[str, Any]):
        """SlicingEnv outputs with a leading replica axis also for one replica."""
        info = {key: value for key, value in info.items() if key != "time"}
        if self.num_envs == 1:
            obs = obs[None]
            reward = None if reward is None else np.asarray(reward)[None]
            info = {key: np.asarray(value)[None] for key, value in info.items()}
        return obs, reward, info

    def _store(self, obs: np.ndarray, info: dict[str, np.ndarray], mask: np.ndarray | None) -> None:
        """Keep the network's last observation and info of the sub-envs in ``mask`` (all if None)."""
        if mask is None:
            self._obs = obs
            self._info = dict(info)
            self._info["iterations"] = self._info["iterations"].astype(np.int64)
        else:
            self._obs[mask] = obs[mask]
            for key, value in info.items():
                self._info[key][mask] = value[mask]

    def _time(self) -> np.ndarray:
        """Each sub-env's clock as its one-replica env counts it: 1 after the reset's warm-up step,
        +1 per step."""
        return self._steps + 1

    def _infos(self, mask: np.ndarray, reward_all: tuple[np.ndarray, np.ndarray] | None) -> dict[str, np.ndarray]:
        """The vector infos of the sub-envs in ``mask`` (the other rows zero, masks False)."""
        k = self.cell
        infos: dict[str, np.ndarray] = {}
        for key, value in {**self._info, "time": self._time()}.items():
            if key in ("mask", "iterations", "time"):
                row = value.copy()
            else:
                row = value[:, k].copy()
            if not mask.all():
                row[~mask] = 0
            infos[key], infos["_" + key] = row, mask.copy()
        if reward_all is not None:
            infos["reward_all"], infos["_reward_all"] = reward_all
        return infos

    def _equal_shares(self) -> np.ndarray:
        return np.full((self.num_envs, self.env.n_agents, self.env.n_slices), 1.0 / self.env.n_slices)
