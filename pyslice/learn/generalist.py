"""The generalist of TL-DIRP (Hu et al., IEEE OJ-COMS 2023): one shared actor-critic trained
centrally on the experience of many cells, then deployed in a new cell as it is (zero-shot) or
fine-tuned there (a specialist). docs/transfer.md states every choice.

The shared network sees a cell-agnostic state: the cell's own observation (relative to its own
requirements in the clipped mode) followed by its requirements, :func:`requirement_features`, so
that one network can serve cells of every requirement group.

:func:`train_generalists` trains F generalists at once, as F replicas of one shared world (same
UE drops, mobility and traffic): in replica f every cell acts with generalist f (parameter sharing),
and only the transitions of the cells outside ``held_out[f]`` enter generalist f's buffer, so it
never learns from the cells it is judged on. The schedule is the pretraining's: random warm-up
actions, then exploration noise and ``updates_per_step`` TD3 updates per step on minibatches of
the pooled buffer, then greedy steps.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pyslice.base import safe_io
from pyslice.base.atomic import atomic_open, write_npz
from pyslice.envs.slicing import SlicingEnv
from pyslice.learn.loop import Step, run_steps
from pyslice.learn.replay import ReplayBuffers
from pyslice.learn.td3 import BatchedTD3
from pyslice.learn.train import TrainConfig, restore_agent
from pyslice.sim.scenario import Scenario

__all__ = ["GENERALIST", "Generalists", "load_generalists", "requirement_features", "train_generalists",
           "with_features"]

GENERALIST = "generalist.pt"
CURVES = "generalist.npz"


def requirement_features(scenario: Scenario) -> np.ndarray:
    """Each cell's requirements as a cell-agnostic feature vector, float32 ``[K, 2N]``: per slice
    log2 of the required throughput over the network's median requirement for that slice, then the
    same for the delay requirement (0 where a cell asks what the median cell asks)."""
    throughput, delay = scenario.requirement_matrices()
    return np.concatenate([np.log2(throughput / np.median(throughput, axis=0)),
                           np.log2(delay / np.median(delay, axis=0))], axis=1).astype(np.float32)


def with_features(obs: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Observations ``[..., K, D]`` with each cell's features ``[K, F]`` appended: ``[..., K, D + F]``."""
    obs = np.asarray(obs)
    return np.concatenate([obs, np.broadcast_to(features, (*obs.shape[:-1], features.shape[-1]))], axis=-1)


@dataclass
class Generalists:
    """F trained generalists (rows of one :class:`BatchedTD3` whose observation is the cell's
    observation followed by :func:`requirement_features`) and the cells each was kept from."""

    agent: BatchedTD3
    held_out: list[list[int]]
    features: np.ndarray
    replay: ReplayBuffers | None = None
    """The pooled buffers at the end of training (not saved; None when loaded)."""

    def row_for(self, cell: int) -> int:
        """The generalist that never learned from ``cell`` (the first one, for a cell no fold holds out)."""
        return next((f for f, cells in enumerate(self.held_out) if cell in cells), 0)


def _check_folds(held_out: Any, K: int) -> list[list[int]]:
    if isinstance(held_out, (str, bytes)) or not isinstance(held_out, Sequence) or not held_out:
        raise ValueError("held_out must be a non-empty list of cell lists (one per generalist)")
    folds = []
    for f, cells in enumerate(held_out):
        cells = [int(c) for c in cells]
        if any(not 0 <= c < K for c in cells):
            raise ValueError(f"held_out[{f}] must hold cells in [0, {K - 1}], got {cells}")
        if len(set(cells)) >= K:
            raise ValueError(f"held_out[{f}] holds out every cell: generalist {f} would learn from none")
        folds.append(cells)
    return folds


