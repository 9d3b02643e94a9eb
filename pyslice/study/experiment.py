"""``pyslice reproduce``: the paper's whole study (§V) on one scenario, per seed, then one report.

Per seed (one independent task, run by an :mod:`pyslice.study.executor`), phases in order — each writes its
files atomically and a ``done.json`` marker last, so an interrupted run resumed with the same output
folder skips finished phases (pretraining also resumes inside from its own checkpoint):

1. ``pretrain``: coordinated MADRL of all cells with the paper's schedule (:mod:`pyslice.learn.train`);
2. ``baseline``: the traffic-aware baseline on the pretraining timeline (Fig. 3 mask, Fig. 4 curve),
   run by pretraining as a follower replica of its world (:class:`pyslice.envs.followers.FollowedEnv`);
   on its own only where pretraining was finished by an earlier version;
3. ``similarity``: samples under the default action, one VAE, every distance measure (Fig. 7);
4. ``generalist`` (with ``generalist = true``; else a no-op): the authors' shared generalists,
   each kept from its targets (:mod:`pyslice.learn.generalist`);
5. ``transfer``: per target cell, TL (integrated) from every other cell plus DRL from scratch, all
   replicas of one batched run (Figs. 4, 8, the measure ablation), model/feature/instance
   transfer from the nearest source (the strategy ablation) and the generalist zero-shot and
   fine-tuned beside TL from a random source;
6. ``evaluate``: baseline, converged DRL and the max-min reference on the TL runs' traffic (Figs. 5, 6,
   the table, the reference of the sample efficiency).

:func:`pyslice.study.aggregate.aggregate` then writes ``results.json``, ``report.md`` and the figures.
"""
from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from pyslice.base import safe_io
from pyslice.base.artifacts import check_unit, mark_done
from pyslice.base.atomic import write_json, write_npz, write_text
from pyslice.base.memory import PeakMemory
from pyslice.base.runlock import RunLock
from pyslice.envs.baselines import run_policy_in_env
from pyslice.envs.slicing import SlicingEnv
from pyslice.learn.generalist import train_generalists
from pyslice.learn.td3 import use_one_thread
from pyslice.learn.train import CHECKPOINT, FOLLOWERS, GreedyAgents, Trainer, load_policy, read_followers
from pyslice.sim.scenario import Scenario
from pyslice.study.aggregate import aggregate
from pyslice.study.config import (ABLATION_STRATEGIES, PHASES, ReproduceConfig, config_from_dict, config_toml,
                                  evaluation_horizon, generalist_folds, scratch_steps, study_targets,
                                  sweep_targets_of)
from pyslice.study.executor import LocalExecutor
from pyslice.study.similarity import (MEASURES, analyse_with_latents, collect_default_samples, load_distances,
                                      posterior_variance_stats, save_distances)
from pyslice.study.tensorboard_logs import log_study
from pyslice.study.transfer_runs import TransferSpec, run_transfers


# ---- phases ------------------------------------------------------------------------------------

def _done(folder: Path) -> bool:
    """The unit has its done marker (a quick look; :func:`_resumable` also checks its files)."""
    return (folder / "done.json").is_file()


def _mark_done(folder: Path, seconds: float, **extra: Any) -> None:

    mark_done(folder, seconds, **extra)


def _resumable(folder: Path) -> bool:
    """True if the unit ``folder`` is done and its files (and its nested units') are as written.
    A unit whose files are missing, truncated or altered is reported on stderr, removed and
    recomputed, and so is the marker of every enclosing unit."""


    if not _done(folder):
        return False
    problems = check_unit(folder)
    if not problems:
        return True
    for unit in dict.fromkeys(unit for unit, _ in problems):
        for u, problem in problems:
            if u == unit:
                print(f"resume: {unit}: {problem}; recomputing it", file=sys.stderr)
        shutil.rmtree(unit, ignore_errors=True)
    (folder / "done.json").unlink(missing_ok=True)
    return False


PROGRESS = ".progress"


