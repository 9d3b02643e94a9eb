"""The standard multi- and single-agent faces of :class:`pyslice.envs.slicing.SlicingEnv`: a PettingZoo
``ParallelEnv`` (:class:`SlicingParallelEnv`) and a Gymnasium ``Env`` for one cell (:class:`SingleCellEnv`),
with Box action spaces mapped onto the simplex (:func:`pyslice.envs.slicing.box_to_simplex`; the
conventions are in that module's docstring). They register themselves as the env's
``parallel_env``/``single_cell_env`` products (``STANDARD_WRAPPERS``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from pyslice.base.validation import check_int
from pyslice.envs.baselines import make_policy
from pyslice.envs.slicing import BUILTIN_POLICIES, STANDARD_WRAPPERS, SlicingEnv, box_to_simplex
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import _check_seed, validate_shares

__all__ = ["SingleCellEnv", "SlicingParallelEnv"]



def _cell_info(info: dict[str, Any], k: int) -> dict[str, Any]:
    """The per-cell part of a one-replica info dict (rows of the [K, ...] arrays)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key in ("mask", "iterations", "time"):
            out[key] = value
        elif key == "cell_load":
            out[key] = float(value[k])
        else:
            out[key] = value[k].copy()
    return out


class _EpisodeSeeds:
    """Episode seeds of the wrappers: ``reset(seed=s)`` uses s and reseeds the generator; the first
    unseeded reset uses the constructor seed, later ones draw from the generator."""

    def __init__(self, seed: int) -> None:
        self.seed = _check_seed(seed)
        self.rng = np.random.default_rng(self.seed)
        self.first = True

    def next(self, seed: int | None) -> int:
        if seed is not None:
            seed = _check_seed(seed)
            self.rng = np.random.default_rng(seed)
        elif self.first:
            seed = self.seed
        else:
            seed = int(self.rng.integers(0, 2**63))
        self.first = False
        return seed


class SlicingParallelEnv(ParallelEnv):
    """PettingZoo parallel environment: agents ``cell_0 … cell_{K-1}``, Box observations
    [observation_low, observation_high] (4N, float32), Box actions [0, 1]^N mapped onto the simplex by :func:`box_to_simplex`.

    Episodes truncate (all agents together) after ``max_steps`` steps and never terminate. Infos
    hold the cell's raw KPI rows (see :class:`SlicingEnv`).
    """

    metadata = {"name": "pyslice_slicing_v0", "render_modes": []}

    def __init__(self, scenario: Scenario | None = None, seed: int = 0, n_neighbours: int = 6,
                 max_steps: int = 1000, render_mode: None = None, observation: str = "clipped") -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        self.env = SlicingEnv(Scenario.paper() if scenario is None else scenario, seed=seed,
                              n_neighbours=n_neighbours, observation=observation)
        self.max_steps = check_int("max_steps", max_steps, 1)
        self._seeds = _EpisodeSeeds(seed)
        self.possible_agents = [f"cell_{k}" for k in range(self.env.n_agents)]
        self.agents: list[str] = []
        self.observation_spaces = {a: spaces.Box(self.env.observation_low, self.env.observation_high,
                                                 dtype=np.float32) for a in self.possible_agents}
        self.action_spaces = {a: spaces.Box(0.0, 1.0, shape=(self.env.n_slices,), dtype=np.float32)
                              for a in self.possible_agents}
        self.steps = 0

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs = self.env.reset(self._seeds.next(seed))
        self.agents = list(self.possible_agents)
        self.steps = 0
        info = self.env.last_info
        return ({a: obs[k].copy() for k, a in enumerate(self.agents)},
                {a: _cell_info(info, k) for k, a in enumerate(self.agents)})

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError("the episode is over (all agents truncated): call reset()")
        if not isinstance(actions, dict):
            raise ValueError(f"actions must be a dict keyed by agent, got {type(actions).__name__}")
        missing = [a for a in self.agents if a not in actions]
        extra = [a for a in actions if a not in self.agents]
        if missing or extra:
            raise ValueError(f"actions must hold one action per live agent (missing {missing}, unknown {extra})")
        box = np.empty((self.env.n_agents, self.env.n_slices))
        for k, agent in enumerate(self.possible_agents):
            a = np.asarray(actions[agent], dtype=np.float64) if _numeric(actions[agent]) else None
            if a is None or a.shape != (self.env.n_slices,):
                raise ValueError(f"actions[{agent!r}] must be an array of shape ({self.env.n_slices},), got "
                                 f"{getattr(a, 'shape', type(actions[agent]).__name__)}")
            box[k] = a
        try:
            shares = box_to_simplex(box)  # row by row, all agents at once
        except ValueError:
            for k, agent in enumerate(self.possible_agents):  # name the agent whose action is bad
                box_to_simplex(box[k], name=f"actions[{agent!r}]")
            raise
        obs, reward, info = self.env.step(shares)
        self.steps += 1
        done = self.steps >= self.max_steps
        agents = self.agents
        out = ({a: obs[k].copy() for k, a in enumerate(agents)},
               {a: float(reward[k]) for k, a in enumerate(agents)},
               {a: False for a in agents},
               {a: done for a in agents},
               {a: _cell_info(info, k) for k, a in enumerate(agents)})
        if done:
            self.agents = []
        return out

    def render(self) -> None:
        """No rendering (``render_modes`` is empty)."""
        return None

    def close(self) -> None:
        self.env.close()


