"""Coordinated MADRL training with the paper's schedule (paper §IV-A, §V-2; docs/learning.md).

One run: ``exploration_steps`` with random actions from the learner's warm-up distribution
(``TD3Config.warmup``; default uniform in the Box action space) that fill the replay buffers, ``training_steps`` with the actors plus exploration noise and one batched TD3 update
per step, then ``evaluation_steps`` with the greedy actors and no updates. Every step's reward and
per-slice satisfaction of every agent go to ``train_log.csv``. Every ``checkpoint_every`` steps a
checkpoint (networks, optimiser states, replay buffers, RNG states and the simulator state) is
written atomically; ``Trainer(..., resume=True)`` continues from it and reaches exactly the same
parameters and log as an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import csv
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from pyslice.base import safe_io
from pyslice.base.artifacts import mark_done
from pyslice.base.atomic import atomic_open, write_json, write_npz
from pyslice.envs.baselines import run_policy_in_env
from pyslice.envs.followers import FollowedEnv
from pyslice.envs.slicing import OBSERVATIONS, SlicingEnv
from pyslice.learn.loop import Step, run_steps
from pyslice.learn.replay import ReplayBuffers
from pyslice.learn.tensorboard import TrainLogger, require_tensorboard
from pyslice.learn.train_log import LOG, log_header, log_row, read_log
from pyslice.envs.relabel import kpi_dim, kpi_record
from pyslice.sim.satisfaction import kpi_summary
from pyslice.sim.scenario import Scenario
from pyslice.learn.td3 import LEGACY_TD3, BatchedTD3, TD3Config
from pyslice.base.validation import check_int

CHECKPOINT = "checkpoint.pt"
POLICY = "policy.pt"
SUMMARY = "summary.json"
FOLLOWERS = "followers.npz"


@dataclass(frozen=True)
class TrainConfig:
    """Schedule and learner settings (defaults: the paper's)."""

    exploration_steps: int = 3000
    """Steps with random shares before learning starts (paper: 3000)."""
    training_steps: int = 5500
    """Steps with exploration noise and one TD3 update each (paper: 5500)."""
    evaluation_steps: int = 250
    """Final steps with the greedy policy, no updates (paper: 250)."""
    buffer_capacity: int = 10_000
    """Replay transitions kept per agent."""
    updates_per_step: int = 1
    """TD3 updates per environment step in the training phase."""
    checkpoint_every: int = 1000
    """Steps between checkpoints (0: only at the end)."""
    seed: int = 0
    """Seeds the simulator, the networks, exploration and replay sampling."""
    n_neighbours: int = 6
    """Neighbours whose mean load forms the coordination feature (paper eq. 5)."""
    observation: str = "clipped"
    """How the state is normalised for the networks: ``"clipped"`` (default) or ``"log"``; see
    :mod:`pyslice.envs.slicing` and docs/learning.md."""
    td3: TD3Config = field(default_factory=TD3Config)

    def __post_init__(self) -> None:
        for name in ("exploration_steps", "training_steps", "evaluation_steps", "checkpoint_every"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 0))
        for name in ("buffer_capacity", "updates_per_step"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        if self.total_steps < 1:
            raise ValueError("the schedule must have at least one step")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {', '.join(map(repr, OBSERVATIONS))}, got {self.observation!r}")
        if self.td3.seed != self.seed:
            object.__setattr__(self, "td3", replace(self.td3, seed=self.seed))

    @property
    def total_steps(self) -> int:
        return self.exploration_steps + self.training_steps + self.evaluation_steps

    def phase(self, step: int) -> str:
        """'explore', 'train' or 'eval' for a 0-based step index."""
        if step < self.exploration_steps:
            return "explore"
        return "train" if step < self.exploration_steps + self.training_steps else "eval"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        td3 = d.pop("td3", {})
        td3 = {k: tuple(v) if isinstance(v, list) else v for k, v in td3.items()}
        if "actor_head" not in td3:  # saved by an earlier version: its learner
            td3 = {**LEGACY_TD3, **td3}
        d.setdefault("observation", "clipped")  # saved by an earlier version: its observation
        return cls(td3=TD3Config(**td3), **d)


class Trainer:
    """Trains K coordinated TD3 agents on a scenario and writes its run directory.

    Args:
        scenario: the network.
        config: schedule and learner settings.
        out_dir: run directory (log, checkpoints, final policy, summary).
        resume: continue from ``out_dir/checkpoint.pt`` (must exist, same scenario and config).
        tensorboard: also write TensorBoard logs to this directory (:class:`pyslice.learn.tensorboard.TrainLogger`;
            needs the ``pyslice[tensorboard]`` extra). None: no logging, TensorBoard is not imported.
        followers: built-in policies ('equal', 'traffic-aware', 'max-min') that step beside the
            learner on the same world (:class:`pyslice.envs.followers.FollowedEnv`; the learner's run
            is bit for bit the same). Their per-step rewards [T, F, K] and the traffic mask [T, N]
            go to ``followers.npz`` (:func:`read_followers`).
    """

    def __init__(self, scenario: Scenario, config: TrainConfig, out_dir: str | Path, resume: bool = False,
                 tensorboard: str | Path | None = None, followers: Sequence[str] = ()) -> None:
        if tensorboard is not None:  # fail before anything is written
            require_tensorboard()
        self.tensorboard = None if tensorboard is None else Path(tensorboard)
        self.scenario, self.config, self.out = scenario, config, Path(out_dir)
        if isinstance(followers, (str, bytes)):
            raise TypeError(f"followers must be a sequence of policy names, got {followers!r}")
        self.followers = tuple(followers)
        self.env: SlicingEnv | FollowedEnv
        if self.followers:
            self.env = FollowedEnv(scenario, config.seed, self.followers, n_neighbours=config.n_neighbours,
                                   observation=config.observation)
        else:
            self.env = SlicingEnv(scenario, seed=config.seed, n_neighbours=config.n_neighbours,
                                  observation=config.observation)
        K, N, D = self.env.n_agents, self.env.n_slices, self.env.obs_dim
        T, F = config.total_steps, len(self.followers)
        self.follower_reward = np.zeros((T, F, K))
        self.follower_mask = np.zeros((T, N) if F else (0, N))
        self.agent = BatchedTD3(K, D, N, config.td3)
        # the raw KPIs ride along so instance transfer can relabel rewards (pyslice.envs.relabel)
        self.replay = ReplayBuffers(K, config.buffer_capacity, D, N, seed=config.seed, kpi_dim=kpi_dim(N))
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.timing = {"simulator": 0.0, "policy": 0.0, "update": 0.0}
        if resume:
            self._load_checkpoint()
        else:
            if (self.out / CHECKPOINT).exists():
                raise FileExistsError(f"{self.out} already holds a run; use resume=True (--resume) or another --out")
            self.out.mkdir(parents=True, exist_ok=True)
            self.obs = self.env.reset(config.seed)
            with atomic_open(self.out / LOG) as fh:
                csv.writer(fh, lineterminator="\n").writerow(log_header(K, N))
            write_json(self.out / "run.json", {"scenario": scenario.to_dict(), "train": config.to_dict()})

    # ---- checkpoints -----------------------------------------------------------------------------

    def _checkpoint_state(self) -> dict[str, Any]:
        state = {"step": self.step, "agent": self.agent.state_dict(), "replay": self.replay.state_dict(),
                 "rng": self.rng.bit_generator.state, "env": self.env.get_state(), "obs": self.obs,
                 "timing": dict(self.timing), "config": self.config.to_dict(), "scenario": self.scenario.to_dict()}
        if self.followers:  # absent without followers: checkpoints stay as they were
            state["followers"] = {"names": list(self.followers), "reward": self.follower_reward[:self.step],
                                  "mask": self.follower_mask[:self.step]}
        return state

    def save_checkpoint(self) -> Path:
        """Write the checkpoint atomically (temp file + rename)."""
        path = self.out / CHECKPOINT
        with atomic_open(path, "wb") as fh:
            safe_io.save(self._checkpoint_state(), fh)
        return path

    def _load_checkpoint(self) -> None:
        path = self.out / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint to resume from: {path}")
        ck = safe_io.load(path)  # tensors and plain data only: a checkpoint cannot run code
        if ck["scenario"] != self.scenario.to_dict() or ck["config"] != self.config.to_dict():
            raise ValueError(f"{path} belongs to another scenario or training config; resume with the same ones")
        saved = ck.get("followers", {"names": []})
        if tuple(saved["names"]) != self.followers:
            raise ValueError(f"{path} was written with followers {tuple(saved['names'])}; resume with the same "
                             f"followers, got {self.followers}")
        self.step = int(ck["step"])
        if self.followers:
            self.follower_reward[:self.step] = saved["reward"]
            self.follower_mask[:self.step] = saved["mask"]
        self.agent.load_state_dict(ck["agent"])
        if ReplayBuffers.state_kpi_dim(ck["replay"]) != self.replay.kpi_dim:  # saved before KPIs were kept
            r = self.replay
            self.replay = ReplayBuffers(r.n_agents, r.capacity, r.obs_dim, r.act_dim, seed=self.config.seed,
                                        kpi_dim=ReplayBuffers.state_kpi_dim(ck["replay"]))
        self.replay.load_state_dict(ck["replay"])
        self.rng.bit_generator.state = ck["rng"]
        self.env.set_state(ck["env"])
        self.obs = ck["obs"]
        self.timing = dict(ck["timing"])
        # The log may run past the checkpoint (steps done after it): keep exactly `step` rows.
        lines = (self.out / LOG).read_text().splitlines(keepends=True)
        with atomic_open(self.out / LOG) as fh:
            fh.writelines(lines[: 1 + self.step])

    # ---- the loop ----------------------------------------------------------------------------------

    def _act(self, phase: str) -> np.ndarray:
        """The agents' actions (their own action space, what the replay stores) for this phase."""
        if phase == "explore":
            return self.agent.random_actions(self.rng)
        return self.agent.policy_actions(self.obs, explore=phase == "train", rng=self.rng)

    def _tensorboard_logger(self) -> Any:
        """The run's TensorBoard logger from this step on (a null context without ``tensorboard``)."""
        if self.tensorboard is None:
            return contextlib.nullcontext()
        return TrainLogger(self.tensorboard, start_step=self.step, last_step=self.config.total_steps,
                           train_log=self.out / LOG)

    def run(self, stop_after: int | None = None, progress: Callable[[int, str, float], None] | None = None) -> dict:
        """Run to the end of the schedule (or until ``stop_after`` total steps, for tests of resume).

        Returns the summary (also written to ``summary.json`` at the end of the schedule)."""
        cfg = self.config
        end = cfg.total_steps if stop_after is None else min(stop_after, cfg.total_steps)
        with self._tensorboard_logger() as tb, open(self.out / LOG, "a", newline="") as log_fh:
            log = csv.writer(log_fh, lineterminator="\n")

            def act(t: int, obs: np.ndarray) -> tuple[np.ndarray, tuple[str, np.ndarray, Any]]:
                phase = cfg.phase(t)
                action = self._act(phase)
                return self.agent.to_shares(action), (phase, action, self.env.last_info)

            def learn(t: int, obs: np.ndarray, taken: tuple[str, np.ndarray, Any], reward: np.ndarray,
                      next_obs: np.ndarray, info: dict[str, Any]) -> list[dict[str, np.ndarray]]:
                phase, action, prev_info = taken
                if phase != "eval":
                    kpi = kpi_record(prev_info, info) if self.replay.kpi_dim else None
                    self.replay.add(obs, action, reward, next_obs, kpi)
                losses = []
                if phase == "train" and len(self.replay) >= cfg.td3.batch_size:
                    for _ in range(cfg.updates_per_step):
                        losses.append(self.agent.update(self.replay.sample(cfg.td3.batch_size, self.rng)))
                return losses

            def record(step: Step) -> None:
                phase = step.action[0]
                log.writerow(log_row(step.t + 1, phase, step.reward, step.info))
                if tb is not None:
                    tb.log_step(step.t + 1, phase, step.reward, step.info, step.learned)
                self.obs = step.next_obs
                self.step = step.t + 1
                if isinstance(self.env, FollowedEnv):
                    self.follower_reward[step.t] = self.env.follower_reward
                    self.follower_mask[step.t] = step.info["mask"]
                if progress is not None:
                    progress(self.step, phase, float(step.reward.mean()))
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.step < cfg.total_steps:
                    log_fh.flush()
                    self.save_checkpoint()

            run_steps(self.env.step, self.obs, self.step, end, act, learn, record, self.timing)
        if self.step >= cfg.total_steps:
            self.save_checkpoint()
            with atomic_open(self.out / POLICY, "wb") as fh:
                safe_io.save({"agent": self.agent.state_dict(), "train": cfg.to_dict(),
                            "scenario": self.scenario.to_dict(), "n_neighbours": cfg.n_neighbours}, fh)
            if self.followers:
                write_npz(self.out / FOLLOWERS, names=np.array(self.followers), reward=self.follower_reward,
                          mask=self.follower_mask)
            summary = self.summary()
            write_json(self.out / SUMMARY, summary)
            # last: the run's files with their sizes and hashes (pyslice verify, resume checks)
            mark_done(self.out, round(sum(self.timing.values()), 3))
            return summary
        return {}

    def summary(self) -> dict[str, Any]:
        """Evaluation-phase statistics from the log, and the wall-time breakdown."""
        log = read_log(self.out / LOG)
        ev = log["phase"] == "eval"
        rewards = log["reward"][ev] if ev.any() else log["reward"][-1:]
        return {"steps": int(self.step), "evaluation_steps": int(ev.sum()),
                "eval_mean_reward": float(rewards.mean()),
                "eval_share_reward_below_0.95": float((rewards < 0.95).mean()),
                "timing_seconds": {k: round(v, 3) for k, v in self.timing.items()}}


def read_followers(run_dir: str | Path) -> dict[str, np.ndarray]:
    """A finished run's ``followers.npz``: ``names`` [F], ``reward`` [T, F, K] and ``mask`` [T, N]."""
    with np.load(Path(run_dir) / FOLLOWERS, allow_pickle=False) as data:
        return {key: data[key] for key in ("names", "reward", "mask")}


def restore_agent(agent_state: dict[str, Any], config: TrainConfig) -> BatchedTD3:
    """A :class:`BatchedTD3` rebuilt from its ``state_dict`` (sizes taken from the state)."""
    K, D, A = agent_state["sizes"]
    agent = BatchedTD3(K, D, A, config.td3)
    agent.load_state_dict(agent_state)
    return agent


def load_policy(path: str | Path) -> tuple[BatchedTD3, Scenario, dict[str, Any]]:
    """Load ``policy.pt`` (or a run directory holding it): the agents, their scenario, the train config."""
    path = Path(path)
    if path.is_dir():
        path = path / POLICY
    if not path.is_file():
        raise FileNotFoundError(f"no trained policy at {path}")
    saved, scenario, config = read_run_file(path, "train")
    return restore_agent(saved["agent"], config), scenario, config.to_dict()


def read_run_file(path: Path, config_key: str) -> tuple[dict[str, Any], Scenario, TrainConfig]:
    """A run's ``policy.pt`` (``config_key="train"``) or ``checkpoint.pt`` (``"config"``): its
    contents, loaded without unpickling (tensors and plain data only, so a shared file cannot run
    code), with the scenario and the train config rebuilt."""
    saved = safe_io.load(path)
    return saved, Scenario.from_dict(saved["scenario"]), TrainConfig.from_dict(saved[config_key])


def evaluate(scenario: Scenario, policy: str | BatchedTD3, steps: int = 250, seed: int = 0, warmup: int = 0,
             n_neighbours: int = 6, observation: str = "clipped") -> dict[str, Any]:
    """Run a built-in policy name or trained agents (greedy) for ``steps`` steps after ``warmup``
    steps of the same policy; returns reward, satisfaction, delay and drop statistics. Trained agents
    need the ``n_neighbours`` and ``observation`` they were trained with."""
    env = SlicingEnv(scenario, seed=seed, n_neighbours=n_neighbours, observation=observation)
    if not isinstance(policy, str):
        policy = GreedyAgents(policy)
    run_policy_in_env(env, policy, warmup, seed=seed)
    run = run_policy_in_env(env, policy, steps, reset=False)
    return {"steps": steps, **kpi_summary(run["min_throughput_satisfaction"], run["max_slice_delay"],
                                          reward=run["reward"], drop=run["drop_rate"])}


class GreedyAgents:
    """Trained agents as a :class:`pyslice.envs.baselines.Policy`: greedy shares, no exploration."""

    name = "drl"

    def __init__(self, agent: BatchedTD3) -> None:
        self.agent = agent

    def act(self, obs: np.ndarray, info: dict[str, Any] | None = None) -> np.ndarray:
        return self.agent.act(obs, explore=False)


