"""Inter-agent transfer learning (paper §IV-C): :func:`transfer` applies one strategy of
:data:`STRATEGIES` (``model``, ``feature``, ``instance``, the paper's ``integrated``, or ``none``) to one
agent of a :class:`BatchedTD3` and its :class:`ReplayBuffers`, from a source agent; the agent is
treated as newly deployed and only it changes. :class:`TransferResult` holds an experiment's curves
and their files. The experiment itself (a pretrained run, one cell replaced, TL from each source
against DRL from scratch, batched) is :mod:`pyslice.study.transfer_runs`. What each strategy loads,
freezes and keeps, and every choice of the experiment, is stated in docs/transfer.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from pyslice.base.atomic import write_json, write_npz
from pyslice.envs.relabel import relabel_instances
from pyslice.learn.replay import ReplayBuffers
from pyslice.learn.td3 import BatchedTD3

__all__ = [
    "STRATEGIES",
    "TransferReport",
    "TransferResult",
    "check_index",
    "feature_layer_indices",
    "transfer",
]

STRATEGIES = ("model", "feature", "instance", "integrated", "none")
"""Transfer strategies accepted by :func:`transfer` (see the module docstring)."""

_PARTS = ("actor", "critic")
RESULT_JSON = "transfer.json"
RESULT_NPZ = "transfer.npz"


# ------------------------------------------------------------------------------------------------
# 1. One transfer on batched agents
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransferReport:
    """What :func:`transfer` did."""

    strategy: str
    source: int | None
    target: int
    n_instances: int
    """Transitions put into the target's buffer (0 for model, feature and none)."""
    frozen: dict[str, list[int]]
    """The target's frozen layers per part after the transfer."""


def check_index(name: str, value: Any, n: int, what: str) -> int:
    """``value`` as an index in [0, ``n``) of ``what``; ValueError naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int index, got {value!r}")
    if not 0 <= int(value) < n:
        raise ValueError(f"{name} {value} out of range [0, {n}) of {what}")
    return int(value)


def transfer(
    agent: BatchedTD3,
    replay: ReplayBuffers | None,
    source: int | None,
    target: int,
    strategy: str,
    *,
    source_agent: BatchedTD3 | None = None,
    source_replay: ReplayBuffers | None = None,
    feature_layers: Sequence[int] = (0,),
    n_instances: int | None = None,
    fresh_from: tuple[BatchedTD3, int] | None = None,
    relabel: tuple[Any, Any, str] | None = None,
) -> TransferReport:
    """Make agent ``target`` of ``agent`` a newly deployed agent initialised by ``strategy``.

    Args:
        agent, replay: the agents and their buffers; only index ``target`` changes. ``replay`` may be
            None for ``model``/``feature``/``none`` (then no buffer is touched).
        source: the source agent's index in ``source_agent``/``source_replay`` (ignored, may be None,
            for ``"none"``).
        target: the index of the agent (and buffer) to initialise.
        strategy: one of :data:`STRATEGIES` (module docstring).
        source_agent, source_replay: the models holding the source (e.g. a pretrained run); default
            ``agent`` and ``replay``. Network and observation/action sizes must match.
        feature_layers: layers loaded and frozen by ``"feature"`` (default: the first hidden layer),
            in both the actor and the critics.
        n_instances: transitions moved by ``"instance"``/``"integrated"``: the most recent
            ``n_instances`` of the source (None: all it holds; more than it holds: all).
        fresh_from: ``(model, index)`` whose weights are the target's "fresh random networks"
            instead of ``agent.reset_agent(target)``.
        relabel: ``(φ* [N], d* [N], observation mode)`` of the target: the moved instances' rewards
            and φ/φ* features are recomputed under these requirements (:func:`pyslice.envs.relabel.
            relabel_instances`; the source buffer must keep KPIs). None: moved as stored (the paper).

    Raises:
        ValueError: unknown strategy, index out of range, ``source == target`` within the same
            model/buffer, missing buffers, mismatched sizes, bad ``feature_layers`` / ``n_instances``
            or a relabel the source's buffer cannot serve — always before anything changes.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown transfer strategy {strategy!r}; expected one of {STRATEGIES}")
    if not isinstance(agent, BatchedTD3):
        raise ValueError(f"agent must be a BatchedTD3, got {type(agent).__name__}")
    target = check_index("target", target, agent.n_agents, "the target model's agents")
    uses_model = strategy in ("model", "feature", "integrated")
    uses_instances = strategy in ("instance", "integrated")
    src_agent = agent if source_agent is None else source_agent
    src_replay = replay if source_replay is None else source_replay

    if replay is not None:
        if not isinstance(replay, ReplayBuffers):
            raise ValueError(f"replay must be ReplayBuffers or None, got {type(replay).__name__}")
        check_index("target", target, replay.n_agents, "the target replay buffers")
        if (replay.obs_dim, replay.act_dim) != (agent.obs_dim, agent.act_dim):
            raise ValueError("replay buffers and agent have different observation/action sizes")
    if uses_instances and replay is None:
        raise ValueError(f"strategy {strategy!r} needs the target's replay buffers (replay is None)")
    if uses_instances and source_agent is not None and source_agent is not agent and source_replay is None:
        raise ValueError(f"strategy {strategy!r} with source_agent also needs source_replay (its buffers)")

    if strategy != "none":
        source = _check_source(agent, replay, src_agent, src_replay, source, target, uses_model, uses_instances,
                               n_instances)
    if strategy == "feature":
        layers = feature_layer_indices(agent, feature_layers)
    if fresh_from is not None:
        fresh_from = _check_fresh_from(agent, fresh_from)
    # Everything is valid: read the source's instances first (the source buffer may be `replay`).
    data = None
    if uses_instances:
        data = src_replay.agent_data(source)
        if n_instances is not None:
            data = {key: value[len(value) - min(int(n_instances), len(value)):] for key, value in data.items()}
        if relabel is not None:
            data = relabel_instances(data, *relabel)

    _deploy(agent, target, strategy, source, src_agent, fresh_from, layers if strategy == "feature" else ())
    # 3. instance transfer (a new cell has no experience of its own)
    if replay is not None:
        replay.reset_agent(target)
        if data is not None and len(data["rew"]):
            replay.add_agent(target, data["obs"], data["act"], data["rew"], data["next_obs"],
                             data.get("kpi") if replay.kpi_dim else None)
    return TransferReport(strategy=strategy, source=None if strategy == "none" else int(source), target=target,
                          n_instances=0 if data is None else len(data["rew"]), frozen=agent.frozen_layers(target))


