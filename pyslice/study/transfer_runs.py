"""Many transfer experiments as one batch: every (target, source) learner a replica of one run.

:func:`run_transfers` runs several transfer experiments (:class:`TransferSpec`: a target cell, its
sources, a strategy, with or without the DRL-from-scratch comparison) of one pretrained run
together: every learner is one replica of one :class:`pyslice.SlicingEnv` (same seed, so every
replica sees the same UE drops, mobility and traffic) and one row of one batched TD3 (the TL
learners) or of a second one (the scratch learners). Each learner draws its noise and minibatches
from generators seeded by (seed, its target cell) only, so a replica's curve does not depend on
what else is in the batch: the results equal those of running each spec alone with
:func:`pyslice.study.transfer_runs.run_transfer` (which is a one-spec call of this function), bit for bit, at
the cost of little more than one run (the simulator steps all replicas in one call, the learners
update as one network each). The experiment's choices are documented in :mod:`pyslice.study.transfer`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyslice.envs.slicing import SlicingEnv
from pyslice.envs.relabel import INSTANCE_REWARDS
from pyslice.learn.generalist import GENERALIST, Generalists, load_generalists
from pyslice.learn.loop import Step, run_steps
from pyslice.learn.replay import Batch, ReplayBuffers
from pyslice.sim.satisfaction import step_kpis
from pyslice.learn.td3 import ActorCopies, BatchedTD3, TD3Config
from pyslice.learn.train import CHECKPOINT, read_run_file, restore_agent
from pyslice.sim.scenario import Scenario
from pyslice.study.transfer import (RESULT_JSON, STRATEGIES, TransferReport, TransferResult, check_index,
                                    feature_layer_indices, transfer)

__all__ = ["TransferSpec", "load_run", "run_transfer", "run_transfers"]


@dataclass(frozen=True)
class TransferSpec:
    """One transfer experiment: a new agent in cell ``target`` trained from each of ``sources`` by
    ``strategy`` (one learner per source), plus DRL from scratch on the same target if
    ``include_scratch``. ``distance``: optional distances ``[K]`` to the target or ``D[source,
    target]`` ``[K, K]``, stored per source. ``generalist``: a folder (or file) of trained
    generalists (:func:`pyslice.learn.generalist.train_generalists`); then two more learners run,
    the generalist that never learned from the target as it is (``"generalist zero-shot"``: greedy,
    no updates) and fine-tuned there as TL is (``"generalist fine-tuned"``: its weights, a fresh
    buffer, the TL learner's exploration and updates)."""

    target: int
    sources: tuple[int, ...]
    strategy: str = "integrated"
    include_scratch: bool = True
    distance: Any = None
    generalist: str | None = None


GENERALIST_LEARNERS = ("generalist zero-shot", "generalist fine-tuned")


class _Learners:
    """A group of target-cell learners (one batched TD3, one buffer each) with per-learner
    generators seeded by (seed, the learner's target cell), so that a learner's trajectory does not
    depend on the group's size or composition.

    Learners of one target start from identical generators (common random numbers across
    replicas). While their buffers hold the same number of transitions they make identical draws,
    so such "twins" share one generator and draw once (a draw per target, not per learner); when
    their buffer sizes part, the twins split, each part continuing from a copy of the shared state,
    exactly as separate generators would."""

    def __init__(self, targets: Sequence[int], D: int, A: int, td3: TD3Config, capacity: int, seed: int):
        self.n = n = len(targets)
        self.targets = np.asarray(targets, dtype=np.int64)
        self.cfg = td3
        self.agent = BatchedTD3(n, D, A, td3)
        self.replay = ReplayBuffers(n, capacity, D, A, seed=seed)
        # twins: rows of a target, sharing a numpy generator (warm-up, exploration, minibatch
        # indices) and a torch generator (target-smoothing noise)
        self.twins: list[tuple[np.ndarray, np.random.Generator, torch.Generator]] = []
        for k in dict.fromkeys(int(k) for k in targets):
            rows = np.flatnonzero(self.targets == k)
            gen = torch.Generator().manual_seed(int(np.random.default_rng([seed, k, 2]).integers(2**62)))
            self.twins.append((rows, np.random.default_rng([seed, k, 1]), gen))

    def _split_twins(self) -> None:
        """Split twin groups whose buffers no longer hold the same number of transitions."""
        out = []
        for rows, rng, gen in self.twins:
            sizes = self.replay.size[rows]
            if (sizes == sizes[0]).all():
                out.append((rows, rng, gen))
                continue
            for size in dict.fromkeys(sizes.tolist()):
                part_rng = np.random.Generator(type(rng.bit_generator)())
                part_rng.bit_generator.state = rng.bit_generator.state
                part_gen = torch.Generator()
                part_gen.set_state(gen.get_state())
                out.append((rows[sizes == size], part_rng, part_gen))
        self.twins = out

    def act(self, obs: np.ndarray, phase: str) -> np.ndarray:
        """Agent-space actions [n, A] for the learners' observations [n, D] in phase
        explore/train/eval: the learner's own warm-up distribution, exploration noise and greedy
        policy (:class:`BatchedTD3`), each learner drawing from its own generator."""
        A = self.agent.act_dim
        if phase == "explore":
            out = np.empty((self.n, A))
            for rows, rng, _ in self.twins:
                out[rows] = self.agent.random_actions(rng, 1)
            return out
        a = self.agent.policy_actions(obs)
        if phase == "train" and self.cfg.exploration_noise > 0:
            noise = np.empty((self.n, A))
            for rows, rng, _ in self.twins:
                noise[rows] = rng.standard_normal(A)
            a = self.agent.perturb(a, noise)
        return a

    def update(self) -> None:
        self._split_twins()
        B, A, n = self.cfg.batch_size, self.agent.act_dim, self.n
        idx = np.empty((n, B), dtype=np.int64)
        noise = torch.empty(n, B, A)
        for rows, rng, gen in self.twins:
            idx[rows] = rng.integers(0, int(self.replay.size[rows[0]]), B)
            noise[torch.from_numpy(rows)] = torch.randn(B, A, generator=gen)
        i = np.arange(n)[:, None]
        rb = self.replay
        batch = Batch(torch.from_numpy(rb.obs[i, idx]), torch.from_numpy(rb.act[i, idx]),
                      torch.from_numpy(rb.rew[i, idx]), torch.from_numpy(rb.next_obs[i, idx]))
        self.agent.update(batch, noise=noise)


@dataclass
class _Group:
    learners: _Learners
    rows: np.ndarray  # replica rows of the batch
    scratch: bool
    features: np.ndarray | None = None  # [n, F] appended to the learners' observations (generalists)
    frozen: bool = False  # acts greedily throughout, never learns (a generalist zero-shot)

    def observe(self, obs: np.ndarray) -> np.ndarray:
        """The learners' observations ``[n, D (+ F)]`` from the batch's ``[R, K, D]``."""
        x = obs[self.rows, self.learners.targets]
        return x if self.features is None else np.concatenate([x, self.features], axis=1)


def _check_spec(spec: Any, K: int, pre: BatchedTD3, feature_layers: Sequence[int]) -> TransferSpec:
    if not isinstance(spec, TransferSpec):
        raise ValueError(f"specs must be TransferSpec objects, got {type(spec).__name__}")
    if spec.strategy not in STRATEGIES or spec.strategy == "none":
        raise ValueError(f"strategy must be one of {STRATEGIES[:-1]} (DRL from scratch is include_scratch), "
                         f"got {spec.strategy!r}")
    target = check_index("target", spec.target, K, "the run's cells")
    sources = tuple(check_index("source", s, K, "the run's cells") for s in spec.sources)
    if target in sources:
        raise ValueError(f"source {target} is the target cell itself")
    if not sources and not spec.include_scratch and spec.generalist is None:
        raise ValueError("nothing to run: no sources, no generalist and include_scratch=False")
    if spec.strategy == "feature":
        feature_layer_indices(pre, feature_layers)
    dist = None if spec.distance is None else distance_to_target(spec.distance, K, target)
    generalist = None
    if spec.generalist is not None:
        if not isinstance(spec.generalist, (str, Path)):
            raise ValueError(f"generalist must be a path, got {type(spec.generalist).__name__}")
        generalist = str(spec.generalist)
        if not (Path(generalist).is_file() or (Path(generalist) / GENERALIST).is_file()):
            raise ValueError(f"generalist: no trained generalist at {generalist}")
    return replace(spec, target=target, sources=sources, distance=dist, generalist=generalist)


def run_transfers(
    run_dir: str | Path,
    specs: Sequence[TransferSpec],
    steps: int = 4000,
    eval_steps: int = 250,
    seed: int | None = None,
    *,
    scratch_exploration_steps: int | None = None,
    feature_layers: Sequence[int] = (0,),
    n_instances: int | None = None,
    exploration_noise: float | None = None,
    instance_rewards: str = "source",
    td3: TD3Config | None = None,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[TransferResult]:
    """Run every spec on the pretrained run ``run_dir`` as one batch; one
    :class:`pyslice.study.transfer.TransferResult` per spec, in order. The arguments after ``specs`` are
    those of :func:`pyslice.study.transfer_runs.run_transfer` and apply to every spec. Everything is checked
    before anything runs (ValueError naming the argument)."""
    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    steps = int_arg("steps", steps, 0)
    eval_steps = int_arg("eval_steps", eval_steps, 0)
    if steps + eval_steps < 1:
        raise ValueError("steps + eval_steps must be >= 1")
    threads = int_arg("threads", threads, 1)
    if n_instances is not None:
        int_arg("n_instances", n_instances, 0)
    if instance_rewards not in INSTANCE_REWARDS:
        raise ValueError(f"instance_rewards must be one of {', '.join(map(repr, INSTANCE_REWARDS))}, "
                         f"got {instance_rewards!r}")
    if not specs:
        raise ValueError("specs must name at least one transfer experiment")
    scenario, config, pre, pre_replay = load_run(run_dir)
    specs = [_check_spec(spec, pre.n_agents, pre, feature_layers) for spec in specs]
    seed = config.seed + 1 if seed is None else int_arg("seed", seed, 0)
    if scratch_exploration_steps is None:
        scratch_exploration_steps = min(config.exploration_steps, steps)
    E = int_arg("scratch_exploration_steps", scratch_exploration_steps, 0)
    if E > steps:
        raise ValueError(f"scratch_exploration_steps ({E}) must be <= steps ({steps})")
    if instance_rewards == "target" and any(s.strategy in ("instance", "integrated") and s.sources for s in specs):
        if not pre_replay.kpi_dim:
            raise ValueError(f"instance_rewards='target' needs the raw KPIs in the run's replay buffers; {run_dir} "
                             "was saved before they were kept (retrain it, or use instance_rewards='source')")
    td3 = _learner_config(td3, config)
    layout = _ReplicaLayout.of(specs)
    groups, reports = _learner_groups(layout, specs, scenario, config, pre, pre_replay, steps, seed, td3,
                                      exploration_noise, feature_layers, n_instances, instance_rewards)
    env = SlicingEnv(scenario, seed=seed, replicas=layout.n_replicas, threads=threads,
                     n_neighbours=config.n_neighbours, observation=config.observation, same_seed=True,
                     shared_world=True)
    t_setup = time.perf_counter()
    curves, drops, timing = _run_batch(env, pre, groups, td3, seed, steps, eval_steps, E, config.updates_per_step,
                                       progress)
    timing["setup"] = t_setup - t_start
    timing = {k: round(v, 4) for k, v in timing.items()}
    wall = round(time.perf_counter() - t_start, 4)
    results = []
    for spec, (rows, scratch_row, extra_rows) in zip(specs, layout.spec_rows):
        sel = rows + ([scratch_row] if scratch_row is not None else []) + extra_rows
        results.append(TransferResult(
            run_dir=str(run_dir), target=spec.target, sources=list(spec.sources), strategy=spec.strategy, steps=steps,
            eval_steps=eval_steps, seed=seed, include_scratch=bool(spec.include_scratch),
            scratch_exploration_steps=E,
            feature_layers=list(feature_layer_indices(pre, feature_layers)) if spec.strategy == "feature" else [],
            n_instances=[reports[r].n_instances for r in rows],
            distance=None if spec.distance is None else spec.distance[np.asarray(spec.sources, dtype=np.int64)],
            wall_seconds=wall, timing=timing, drop_rate=drops[sel], instance_rewards=instance_rewards,
            extra=list(GENERALIST_LEARNERS) if extra_rows else [],
            **{name: curves[name][sel] for name in TransferResult._ARRAYS}))
    return results


def _learner_config(td3: TD3Config | None, config: Any) -> TD3Config:
    """The new cell's learner settings: the given ones (same networks and head as the run's) or the run's."""
    if td3 is None:
        return config.td3
    if not isinstance(td3, TD3Config):
        raise ValueError(f"td3 must be a TD3Config, got {type(td3).__name__}")
    if (td3.actor_hidden, td3.critic_hidden, td3.actor_head) != (config.td3.actor_hidden, config.td3.critic_hidden,
                                                                 config.td3.actor_head):
        raise ValueError("td3 must keep the run's actor_hidden, critic_hidden and actor_head (the transferred "
                         "networks and instances have the run's shapes and action space)")
    return td3


@dataclass
class _ReplicaLayout:
    """Which batch replica runs what: per spec its TL learners (one per source), its scratch
    learner, then its generalist zero-shot and fine-tuned."""

    tl_rows: list[int]
    tl_jobs: list[tuple[TransferSpec, int]]
    sc_rows: list[int]
    sc_targets: list[int]
    gen_rows: list[tuple[int, int]]  # (zero-shot row, fine-tuned row)
    gen_specs: list[TransferSpec]
    spec_rows: list[tuple[list[int], int | None, list[int]]]

    @property
    def n_replicas(self) -> int:
        return len(self.tl_rows) + len(self.sc_rows) + 2 * len(self.gen_rows)

    @classmethod
    def of(cls, specs: Sequence[TransferSpec]) -> _ReplicaLayout:
        layout = cls([], [], [], [], [], [], [])
        for spec in specs:
            rows = []
            for s in spec.sources:
                rows.append(layout.n_replicas)
                layout.tl_rows.append(rows[-1])
                layout.tl_jobs.append((spec, s))
            scratch_row = None
            if spec.include_scratch:
                scratch_row = layout.n_replicas
                layout.sc_rows.append(scratch_row)
                layout.sc_targets.append(spec.target)
            extra: list[int] = []
            if spec.generalist is not None:
                extra = [layout.n_replicas, layout.n_replicas + 1]
                layout.gen_rows.append((extra[0], extra[1]))
                layout.gen_specs.append(spec)
            layout.spec_rows.append((rows, scratch_row, extra))
        return layout


def _learner_groups(layout: _ReplicaLayout, specs: Sequence[TransferSpec], scenario: Scenario, config: Any,
                    pre: BatchedTD3, pre_replay: ReplayBuffers, steps: int, seed: int, td3: TD3Config,
                    exploration_noise: float | None, feature_layers: Sequence[int], n_instances: int | None,
                    instance_rewards: str) -> tuple[list[_Group], dict[int, TransferReport]]:
    """The new cells' learners, each after its transfer, in groups stepped together."""
    D, A = pre.obs_dim, pre.act_dim
    req_t, req_d = scenario.requirement_matrices()
    held = int(pre_replay.size.max())
    if n_instances is not None:
        held = min(held, int(n_instances))
    transferred = max((0 if spec.strategy in ("model", "feature") else held for spec, _ in layout.tl_jobs), default=0)
    # the scratch learner: exactly the pretraining learner (or the td3 given for both)
    td3 = replace(td3, seed=seed)
    tl_td3 = td3 if exploration_noise is None else replace(td3, exploration_noise=float(exploration_noise))
    template = BatchedTD3(1, D, A, td3)  # the new cell's fresh random networks, shared by all learners
    groups: list[_Group] = []
    reports: dict[int, TransferReport] = {}
    # TL learners in two groups: with transferred instances (they update from the first step) and
    # without (model/feature: they update once their own buffer holds a minibatch); a group updates
    # when all its buffers can be sampled, so mixing the two would delay the first kind
    for with_instances in (True, False):
        jobs = [(row, spec, s) for row, (spec, s) in zip(layout.tl_rows, layout.tl_jobs)
                if (spec.strategy in ("instance", "integrated")) == with_instances]
        if not jobs:
            continue
        tl = _Learners([spec.target for _, spec, _ in jobs], D, A, tl_td3,
                       max(config.buffer_capacity, transferred + steps, 1), seed)
        for j, (row, spec, s) in enumerate(jobs):
            relabel = None
            if instance_rewards == "target" and spec.strategy in ("instance", "integrated"):
                relabel = (req_t[spec.target], req_d[spec.target], config.observation)
            reports[row] = transfer(tl.agent, tl.replay, s, j, spec.strategy, source_agent=pre,
                                    source_replay=pre_replay, feature_layers=feature_layers,
                                    n_instances=n_instances, fresh_from=(template, 0), relabel=relabel)
        groups.append(_Group(tl, np.asarray([row for row, _, _ in jobs]), False))
    if layout.sc_rows:
        sc = _Learners(layout.sc_targets, D, A, td3, max(config.buffer_capacity, steps, 1), seed)
        for j in range(len(layout.sc_rows)):
            transfer(sc.agent, sc.replay, None, j, "none", fresh_from=(template, 0))
        groups.append(_Group(sc, np.asarray(layout.sc_rows), True))
    if layout.gen_rows:
        groups += _generalist_groups(layout, config, steps, seed, td3, tl_td3)
    return groups, reports


def _generalist_groups(layout: _ReplicaLayout, config: Any, steps: int, seed: int, td3: TD3Config,
                       tl_td3: TD3Config) -> list[_Group]:
    """The generalists in their targets: as they are (greedy, frozen) and fine-tuned as TL learners."""
    loaded: dict[str, Generalists] = {}  # each file once
    for spec in layout.gen_specs:
        if str(spec.generalist) not in loaded:
            loaded[str(spec.generalist)] = load_generalists(str(spec.generalist))
    gens = [loaded[str(spec.generalist)] for spec in layout.gen_specs]
    D, A = gens[0].agent.obs_dim, gens[0].agent.act_dim
    if any((g.agent.obs_dim, g.agent.act_dim) != (D, A) for g in gens):
        raise ValueError("the specs' generalists have different network sizes")
    targets = [s.target for s in layout.gen_specs]
    features = np.stack([g.features[k] for g, k in zip(gens, targets)])
    groups = []
    for kind, (frozen, cfg, capacity) in enumerate(((True, td3, 1), (False, tl_td3, max(config.buffer_capacity, steps)))):
        learners = _Learners(targets, D, A, cfg, capacity, seed)
        for j, (g, k) in enumerate(zip(gens, targets)):
            learners.agent.copy_agent(g.row_for(k), j, source=g.agent)
        groups.append(_Group(learners, np.asarray([rows[kind] for rows in layout.gen_rows]), False, features, frozen))
    return groups


def _run_batch(env: SlicingEnv, pre: BatchedTD3, groups: list[_Group], td3: TD3Config, seed: int, steps: int,
               eval_steps: int, E: int, updates_per_step: int,
               progress: Callable[[int, int], None] | None) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, float]]:
    """Step every replica ``steps + eval_steps`` times: the other cells act greedily with the pretrained
    actors, each group's learners act, store and update in their phase. Returns the target cells'
    curves [R, T], drop rates [R, T, A] and the time per bucket."""
    scenario = env.scenario
    K, D, A = pre.n_agents, pre.obs_dim, pre.act_dim
    R = sum(len(g.rows) for g in groups)
    # the other cells: R copies of the pretrained actors evaluated as R*K agents (one row each, so
    # a replica's actions are bit-identical to a one-replica run)
    others = ActorCopies(pre, R)
    T = steps + eval_steps
    curves = {name: np.zeros((R, T)) for name in TransferResult._ARRAYS}
    drops = np.zeros((R, T, A))
    target_of = np.zeros(R, dtype=np.int64)
    for g in groups:
        target_of[g.rows] = g.learners.targets
    rows_all = np.arange(R)
    req_rows = env.requirements.throughput_bps[target_of]  # [R, A]
    timing = {"simulator": 0.0, "policy": 0.0, "update": 0.0}
    raw_actions = np.zeros((R, A))  # the target learners' agent-space actions (what their replay stores)

    def act(t: int, obs: np.ndarray) -> tuple[np.ndarray, list[str]]:
        actions = others.act(obs.reshape(R * K, D)).reshape(R, K, A)
        phases = []
        for g in groups:
            phase = "eval" if t >= steps or g.frozen else ("explore" if g.scratch and t < E else "train")
            phases.append(phase)
            raw = g.learners.act(g.observe(obs), phase)
            raw_actions[g.rows] = raw
            actions[g.rows, g.learners.targets] = g.learners.agent.to_shares(raw)
        return actions, phases

    def env_step(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        next_obs, reward, info = env.step(actions if R > 1 else actions[0])
        return next_obs.reshape(R, K, D), reward.reshape(R, K), info

    def learn(t: int, obs: np.ndarray, phases: list[str], reward: np.ndarray, next_obs: np.ndarray,
              info: dict[str, Any]) -> None:
        for g, phase in zip(groups, phases):
            if phase == "eval":
                continue
            g.learners.replay.add(g.observe(obs), raw_actions[g.rows], reward[g.rows, g.learners.targets],
                                  g.observe(next_obs))
            if phase == "train" and len(g.learners.replay) >= g.learners.cfg.batch_size:
                for _ in range(updates_per_step):
                    g.learners.update()

    def record(step: Step) -> None:
        t, reward = step.t, step.reward
        curves["target_reward"][:, t] = reward[rows_all, target_of]
        curves["network_reward"][:, t] = reward.mean(axis=1)
        at_targets = {name: np.reshape(step.info[name], (R, K, A))[rows_all, target_of]
                      for name in ("throughput", "users", "delay", "outage", "dropped", "demand")}
        sat, delay_s, drops[:, t] = step_kpis(at_targets, req_rows, scenario.traffic.max_delay_s)
        curves["throughput_satisfaction"][:, t] = sat
        curves["max_delay_ms"][:, t] = 1e3 * delay_s
        if progress is not None:
            progress(t + 1, T)

    run_steps(env_step, env.reset(seed).reshape(R, K, D), 0, T, act, learn, record, timing)
    return curves, drops, timing


def load_run(run_dir: Path) -> tuple[Scenario, Any, BatchedTD3, ReplayBuffers]:
    """The pretrained agents and replay buffers of a finished :class:`pyslice.learn.train.Trainer` run."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no pretrained run at {run_dir}: {CHECKPOINT} is missing")
    ck, scenario, config = read_run_file(path, "config")
    if int(ck["step"]) < config.total_steps:
        raise ValueError(f"the run at {run_dir} is not finished (step {ck['step']} of {config.total_steps})")
    agent = restore_agent(ck["agent"], config)
    replay = ReplayBuffers(agent.n_agents, config.buffer_capacity, agent.obs_dim, agent.act_dim, seed=config.seed,
                           kpi_dim=ReplayBuffers.state_kpi_dim(ck["replay"]))
    replay.load_state_dict(ck["replay"])
    return scenario, config, agent, replay


def run_cells(run_dir: Path) -> int:
    """Number of cells of a pretrained run (from its run.json, without loading the checkpoint)."""
    meta = run_dir / "run.json"
    if not meta.is_file():
        raise FileNotFoundError(f"no pretrained run in {run_dir} (run.json is missing)")
    return Scenario.from_dict(json.loads(meta.read_text())["scenario"]).n_cells


def int_arg(name: str, value: Any, lo: int) -> int:
    """``value`` as an int >= ``lo``; ValueError naming ``name`` otherwise (types included)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def distance_to_target(distance: Any, K: int, target: int) -> np.ndarray:
    """Distances [K] from every cell to ``target``: ``distance`` itself, or its column of D[source, target]."""
    d = np.asarray(distance, dtype=np.float64)
    if d.shape == (K, K):
        d = d[:, target]  # D[i, k]: source i, target k (paper eq. 10 takes argmin over i)
    if d.shape != (K,) or not np.all(np.isfinite(np.delete(d, target))):
        raise ValueError(f"distance must be [K] (to the target) or [K, K] (D[source, target]) with finite "
                         f"entries, K = {K}; got shape {np.shape(distance)}")
    return d


def run_transfer(
    run_dir: str | Path,
    target: int,
    sources: Sequence[int] | str = "auto",
    strategy: str = "integrated",
    steps: int = 4000,
    eval_steps: int = 250,
    seed: int | None = None,
    include_scratch: bool = True,
    distance: Any = None,
    *,
    scratch_exploration_steps: int | None = None,
    feature_layers: Sequence[int] = (0,),
    n_instances: int | None = None,
    exploration_noise: float | None = None,
    instance_rewards: str = "source",
    td3: Any = None,
    out_dir: str | Path | None = None,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> TransferResult:
    """Transfer to a newly deployed agent in cell ``target`` of a pretrained run (paper §V-3/5).

    Args:
        run_dir: a finished :class:`pyslice.learn.train.Trainer` run (its ``checkpoint.pt``: agents and
            replay buffers, scenario, config).
        target: the cell (0-based) whose agent is replaced by a new one.
        sources: source cells, or ``"auto"``: every other cell (ordered by increasing ``distance``
            when given). May be empty (scratch run only).
        strategy: a transfer strategy of :data:`STRATEGIES` except ``"none"`` (the scratch run is
            ``include_scratch``).
        steps: TL training steps (paper: 4000); ``eval_steps`` greedy steps follow (paper: 250).
        seed: simulator seed shared by all replicas, and the seed of the learners' initialisation
            and noise (default: the run's training seed + 1).
        include_scratch: add a DRL-from-scratch replica on the same target (the last row).
        distance: optional distances ``[K]`` to the target or ``D[source, target]`` ``[K, K]``
            (paper eq. 7); stored per source.
        scratch_exploration_steps: random-action steps of the scratch run (default: the run's
            ``exploration_steps`` capped at ``steps``).
        feature_layers, n_instances: passed to :func:`transfer`.
        exploration_noise: std of the TL learners' Gaussian exploration noise in training steps, in
            the units of the run's ``TD3Config.exploration`` (default: the run's
            ``exploration_noise``). The DRL-from-scratch learner always uses the run's own learner
            settings, so it is the pretraining learner on the pretraining schedule.
        instance_rewards: ``"source"`` (the paper: transferred instances keep the rewards computed
            under the source's requirements) or ``"target"`` (relabelled under the target's,
            :mod:`pyslice.envs.relabel`; the run must have kept KPIs in its replay buffers).
        td3: a :class:`pyslice.learn.td3.TD3Config` for the new cell's learners, TL and scratch alike
            (network sizes must match the run's; default: the run's own).
        out_dir: if given, ``transfer.npz`` and ``transfer.json`` are written there atomically at
            the end (FileExistsError up front if it already holds a result).
        threads: C++ threads stepping the simulator replicas.
        progress: called as ``progress(step, total)`` after every step.

    Raises:
        FileNotFoundError: no ``checkpoint.pt`` in ``run_dir``.
        ValueError: bad arguments (all checked before anything runs or is written).
    """
    if strategy not in STRATEGIES or strategy == "none":
        raise ValueError(f"strategy must be one of {STRATEGIES[:-1]} (DRL from scratch is include_scratch), "
                         f"got {strategy!r}")
    if out_dir is not None and (Path(out_dir) / RESULT_JSON).exists():
        raise FileExistsError(f"{out_dir} already holds a transfer result")
    if isinstance(sources, str):
        if sources != "auto":
            raise ValueError(f"sources must be a list of cell indices or 'auto', got {sources!r}")
        K = run_cells(Path(run_dir))
        target = check_index("target", target, K, "the run's cells")
        dist = None if distance is None else distance_to_target(distance, K, target)
        sources = [k for k in range(K) if k != target]
        if dist is not None:
            sources = sorted(sources, key=lambda k: dist[k])
    spec = TransferSpec(target, tuple(sources), strategy, bool(include_scratch), distance)
    result = run_transfers(run_dir, [spec], steps, eval_steps, seed, scratch_exploration_steps=scratch_exploration_steps,
                           feature_layers=feature_layers, n_instances=n_instances, exploration_noise=exploration_noise,
                           instance_rewards=instance_rewards, td3=td3, threads=threads, progress=progress)[0]
    if out_dir is not None:
        result.save(out_dir)
    return result