class _Progress:
    """A task's step counter in ``folder/.progress[.tag]`` (``"done total"``), written at most once
    a second so that the driver's progress bar can count steps inside running tasks. Informational
    only: a stale or missing file changes nothing."""

    def __init__(self, folder: Path, total: int, tag: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (PROGRESS + (f".{tag}" if tag else ""))
        self.total, self.last = max(int(total), 1), 0.0

    def __call__(self, done: int, *_: Any) -> None:
        now = time.monotonic()
        if now - self.last >= 1.0 or done >= self.total:
            self.last = now
            try:
                self.path.write_text(f"{int(done)} {self.total}")
            except OSError:
                pass


def phase_steps(cfg: ReproduceConfig, phase: str) -> int:
    """Steps one seed's ``phase`` counts on the progress bar (the transfer phase: per batch)."""
    T = cfg.train.total_steps
    return {"baseline": T, "pretrain": T, "similarity": -(-cfg.samples_per_agent // 4),
            "generalist": T if cfg.generalist else 0,
            "transfer": sum(transfer_lengths(cfg)),
            "evaluate": len(EVALUATED) * evaluation_horizon(cfg)}[phase]


def transfer_lengths(cfg: ReproduceConfig) -> list[int]:
    """Steps of each batch of one transfer task (a TL run, the early sources, the long scratch run)."""
    lengths = [cfg.tl_steps + cfg.train.evaluation_steps]
    if cfg.all_sources and cfg.early_window:
        lengths.append(min(cfg.early_window, cfg.tl_steps))
    if scratch_steps(cfg):
        lengths.append(scratch_steps(cfg))
    return lengths


#: The built-in policy that follows pretraining on its world: the ``baseline`` phase's.
BASELINE_POLICY = "traffic-aware"


def phase_baseline(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path) -> None:
    """Traffic-aware baseline over the pretraining timeline: per-step rewards and the mask, on its own
    (pretraining writes the same bits as a follower: :func:`baseline_from_followers`)."""
    env = SlicingEnv(scenario, seed=seed, n_neighbours=cfg.train.n_neighbours)
    env.reset(seed)
    T = cfg.train.total_steps
    reward = np.zeros((T, env.n_agents))
    mask = np.zeros((T, env.n_slices))
    tick = _Progress(folder, T)
    for t in range(T):
        _, reward[t], info = env.step_policy("traffic-aware")
        mask[t] = info["mask"]
        tick(t + 1)
    write_npz(folder / "baseline.npz", reward=reward, mask=mask)


def phase_pretrain(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path) -> None:
    """Pretraining with the traffic-aware baseline as a follower replica of its world; then the
    ``baseline`` phase's file from it (unless that phase is already done)."""
    train_cfg = replace(cfg.train, seed=seed)
    resume = (folder / CHECKPOINT).is_file()
    followers: tuple[str, ...] = (BASELINE_POLICY,)
    if resume and "followers" not in safe_io.load(folder / CHECKPOINT):  # begun by an earlier version
        followers = ()
    Trainer(scenario, train_cfg, folder, resume=resume, followers=followers).run(
        progress=_Progress(folder, train_cfg.total_steps))
    if followers:
        baseline_from_followers(folder, folder.parent / "baseline")


def baseline_from_followers(pretrain: Path, folder: Path) -> bool:
    """Write the ``baseline`` phase (``baseline.npz`` and its marker) from a finished pretraining run's
    traffic-aware follower; False (nothing written) if the phase is done or the run has no such
    follower."""
    if _resumable(folder) or not (pretrain / FOLLOWERS).is_file():
        return False
    followers = read_followers(pretrain)
    names = [str(n) for n in followers["names"]]
    if BASELINE_POLICY not in names:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    write_npz(folder / "baseline.npz", reward=followers["reward"][:, names.index(BASELINE_POLICY)],
              mask=followers["mask"])
    _mark_done(folder, 0.0, follower_of="pretrain")
    return True


def phase_similarity(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path) -> None:

    samples = collect_default_samples(scenario, cfg.samples_per_agent, seed=seed + 1000, replicas=4,
                                      n_neighbours=cfg.train.n_neighbours, threads=1,
                                      observation=cfg.similarity_observation)
    _Progress(folder, phase_steps(cfg, "similarity"))(phase_steps(cfg, "similarity"))  # collected; the VAE follows
    agents = few_target_samples(samples, study_targets(scenario, cfg), cfg.target_samples)
    matrices, latents = analyse_with_latents(agents, replace(cfg.vae, seed=seed), MEASURES)
    save_distances(folder, matrices)
    write_json(folder / "posterior.json", posterior_variance_stats(latents))


def phase_generalist(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path) -> None:
    """The seed's generalists, on the pretraining's schedule, seed and world (nothing without
    ``cfg.generalist``)."""
    if cfg.generalist:
        train_generalists(scenario, replace(cfg.train, seed=seed), generalist_folds(scenario, cfg), folder,
                          cfg.generalist_buffer, progress=_Progress(folder, cfg.train.total_steps))


def few_target_samples(samples: np.ndarray, targets: tuple[int, ...], n: int | None) -> list[np.ndarray]:
    """Every cell's samples [n_k, D], the target cells' cut to their first ``n`` (None: all)."""
    return [a[:n] if n is not None and k in targets else a for k, a in enumerate(samples)]


@dataclass(frozen=True)
class TransferUnit:
    """One transfer experiment of a seed: its sub-folder of ``transfer/``, what it runs and how long."""

    folder: str
    spec: TransferSpec
    steps: int
    eval_steps: int


def spread_sources(ranked: list[int], n: int | None) -> list[int]:
    """At most ``n`` of the sources ``ranked`` by distance, evenly spaced over the ranking (the nearest
    and the farthest among them), in ranking order; all of them for ``n`` None."""
    if n is None or len(ranked) <= n:
        return list(ranked)
    return [ranked[i] for i in dict.fromkeys(np.round(np.linspace(0, len(ranked) - 1, n)).astype(int).tolist())]


def transfer_units(cfg: ReproduceConfig, D: np.ndarray, targets: tuple[int, ...],
                   sweep_targets: tuple[int, ...], seed: int = 0,
                   generalist: Path | None = None) -> list[TransferUnit]:
    """The transfer experiments of one seed: per target, integrated TL from its nearest and farthest
    source by ``D`` (for a sweep target: ``sweep_sources`` spread over them) plus DRL from scratch, for ``tl_steps`` and the
    evaluation; for sweep targets also the strategy ablation from the nearest source; with
    ``all_sources``, TL from each remaining source for the first ``early_window`` steps; with
    ``sample_efficiency``, DRL from scratch for the whole pretraining schedule; with ``generalist``
    (the seed's generalists), the generalist zero-shot and fine-tuned beside TL from a source drawn
    at random (by ``seed`` and the target)."""

    K = D.shape[0]
    E = cfg.train.evaluation_steps
    units = []
    for k in targets:
        ranked = sorted((i for i in range(K) if i != k), key=lambda i: (D[i, k], i))
        sources = spread_sources(ranked, cfg.sweep_sources) if k in sweep_targets else list(
            dict.fromkeys([ranked[0], ranked[-1]]))
        units.append(TransferUnit(f"target{k}/integrated", TransferSpec(k, tuple(sources), "integrated", True, D),
                                  cfg.tl_steps, E))
        if cfg.ablations and k in sweep_targets:
            units += [TransferUnit(f"target{k}/{strategy}", TransferSpec(k, (ranked[0],), strategy, False, D),
                                   cfg.tl_steps, E) for strategy in ABLATION_STRATEGIES]
        rest = tuple(i for i in ranked if i not in sources)
        if cfg.all_sources and rest and cfg.early_window:
            units.append(TransferUnit(f"target{k}/early_sources", TransferSpec(k, rest, "integrated", False, D),
                                      min(cfg.early_window, cfg.tl_steps), 0))
        if generalist is not None:
            pick = ranked[int(np.random.default_rng([seed, k, 5]).integers(len(ranked)))]
            units.append(TransferUnit(f"target{k}/generalist", TransferSpec(k, (pick,), "integrated", False, D,
                                                                             str(generalist)), cfg.tl_steps, E))
        if scratch_steps(cfg):
            units.append(TransferUnit(f"target{k}/scratch_full", TransferSpec(k, (), "integrated", True, D),
                                      scratch_steps(cfg), 0))
    return units


#: Most replica-cells (replicas × cells of the network) one transfer batch steps at once: memory grows
#: with them (about 30 kB each on 57 cells, mostly the learners' buffers: 250 MB a batch), and a
#: replica-step costs less the more replicas share a step (on 57 cells 2.4 ms at 18 replicas, 0.9 ms
#: at 108). The paper scenario's batches stay below it.
BATCH_REPLICA_CELLS = 8000


def _replicas(unit: TransferUnit) -> int:
    return len(unit.spec.sources) + int(unit.spec.include_scratch) + 2 * (unit.spec.generalist is not None)


def _batches(units: Sequence[TransferUnit], n_cells: int) -> list[list[list[TransferUnit]]]:
    """Units grouped by (steps, eval_steps), in order of first appearance, each group split into
    batches of at most :data:`BATCH_REPLICA_CELLS` replica-cells (a larger unit is a batch alone).
    Every learner gives the same bits in any batch, so the split changes no result."""
    groups: dict[tuple[int, int], list[list[TransferUnit]]] = {}
    for u in units:
        batches = groups.setdefault((u.steps, u.eval_steps), [[]])
        if batches[-1] and (sum(map(_replicas, batches[-1])) + _replicas(u)) * n_cells > BATCH_REPLICA_CELLS:
            batches.append([])
        batches[-1].append(u)
    return list(groups.values())


def phase_transfer(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path, run_dir: Path,
                   distances: dict[str, np.ndarray], targets: tuple[int, ...]) -> None:
    """The pending transfer experiments of ``targets``, one batch per run length (:func:`pyslice.study.
    transfer_runs.run_transfers`); each experiment's folder is written and marked done on its own."""

    D = distances[cfg.source_measure]
    generalist = folder.parent / "generalist" if cfg.generalist else None
    units = [u for u in transfer_units(cfg, D, targets, sweep_targets_of(scenario, cfg), seed, generalist)
             if not _resumable(folder / u.folder)]
    if not units:
        return
    tick = _Progress(folder, phase_steps(cfg, "transfer"), tag=str(min(u.spec.target for u in units)))
    done = 0.0
    for group in _batches(units, scenario.n_cells):
        length = group[0][0].steps + group[0][0].eval_steps
        replicas = sum(_replicas(u) for batch in group for u in batch)
        for batch in group:  # the progress bar counts a group's steps, shared out by replicas
            t0 = time.perf_counter()
            weight = sum(map(_replicas, batch)) / replicas
            results = run_transfers(run_dir, [u.spec for u in batch], batch[0].steps, batch[0].eval_steps,
                                    exploration_noise=cfg.tl_exploration_noise, instance_rewards=cfg.instance_rewards,
                                    progress=lambda t, _total, done=done, w=weight: tick(int(done + w * t)))
            done += weight * length
            share = (time.perf_counter() - t0) / len(batch)
            for unit, result in zip(batch, results):
                result.save(folder / unit.folder)
                _mark_done(folder / unit.folder, share)


#: The evaluate phase's policies, one replica each of one shared world: (label in evaluation.npz,
#: policy). The max-min reference knows the previous step's loads and spectral efficiencies.
EVALUATED = (("baseline", "traffic-aware"), ("drl", "greedy pretrained agents"), ("maxmin", "max-min"))


def phase_evaluate(scenario: Scenario, cfg: ReproduceConfig, seed: int, folder: Path, run_dir: Path,
                   tl_seed: int) -> None:
    """The traffic-aware baseline, converged DRL and the max-min reference on the TL runs' traffic
    (same seed, as long as the longest learner run: :func:`pyslice.study.config.evaluation_horizon`),
    as replicas of one shared world."""

    agent, _, _ = load_policy(run_dir)
    policies = [GreedyAgents(agent) if label == "drl" else name for label, name in EVALUATED]
    env = SlicingEnv(scenario, seed=tl_seed, replicas=len(policies), same_seed=True, shared_world=True,
                     n_neighbours=cfg.train.n_neighbours, observation=cfg.train.observation)
    tick = _Progress(folder, phase_steps(cfg, "evaluate"))
    run = run_policy_in_env(env, policies, evaluation_horizon(cfg), seed=tl_seed,
                            progress=lambda t: tick(env.replicas * t))
    out: dict[str, np.ndarray] = {}
    for i, (label, _) in enumerate(EVALUATED):  # [T, R, ...] -> per replica [T, ...]
        out[f"{label}_reward"] = run["reward"][:, i]
        out[f"{label}_satisfaction"] = run["min_throughput_satisfaction"][:, i]
        out[f"{label}_delay_ms"] = 1e3 * run["max_slice_delay"][:, i]
        out[f"{label}_drop_rate"] = run["drop_rate"][:, i]
    write_npz(folder / "evaluation.npz", **out)


def evaluation_is_current(folder: Path, cfg: ReproduceConfig) -> bool:
    """The evaluate phase's file has every evaluated policy over the whole horizon (a run of an
    earlier version lacks the max-min reference or the long horizon: the phase runs again)."""
    try:
        with np.load(folder / "evaluation.npz", allow_pickle=False) as z:
            return all(f"{label}_reward" in z.files and len(z[f"{label}_reward"]) >= evaluation_horizon(cfg)
                       for label, _ in EVALUATED)
    except (OSError, ValueError, KeyError):
        return False


def run_transfer_targets(scenario_dict: dict[str, Any], cfg_dict: dict[str, Any], seed: int, out: str,
                         targets: list[int]) -> float:
    """The transfer phase of one seed for some of its targets (an executor task, one batch); needs
    pretrain and similarity of the seed. Returns its wall seconds."""

    use_one_thread()
    scenario = Scenario.from_dict(scenario_dict)
    cfg = config_from_dict(cfg_dict)
    root = Path(out) / f"seed{seed}"
    t0 = time.perf_counter()
    phase_transfer(scenario, cfg, seed, root / "transfer", root / "pretrain", load_distances(root / "similarity"),
                   tuple(targets))
    return time.perf_counter() - t0


def _target_chunks(targets: tuple[int, ...], n_seeds: int, workers: int) -> list[list[int]]:
    """Split a seed's targets into batches so that seeds × batches keeps ``workers`` busy (each
    batch is one :func:`run_transfers` call; fewer, larger batches amortise more)."""
    # one batch per seed when the seeds fill the workers evenly, else each seed split in `workers`
    # batches, so that the last round of tasks does not leave workers idle
    n = 1 if n_seeds % max(workers, 1) == 0 else max(1, min(len(targets), workers))
    return [list(targets[i::n]) for i in range(n) if targets[i::n]]


def run_seed(scenario_dict: dict[str, Any], cfg_dict: dict[str, Any], seed: int, out: str,
             phases: tuple[str, ...] = PHASES, progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """The given phases of one seed, in order (an executor task). Returns each phase's wall seconds."""
    use_one_thread()
    scenario = Scenario.from_dict(scenario_dict)
    cfg = config_from_dict(cfg_dict)
    root = Path(out) / f"seed{seed}"
    targets = study_targets(scenario, cfg)
    tl_seed = seed + 1  # run_transfer's default: a deployment the pretrained agents have not seen
    seconds: dict[str, float] = {}
    for phase in phases:
        folder = root / phase
        if _resumable(folder) and (phase != "evaluate" or evaluation_is_current(folder, cfg)):
            seconds[phase] = json.loads((folder / "done.json").read_text())["seconds"]
            continue
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if phase == "baseline":
            if not baseline_from_followers(root / "pretrain", folder):
                phase_baseline(scenario, cfg, seed, folder)
        elif phase == "pretrain":
            phase_pretrain(scenario, cfg, seed, folder)
        elif phase == "similarity":
            phase_similarity(scenario, cfg, seed, folder)
        elif phase == "generalist":
            phase_generalist(scenario, cfg, seed, folder)
        elif phase == "transfer":
            phase_transfer(scenario, cfg, seed, folder, root / "pretrain", load_distances(root / "similarity"), targets)
        else:
            phase_evaluate(scenario, cfg, seed, folder, root / "pretrain", tl_seed)
        seconds[phase] = time.perf_counter() - t0
        _mark_done(folder, seconds[phase])
        if progress is not None:
            progress(phase)
    return seconds


def run_task(task: str, **kwargs: Any) -> Any:
    """One executor task of :func:`reproduce`: ``"phases"`` (:func:`run_seed`) or ``"transfer"``
    (:func:`run_transfer_targets`), so that one ``map`` can mix both."""
    if task == "phases":
        return run_seed(**kwargs)
    if task == "transfer":
        return run_transfer_targets(**kwargs)
    raise ValueError(f"task must be 'phases' or 'transfer', got {task!r}")


# ---- the whole study ------------------------------------------------------------------------------


def reproduce(scenario: Scenario, cfg: ReproduceConfig, out: str | Path, executor: Any = None,
              resume: bool = False, progress: bool = True, tensorboard: str | Path | None = None) -> dict[str, Any]:
    """Run every seed's phases through ``executor`` (default: a local process pool), then aggregate
    into ``out`` (results.json, results.csv, report.md, figures/, config.toml)."""
    return reproduce_many([(scenario, cfg, out)], executor, resume=resume, progress=progress,
                          tensorboard=tensorboard)[0]


def _prepare_run(scenario: Scenario, cfg: ReproduceConfig, out: Path, resume: bool) -> None:
    """Check a (locked) run directory against its settings (before any task runs) and mark it."""
    marker = out / "reproduce.json"
    if marker.exists() and not resume:
        raise FileExistsError(f"{out} already holds a reproduce run; pass --resume to continue it or choose another --out")
    if resume and marker.exists():
        saved = json.loads(marker.read_text())
        # the saved configuration read as this version reads it: fields added since default to
        # what the run did (config_from_dict), so a run of an earlier version still resumes
        same_cfg = json.loads(json.dumps(config_from_dict(saved["config"]).to_dict())) == json.loads(json.dumps(cfg.to_dict()))
        if saved["scenario"] != scenario.to_dict() or not same_cfg:
            raise ValueError(f"{out} was started with another scenario or configuration; resume with the same ones")
    else:
        write_json(marker, {"scenario": scenario.to_dict(), "config": cfg.to_dict()})
    write_text(out / "config.toml", config_toml(scenario, cfg))


def _with_earlier_sessions(out: Path, wall: float, memory: dict[str, float]) -> tuple[float, dict[str, float]]:
    """A resumed run's wall time and peak memory over all its sessions: this session's added to (wall)
    or combined with (peaks) those its earlier ``results.json`` recorded."""
    try:
        earlier = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return wall, memory
    before = earlier.get("peak_memory") or {}
    return (wall + float(earlier.get("wall_seconds") or 0.0),
            {k: max(v, float(before.get(k, 0.0))) for k, v in memory.items()} if memory else before)


def reproduce_many(runs: Sequence[tuple[Scenario, ReproduceConfig, str | Path]], executor: Any = None,
                   resume: bool = False, progress: bool = True,
                   tensorboard: str | Path | None = None) -> list[dict[str, Any]]:
    """Several studies (e.g. the points of a sweep) as one set of tasks: their stages run together
    through ``executor``, so the workers stay busy across studies; then each is aggregated in its
    own directory. Every directory is locked (:class:`pyslice.base.runlock.RunLock`) and checked before
    any task runs. Returns each study's results."""


    # absolute: tasks may run in another working directory (Ray workers, other nodes)
    runs = [(scenario, cfg, Path(out).resolve()) for scenario, cfg, out in runs]
    if len({out for _, _, out in runs}) != len(runs):
        raise ValueError("every study needs its own output directory")
    for scenario, cfg, _ in runs:
        n_cells = scenario.n_cells
        if not isinstance(cfg.targets, str) and cfg.targets is not None and max(cfg.targets) >= n_cells:
            raise ValueError(f"targets must be cells in [0, {n_cells - 1}] of the scenario, got {list(cfg.targets)}")
    with ExitStack() as locks:  # one writer per run directory (the driver; tasks write their units)
        for scenario, cfg, out in runs:
            locks.enter_context(RunLock(out))
        for scenario, cfg, out in runs:
            _prepare_run(scenario, cfg, out, resume)
        return _run_studies(runs, executor, progress, tensorboard)


def _run_studies(runs: list[tuple[Scenario, ReproduceConfig, Path]], executor: Any, progress: bool,
                 tensorboard: str | Path | None) -> list[dict[str, Any]]:


    executor = executor or LocalExecutor()
    workers = getattr(executor, "workers", 1)
    stop = threading.Event()

    plans = []
    for scenario, cfg, out in runs:
        targets = study_targets(scenario, cfg)
        n_batches = len(_target_chunks(targets, cfg.seeds, workers))
        per_seed = {p: phase_steps(cfg, p) * (n_batches if p == "transfer" else 1) for p in PHASES}
        common = {"scenario_dict": scenario.to_dict(), "cfg_dict": cfg.to_dict(), "out": str(out)}
        plans.append((cfg, out, targets, per_seed, common))
    total = sum(cfg.seeds * sum(per_seed.values()) for cfg, _, _, per_seed, _ in plans)

    def count() -> int:
        """Steps done: finished phases in full, running ones from their progress files."""
        done = 0
        for cfg, out, _, per_seed, _ in plans:
            for s in range(cfg.seeds):
                for p in PHASES:
                    folder = out / f"seed{s}" / p
                    if _done(folder):
                        done += per_seed[p]
                        continue
                    for f in folder.glob(PROGRESS + "*"):
                        try:
                            done += min(int(f.read_text().split()[0]), per_seed[p])
                        except (OSError, ValueError, IndexError):
                            pass
        return min(done, total)

    def poll(bar: Any) -> None:
        while not stop.wait(1.0):
            bar.n = count()
            bar.refresh()

    start = time.perf_counter()
    with tqdm(total=total, initial=count(), desc="reproduce", unit="step", disable=not progress) as bar, \
            PeakMemory() as peak:
        watcher = threading.Thread(target=poll, args=(bar,), daemon=True)
        watcher.start()
        try:
            # Two stages of independent tasks, longest first so that the short ones fill the gaps:
            # per seed pretraining, the baseline and the similarity analysis (independent of each
            # other); then per (seed, target batch) transfer and per seed evaluation (both need
            # only the seed's pretraining, and the transfer its similarity).
            # (pretraining runs the baseline as a follower of its world: one task)
            executor.map(run_task, [{**common, "task": "phases", "seed": s, "phases": p}
                                    for p in (("pretrain", "baseline"), ("generalist",), ("similarity",))
                                    for cfg, _, _, _, common in plans for s in range(cfg.seeds)])
            transfer_tasks, evaluate_tasks, owners = [], [], []
            for cfg, out, targets, _, common in plans:
                pending = [s for s in range(cfg.seeds) if not _resumable(out / f"seed{s}" / "transfer")]
                chunks = _target_chunks(targets, len(pending), workers)
                for s in pending:
                    owners.append((out, s, len(transfer_tasks), len(chunks)))
                    transfer_tasks += [{**common, "task": "transfer", "seed": s, "targets": c} for c in chunks]
                evaluate_tasks += [{**common, "task": "phases", "seed": s, "phases": ("evaluate",)}
                                   for s in range(cfg.seeds)]
            spent = executor.map(run_task, transfer_tasks + evaluate_tasks)
            for out, s, first, n in owners:
                _mark_done(out / f"seed{s}" / "transfer", float(sum(spent[first:first + n])))
        finally:
            stop.set()
            watcher.join()
            bar.n = count()
            bar.refresh()
    wall = time.perf_counter() - start

    results = [aggregate(scenario, cfg, out, None, *_with_earlier_sessions(out, wall, peak.as_dict()))
               for scenario, cfg, out in runs]
    if tensorboard is not None:

        for (scenario, cfg, out), res in zip(runs, results):
            log_study(Path(tensorboard) / out.name if len(runs) > 1 else Path(tensorboard), out, res)
    return results