def _numeric(value: Any) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


class SingleCellEnv(gymnasium.Env):
    """Gymnasium environment for one cell ``k`` of the network; the other cells are driven by
    ``others``:

    * ``'equal'``: equal shares;
    * ``'traffic-aware'``: shares ∝ the *previous* step's offered demand u[i,n]·d_n (the simulator's
      built-in traffic-aware policy sets all cells at once with the current demand, which cannot be
      combined with cell k's own action, so here the other cells see last step's demand);
    * ``'max-min'``: the Python max-min estimate of :class:`pyslice.envs.baselines.MaxMinReference` from
      the previous step's KPIs;
    * a policy object with ``act(obs[K, 4N], info) -> shares[K, N]`` or a callable
      ``obs[K, 4N] -> shares[K, N]`` (rows on the simplex; row k is replaced by the agent's action).

    Observation: cell k's state (4N, float32, Box [observation_low, observation_high]). Action: Box [0, 1]^N mapped onto the
    simplex by :func:`box_to_simplex`. Reward: cell k's eq. 2 satisfaction. ``info``: cell k's raw
    KPI rows plus ``reward_all`` [K] (every cell's reward). Truncates after ``max_steps`` steps.
    """

    metadata = {"render_modes": []}

    def __init__(self, k: int, others: Any = "equal", scenario: Scenario | None = None, seed: int = 0,
                 n_neighbours: int = 6, max_steps: int = 1000, render_mode: None = None,
                 observation: str = "clipped") -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        self.env = SlicingEnv(Scenario.paper() if scenario is None else scenario, seed=seed,
                              n_neighbours=n_neighbours, observation=observation)
        k = check_int("k", k, 0)
        if k >= self.env.n_agents:
            raise ValueError(f"k must be a cell index in [0, {self.env.n_agents - 1}], got {k}")
        self.k = k
        self.max_steps = check_int("max_steps", max_steps, 1)
        self.others = self._resolve_others(others)
        self.seed = _check_seed(seed)
        self._first_reset = True
        self._np_random, _ = gymnasium.utils.seeding.np_random(self.seed)
        self.observation_space = spaces.Box(self.env.observation_low, self.env.observation_high, dtype=np.float32)
        self.action_space = spaces.Box(0.0, 1.0, shape=(self.env.n_slices,), dtype=np.float32)
        self.steps = 0

    def _resolve_others(self, others: Any) -> Callable[[np.ndarray, dict], np.ndarray]:
        if isinstance(others, str):
            policy = make_policy(others, self.env.scenario)
            return policy.act
        if hasattr(others, "act") and callable(others.act):
            return others.act
        if callable(others):
            return lambda obs, info: others(obs)
        raise TypeError(f"others must be a policy name {BUILTIN_POLICIES}, a policy with .act or a callable, "
                        f"got {type(others).__name__}")

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)  # reseeds np_random when a seed is given
        if seed is not None:
            episode_seed = _check_seed(seed)
        elif self._first_reset:
            episode_seed = self.seed
        else:
            episode_seed = int(self.np_random.integers(0, 2**63))
        self._first_reset = False
        obs = self.env.reset(episode_seed)
        self.steps = 0
        info = _cell_info(self.env.last_info, self.k)
        return obs[self.k].copy(), info

    def step(self, action: Any):
        if self.env.last_obs is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, dtype=np.float64) if _numeric(action) else None
        if a is None or a.shape != (self.env.n_slices,):
            raise ValueError(f"action must be an array of shape ({self.env.n_slices},), got "
                             f"{getattr(a, 'shape', type(action).__name__)}")
        own = box_to_simplex(a, name="action")
        shares = validate_shares(self.others(self.env.last_obs, self.env.last_info), self.env.n_agents,
                                 self.env.n_slices, name="shares of the other cells")
        shares = np.array(shares, dtype=np.float64).reshape(self.env.n_agents, self.env.n_slices)
        shares[self.k] = own
        obs, reward, info = self.env.step(shares)
        self.steps += 1
        cell = _cell_info(info, self.k)
        cell["reward_all"] = reward.copy()
        return obs[self.k].copy(), float(reward[self.k]), False, self.steps >= self.max_steps, cell

    def render(self) -> None:
        return None

    def close(self) -> None:
        self.env.close()


STANDARD_WRAPPERS.update(parallel=SlicingParallelEnv, single_cell=SingleCellEnv)