def _check_source(agent: BatchedTD3, replay: ReplayBuffers | None, src_agent: Any, src_replay: Any, source: Any,
                  target: int, uses_model: bool, uses_instances: bool, n_instances: Any) -> int:
    """The source index, checked against the models and buffers the strategy reads (ValueError)."""
    if uses_model:
        if not isinstance(src_agent, BatchedTD3):
            raise ValueError(f"source_agent must be a BatchedTD3, got {type(src_agent).__name__}")
        source = check_index("source", source, src_agent.n_agents, "the source model's agents")
        if any(src_agent.layouts[p].sizes != agent.layouts[p].sizes for p in _PARTS):
            raise ValueError("source model has different network sizes than the target model")
        if src_agent is agent and source == target:
            raise ValueError(f"source and target are the same agent ({source}) of the same model")
    if uses_instances:
        if not isinstance(src_replay, ReplayBuffers):
            raise ValueError(f"source_replay must be ReplayBuffers, got {type(src_replay).__name__}")
        source = check_index("source", source, src_replay.n_agents, "the source replay buffers")
        if (src_replay.obs_dim, src_replay.act_dim) != (replay.obs_dim, replay.act_dim):
            raise ValueError("source replay buffers have different observation/action sizes")
        if src_replay is replay and source == target:
            raise ValueError(f"source and target are the same buffer ({source})")
    if n_instances is not None and (isinstance(n_instances, bool) or not isinstance(n_instances, (int, np.integer))
                                    or n_instances < 0):
        raise ValueError(f"n_instances must be None or an int >= 0, got {n_instances!r}")
    return source


def _check_fresh_from(agent: BatchedTD3, fresh_from: tuple[BatchedTD3, int]) -> tuple[BatchedTD3, int]:
    """``(model, index)`` of the template networks, checked against the target model."""
    f_model, f_index = fresh_from
    if not isinstance(f_model, BatchedTD3):
        raise ValueError(f"fresh_from[0] must be a BatchedTD3, got {type(f_model).__name__}")
    f_index = check_index("fresh_from index", f_index, f_model.n_agents, "the fresh_from model")
    if any(f_model.layouts[p].sizes != agent.layouts[p].sizes for p in _PARTS):
        raise ValueError("fresh_from model has different network sizes than the target model")
    return f_model, f_index