def train_generalists(scenario: Scenario, config: TrainConfig, held_out: Sequence[Sequence[int]], out: str | Path,
                      buffer_capacity: int = 100_000, progress: Callable[[int], None] | None = None) -> Generalists:
    """Train one generalist per entry of ``held_out`` (the cells it must not learn from) on
    ``scenario`` with ``config``'s schedule, learner and seed, as replicas of one shared world.
    Writes ``generalist.pt`` (the networks) and ``generalist.npz`` (per step and generalist the mean
    reward of its training cells, ``train_reward [T, F]``, and of its held-out ones,
    ``held_out_reward [T, F]``; NaN where it holds out none) atomically into ``out``.

    ``buffer_capacity``: transitions kept per generalist (pooled over its cells; the oldest go first).
    """
    K = scenario.n_cells
    folds = _check_folds(held_out, K)
    if isinstance(buffer_capacity, bool) or not isinstance(buffer_capacity, int) or buffer_capacity < 1:
        raise ValueError(f"buffer_capacity must be an int >= 1, got {buffer_capacity!r}")
    F = len(folds)
    features = requirement_features(scenario)
    env = SlicingEnv(scenario, seed=config.seed, replicas=F, same_seed=True, shared_world=True,
                     n_neighbours=config.n_neighbours, observation=config.observation)
    D, A = env.obs_dim + features.shape[1], env.n_slices
    td3 = replace(config.td3, seed=config.seed)
    agent = BatchedTD3(F, D, A, td3)
    replay = ReplayBuffers(F, buffer_capacity, D, A, seed=config.seed)
    rng = np.random.default_rng([config.seed, 7])
    learns = np.ones((F, K), dtype=bool)
    for f, cells in enumerate(folds):
        learns[f, cells] = False
    T = config.total_steps
    train_reward, held_reward = np.full((T, F), np.nan), np.full((T, F), np.nan)
    timing = {"policy": 0.0, "simulator": 0.0, "update": 0.0}

    def act(t: int, obs: np.ndarray) -> tuple[np.ndarray, tuple[str, np.ndarray]]:
        phase = config.phase(t)
        if phase == "explore":
            raw = agent.random_actions(rng, (F, K))
        else:
            raw = agent.policy_actions(with_features(obs, features))
            if phase == "train" and td3.exploration_noise > 0:
                raw = agent.perturb(raw, rng.standard_normal(raw.shape))
        return agent.to_shares(raw), (phase, raw)

    def env_step(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        next_obs, reward, info = env.step(shares if F > 1 else shares[0])
        return next_obs.reshape(F, K, -1), reward.reshape(F, K), info

    def learn(t: int, obs: np.ndarray, taken: tuple[str, np.ndarray], reward: np.ndarray, next_obs: np.ndarray,
              info: dict[str, Any]) -> None:
        phase, raw = taken
        if phase == "eval":
            return
        x, x_next = with_features(obs, features), with_features(next_obs, features)
        for f in range(F):
            m = learns[f]
            replay.add_agent(f, x[f, m], raw[f, m], reward[f, m], x_next[f, m])
        if phase == "train" and len(replay) >= td3.batch_size:
            for _ in range(config.updates_per_step):
                agent.update(replay.sample(td3.batch_size, rng))

    def record(step: Step) -> None:
        r = step.reward
        train_reward[step.t] = np.where(learns, r, 0).sum(1) / learns.sum(1)
        held = ~learns
        with np.errstate(invalid="ignore", divide="ignore"):
            held_reward[step.t] = np.where(held, r, 0).sum(1) / held.sum(1)
        if progress is not None:
            progress(step.t + 1)

    run_steps(env_step, env.reset(config.seed).reshape(F, K, -1), 0, T, act, learn, record, timing)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / CURVES, train_reward=train_reward, held_out_reward=held_reward)
    with atomic_open(out / GENERALIST, "wb") as fh:
        safe_io.save({"agent": agent.state_dict(), "held_out": folds, "features": features,
                      "train": config.to_dict()}, fh)
    return Generalists(agent, folds, features, replay)


def load_generalists(path: str | Path) -> Generalists:
    """The generalists :func:`train_generalists` wrote (``generalist.pt`` or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / GENERALIST
    if not path.is_file():
        raise FileNotFoundError(f"no trained generalist at {path}")
    saved = safe_io.load(path)
    agent = restore_agent(saved["agent"], TrainConfig.from_dict(saved["train"]))
    return Generalists(agent, [list(map(int, c)) for c in saved["held_out"]], np.asarray(saved["features"]))