def _deploy(agent: BatchedTD3, target: int, strategy: str, source: int | None, src_agent: BatchedTD3,
            fresh_from: tuple[BatchedTD3, int] | None, layers: Sequence[int]) -> None:
    """Agent ``target`` as a newly deployed one, then the strategy's policy transfer."""
    # 1. a newly deployed agent: fresh networks, fresh Adam state, nothing frozen
    if strategy == "model" or strategy == "integrated":
        agent.reset_agent(target)  # clears Adam state and freeze masks; every weight is then loaded
    elif fresh_from is None:
        agent.reset_agent(target)
    else:
        f_model, f_index = fresh_from
        agent.copy_agent(f_index, target, fresh_optimizer=True, source=f_model)
        agent.freeze_layers(target, range(agent.layouts["actor"].n_layers), "actor", frozen=False)
        agent.freeze_layers(target, range(agent.layouts["critic"].n_layers), "critic", frozen=False)
    # 2. policy transfer
    if strategy in ("model", "integrated"):
        agent.copy_agent(source, target, fresh_optimizer=True, source=src_agent)
    elif strategy == "feature":
        agent.copy_agent(source, target, fresh_optimizer=True, layers=layers, source=src_agent)
        agent.freeze_layers(target, layers)
        with torch.no_grad():  # one value per frozen layer: target copy = loaded online weights
            for online, target_net, part in ((agent.actor, agent.actor_target, "actor"),
                                             (agent.critic, agent.critic_target, "critic")):
                for l in layers:
                    sl = agent.layouts[part].layer_slices[l]
                    target_net[target, ..., sl] = online.detach()[target, ..., sl]


def feature_layer_indices(agent: BatchedTD3, layers: Sequence[int]) -> list[int]:
    """``layers`` as sorted unique indices of the actor's and critics' layers (ValueError otherwise)."""
    try:
        layers = [int(l) for l in layers]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"feature_layers must be a sequence of layer indices, got {layers!r}") from exc
    n = min(agent.layouts[p].n_layers for p in _PARTS)
    if not layers or any(not 0 <= l < n for l in layers):
        raise ValueError(f"feature_layers must be a non-empty subset of 0..{n - 1} (0 = first hidden layer), "
                         f"got {layers}")
    return sorted(set(layers))


# ------------------------------------------------------------------------------------------------
# 2. The transfer experiment
# ------------------------------------------------------------------------------------------------
@dataclass
class TransferResult:
    """Curves and summary of :func:`run_transfer`.

    Per-step arrays have one row per replica — the TL runs in the order of ``sources``, then the
    scratch run if ``include_scratch`` — and ``steps + eval_steps`` columns (step t is the t-th
    action of the new agent; columns ``steps:`` are the greedy evaluation).
    """

    run_dir: str
    target: int
    sources: list[int]
    strategy: str
    steps: int
    eval_steps: int
    seed: int
    include_scratch: bool
    scratch_exploration_steps: int
    feature_layers: list[int]
    n_instances: list[int]
    """Transitions transferred into each TL learner's buffer."""
    distance: np.ndarray | None
    """Distance of each source to the target (aligned with ``sources``), if given."""
    target_reward: np.ndarray
    """[R, T] reward (paper eq. 2) of the target cell."""
    network_reward: np.ndarray
    """[R, T] mean reward over all K cells."""
    throughput_satisfaction: np.ndarray
    """[R, T] the target's minimum per-slice throughput satisfaction (paper Fig. 5 quantity)."""
    max_delay_ms: np.ndarray
    """[R, T] the target's maximum per-slice mean delay in ms (paper Fig. 6 quantity)."""
    wall_seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)
    drop_rate: np.ndarray | None = None
    """[R, T, N] share of each of the target's slices' offered traffic that was dropped (None in
    results saved before drops were recorded)."""
    instance_rewards: str = "source"
    """Whose requirements the transferred instances' rewards use (``run_transfer``)."""
    extra: list[str] = field(default_factory=list)
    """Labels of the rows after the scratch run (the generalist's learners, when the spec had one)."""

    # -- views ------------------------------------------------------------------------------------
    @property
    def reward(self) -> np.ndarray:
        """[S, T] target-cell reward of the TL runs (one row per source)."""
        return self.target_reward[: len(self.sources)]

    @property
    def scratch_reward(self) -> np.ndarray | None:
        """[T] target-cell reward of the DRL-from-scratch run (None without one)."""
        return self.target_reward[self.row("scratch")] if self.include_scratch else None

    @property
    def labels(self) -> list[str]:
        return [f"source {s}" for s in self.sources] + (["scratch"] if self.include_scratch else []) + list(self.extra)

    def row(self, label: str) -> int:
        """The row of the learner labelled ``label`` (:attr:`labels`)."""
        if label not in self.labels:
            raise ValueError(f"no learner {label!r} in this result; it has {self.labels}")
        return self.labels.index(label)

    def _window(self, window: int | tuple[int, int]) -> slice:
        a, b = (0, window) if np.isscalar(window) else window
        a, b = int(a), int(b)
        T = self.target_reward.shape[1]
        if not 0 <= a < b <= T:
            raise ValueError(f"window must lie in [0, {T}] with start < end, got {window!r}")
        return slice(a, b)

    def mean_reward(self, window: int | tuple[int, int]) -> np.ndarray:
        """[R] mean target reward of every replica over ``window`` (first ``window`` steps, or the
        steps ``[a, b)``)."""
        return self.target_reward[:, self._window(window)].mean(axis=1)

    def gain_over_scratch(self, window: int | tuple[int, int] = 200) -> np.ndarray:
        """[S] relative TL gain over DRL from scratch in ``window`` (paper Fig. 8):
        mean TL reward / mean scratch reward − 1 over the same steps."""
        if not self.include_scratch:
            raise ValueError("no scratch run in this result (include_scratch=False)")
        m = self.mean_reward(window)
        return m[: len(self.sources)] / m[self.row("scratch")] - 1.0

    def best_source(self, window: int | tuple[int, int] = 200) -> int:
        """The source whose TL run has the highest mean target reward in ``window``."""
        if not self.sources:
            raise ValueError("no sources in this result")
        return self.sources[int(np.argmax(self.mean_reward(window)[: len(self.sources)]))]

    def eval_metrics(self) -> list[dict[str, Any]]:
        """Per replica: greedy-evaluation statistics of the target cell (and the network mean)."""
        ev = slice(self.steps, self.steps + self.eval_steps)
        out = []
        for r, label in enumerate(self.labels):
            if self.eval_steps == 0:
                out.append({"label": label})
                continue
            rew = self.target_reward[r, ev]
            out.append({
                "label": label,
                "mean_reward": float(rew.mean()),
                "share_reward_below_0.95": float((rew < 0.95).mean()),
                "mean_min_throughput_satisfaction": float(self.throughput_satisfaction[r, ev].mean()),
                "mean_max_slice_delay_ms": float(self.max_delay_ms[r, ev].mean()),
                "network_mean_reward": float(self.network_reward[r, ev].mean()),
            })
        return out

    # -- files ------------------------------------------------------------------------------------
    _ARRAYS = ("target_reward", "network_reward", "throughput_satisfaction", "max_delay_ms")

    def summary(self) -> dict[str, Any]:
        """JSON-ready metadata, evaluation metrics and windowed means."""
        T = self.steps
        windows = {"first_200": (0, min(200, T))} if T else {}
        if T >= 400:
            windows["last_200_training"] = (T - 200, T)
        out: dict[str, Any] = {
            "run_dir": self.run_dir, "target": self.target, "sources": list(self.sources),
            "strategy": self.strategy, "steps": self.steps, "eval_steps": self.eval_steps, "seed": self.seed,
            "include_scratch": self.include_scratch, "scratch_exploration_steps": self.scratch_exploration_steps,
            "feature_layers": list(self.feature_layers), "n_instances": list(self.n_instances),
            "instance_rewards": self.instance_rewards, "extra": list(self.extra),
            "distance": None if self.distance is None else [float(d) for d in self.distance],
            "labels": self.labels, "wall_seconds": self.wall_seconds, "timing": dict(self.timing),
            "eval": self.eval_metrics(),
            "mean_reward": {name: [float(v) for v in self.mean_reward(w)] for name, w in windows.items()},
        }
        if self.include_scratch and self.sources:
            out["gain_over_scratch"] = {name: [float(v) for v in self.gain_over_scratch(w)]
                                        for name, w in windows.items()}
        return out

    def save(self, out_dir: str | Path) -> Path:
        """Write ``transfer.npz`` (curves) then ``transfer.json`` (summary), each atomically."""
        out = Path(out_dir)
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        if self.distance is not None:
            arrays["distance"] = self.distance
        if self.drop_rate is not None:
            arrays["drop_rate"] = self.drop_rate
        write_npz(out / RESULT_NPZ, **arrays)
        write_json(out / RESULT_JSON, self.summary())
        return out

    @classmethod
    def load(cls, out_dir: str | Path) -> TransferResult:
        """Read a result written by :meth:`save`."""
        out = Path(out_dir)
        meta = json.loads((out / RESULT_JSON).read_text())
        with np.load(out / RESULT_NPZ, allow_pickle=False) as z:
            arrays = {name: z[name] for name in cls._ARRAYS}
            distance = z["distance"] if "distance" in z.files else None
            drops = z["drop_rate"] if "drop_rate" in z.files else None
        keys = ("run_dir", "target", "sources", "strategy", "steps", "eval_steps", "seed", "include_scratch",
                "scratch_exploration_steps", "feature_layers", "n_instances", "wall_seconds", "timing")
        return cls(distance=distance, drop_rate=drops, instance_rewards=meta.get("instance_rewards", "source"),
                   extra=list(meta.get("extra", [])),
                   **{k: meta[k] for k in keys}, **arrays)
