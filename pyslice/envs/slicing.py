"""Multi-agent slicing environment over the simulator (paper §II and §IV-A; docs/model.md §6-7).

One agent per cell k. Its action a_k ∈ R^N is the PRB share of each slice, on the simplex (paper
eq. 1). Its reward is paper eq. 2, r_k = min_n min(φ[k,n]/φ*[k,n], d*[k,n]/d[k,n], 1), computed by
:func:`pyslice.sim.satisfaction.reward` (a slice with no active users counts as satisfied).

State and observation
---------------------
s_k = [s'_k, c_k] with s'_k = [φ[k,·], l[k,·], u[k,·]] (3N) and c_k the mean over the neighbours
i ∈ K_k of l[i,·] (paper eq. 5): 4N values (16 for N = 4) laid out in four blocks of N, one entry per
slice in each block::

    obs[k] = [ throughput[0..N) | load[0..N) | users[0..N) | coordination[0..N) ]

normalised (float32) by ``observation`` (:data:`OBSERVATIONS`):

``"log"`` (nothing saturates in normal operation)
    * throughput: log2(1 + φ[k,n] / φ*[k,n]) — 1 at the requirement, 0 for nothing, growing slowly
      above (a slice at 10× its requirement gives 3.46), so every requirement group stays visible;
    * load: log2(1 + l[k,n]), l = x the PRB share the slice needs (may exceed its share);
    * users: u[k,n] / max(max_ues_per_slice, 1), clipped to [0, 4] (handovers can bring more UEs than
      the group size into a cell; the clip is never reached in the paper scenario);
    * coordination: log2(1 + c_k), c_k eq. 5's mean of the neighbours' raw loads.
``"clipped"`` (default)
    φ/φ* clipped to [0, 2], l clipped to [0, 2], users as above, and the mean of the neighbours'
    clipped loads. In the paper scenario φ/φ* sits at the clip for slices 2-4 in 72-100 % of
    default-action samples, which erases the requirement-dependent features from the similarity
    analysis. It stays the default because the TD3 agents learn more stably on it: over 6 seeds, 0
    collapse windows against 3-156 in 4 of 6 seeds with ``"log"``, for the same final reward
    (docs/learning.md).

Two state ablations, each ``"clipped"`` with one change (docs/fidelity.md reports what they do):

``"used-prb"``
    the load block (own and neighbours') is the PRB share a slice *used*, min(x, a), the counter a base
    station reports (3GPP TS 36.314 PRB usage), instead of the share x it *needed*, which a real cell
    cannot observe once x exceeds its share a.
``"raw-throughput"``
    the throughput block is φ over one scenario-wide constant, the largest requirement φ*_max of any
    cell and slice (same clip), instead of over the cell's own φ*: the state no longer tells the agent
    its requirements.

``SlicingEnv.observation_low/high`` are the Box bounds of the standard wrappers (+inf where a
feature is unbounded). ``info`` keeps the raw values (bit/s, s, counts); ``info["coordination"]``
is eq. 5 on the raw loads.

Neighbours K_k are the ``n_neighbours`` cells with the highest mean interference coupling into k
(:mod:`pyslice.envs.neighbours`). ``n_neighbours`` is clipped to K − 1; ``n_neighbours = 0`` gives
c_k = 0 (no coordination) while keeping the 4N layout.

Reset convention
----------------
``reset`` restarts the simulator and runs **one warm-up step with equal shares**; the returned
observation is the state after that step, so the first action is taken on a real network state (time
index 1), and the warm-up step's info is in ``last_info``. Its reward is not returned.

Replicas and seeds
------------------
``replicas = 1``: obs [K, 4N], actions [K, N], reward [K], info arrays [K, N] (cell_load [K], mask
[N]). ``replicas = R > 1``: a leading replica axis everywhere ([R, K, 4N], [R, K, N], [R, K], ...).
Replica r runs the simulator with seed ``seed + r``, so replica r equals a one-replica env with seed
``seed + r``. ``reset()`` without a seed replays the same seeds (same run), as ``Simulator.reset``.
The replicas are stepped together on ``threads`` C++ threads (:class:`pyslice.SimulatorBatch`).

Standard wrappers
-----------------
:meth:`SlicingEnv.parallel_env` (PettingZoo ``ParallelEnv``) and :meth:`SlicingEnv.single_cell_env`
(Gymnasium ``Env``), defined in :mod:`pyslice.envs.adapters`, use Box action spaces [0, 1]^N. An action in the Box is mapped onto the simplex by
:func:`box_to_simplex`: a ← a / Σa, and a ← 1/N (equal shares) when Σa < 1e-12. Actions outside the
Box, of the wrong shape or not finite raise ValueError. Episodes are truncated after ``max_steps``
agent steps (default 1000); they never terminate. ``reset(seed=s)`` starts the simulator with seed
``s``; the first ``reset()`` without a seed uses the constructor's ``seed``, later ones draw a fresh
seed from the wrapper's generator (Gymnasium semantics: ``reset(seed=s)`` then ``reset()`` is
reproducible).
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

from pyslice.base.validation import check_int
from pyslice.envs.neighbours import coupling_matrix, neighbours_from_coupling
from pyslice.sim.satisfaction import satisfaction_terms
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import BATCH_FIELDS, BUILTIN_POLICIES, SimulatorBatch, _check_seed, validate_shares

__all__ = [
    "BUILTIN_POLICIES",
    "OBS_CLIP",
    "OBSERVATIONS",
    "Requirements",
    "STANDARD_WRAPPERS",
    "SlicingEnv",
    "box_to_simplex",
    "observation",
    "throughput_feature",
]

#: The standard wrappers the factories :meth:`SlicingEnv.parallel_env` and :meth:`SlicingEnv.single_cell_env`
#: build ("parallel": PettingZoo, "single_cell": Gymnasium). :mod:`pyslice.envs.adapters` defines them
#: beside this module and registers them here when imported (``pyslice.envs`` imports it), so the env
#: does not import its wrappers.
STANDARD_WRAPPERS: dict[str, type] = {}

#: Upper clip of each observation block (throughput/φ*, load, users/G, coordination) of the
#: ``"clipped"`` observation; lower bound 0.
OBS_CLIP = (2.0, 2.0, 4.0, 2.0)
#: Upper bound of each block of the ``"log"`` observation (users keep their clip).
OBS_LOG_HIGH = (np.inf, np.inf, OBS_CLIP[2], np.inf)
OBSERVATIONS = ("log", "clipped", "used-prb", "raw-throughput")
#: The normalisation each observation mode uses (the two ablations are ``"clipped"`` with one change).
_SCALING = {"log": "log", "clipped": "clipped", "used-prb": "clipped", "raw-throughput": "clipped"}
ZERO_SUM = 1e-12
INFO_FIELDS = BATCH_FIELDS  # the simulator's outputs every info holds (besides the env's own)


class Requirements(NamedTuple):
    """Per-cell service requirements: φ* (bit/s) and d* (s), each float64 [K, N]."""

    throughput_bps: np.ndarray
    delay_s: np.ndarray


def observation(throughput: np.ndarray, load: np.ndarray, users: np.ndarray, req_throughput: np.ndarray,
                max_ues_per_slice: int, neighbours: np.ndarray, mode: str = "clipped") -> np.ndarray:
    """Normalised state [..., K, 4N] (float32) from raw KPIs [..., K, N] (see the module docstring);
    the ablation modes get their changed inputs from :meth:`SlicingEnv._state_inputs` and scale as
    ``"clipped"``."""
    tput = throughput_feature(throughput, req_throughput, mode)
    load = np.maximum(np.asarray(load, dtype=float), 0.0)
    users = np.clip(np.asarray(users, dtype=float) / max(int(max_ues_per_slice), 1), 0.0, OBS_CLIP[2])
    if _SCALING[mode] == "log":
        blocks = [tput, np.log2(1.0 + load), users, np.log2(1.0 + _neighbour_mean(load, neighbours))]
    else:
        load = np.minimum(load, OBS_CLIP[1])
        blocks = [tput, load, users, np.minimum(_neighbour_mean(load, neighbours), OBS_CLIP[3])]
    return np.concatenate(blocks, axis=-1).astype(np.float32)


def throughput_feature(throughput: np.ndarray, req_throughput: np.ndarray, mode: str = "clipped") -> np.ndarray:
    """The observation's first block, the only requirement-dependent one: φ/φ* normalised by ``mode``
    (float64, same shape as ``throughput``)."""
    if mode not in OBSERVATIONS:
        raise ValueError(f"observation must be one of {', '.join(map(repr, OBSERVATIONS))}, got {mode!r}")
    ratio = np.maximum(np.asarray(throughput, dtype=float) / req_throughput, 0.0)
    return np.log2(1.0 + ratio) if _SCALING[mode] == "log" else np.minimum(ratio, OBS_CLIP[0])


def _neighbour_mean(values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Mean over each cell's neighbours of ``values`` [..., K, N] (zeros without neighbours)."""
    if neighbours.shape[1] == 0:
        return np.zeros_like(values)
    return values[..., neighbours, :].mean(axis=-2)


def box_to_simplex(actions: object, name: str = "actions") -> np.ndarray:
    """Map actions [..., N] in the Box [0, 1]^N onto the simplex (float64): a / Σa, equal shares if
    Σa < 1e-12. Raises ValueError naming ``name`` for non-finite or out-of-Box entries."""
    try:
        a = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers, got {type(actions).__name__}") from exc
    if a.ndim < 1 or a.shape[-1] < 1:
        raise ValueError(f"{name} must have a last axis of N >= 1 slices, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if np.any(a < 0.0) or np.any(a > 1.0):
        raise ValueError(f"{name} must lie in the Box [0, 1] (found values in [{a.min():.6g}, {a.max():.6g}])")
    total = a.sum(axis=-1, keepdims=True)
    small = total < ZERO_SUM
    return np.where(small, 1.0 / a.shape[-1], a / np.where(small, 1.0, total))




class _Factory:
    """A constructor usable on the class (``SlicingEnv.parallel_env(scenario, ...)``) and on an
    instance (``env.parallel_env(...)``: a *new* environment with the instance's scenario, seed and
    neighbour count unless given)."""

    INHERITED = ("scenario", "seed", "n_neighbours", "observation")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.signature = inspect.signature(func)
        functools.update_wrapper(self, func)

    def __get__(self, obj: SlicingEnv | None, objtype: type | None = None) -> Callable[..., Any]:
        if obj is None:
            return self.func

        @functools.wraps(self.func)
        def bound(*args: Any, **kw: Any) -> Any:
            given = self.signature.bind_partial(*args, **kw).arguments
            for name in self.INHERITED:
                if name not in given:
                    kw[name] = getattr(obj, name)
            return self.func(*args, **kw)

        return bound


class SlicingEnv:
    """Batched multi-agent slicing environment (array API; see the module docstring).

    >>> env = SlicingEnv(Scenario.paper(), seed=0)
    >>> obs = env.reset()
    >>> obs.shape
    (12, 16)
    >>> obs, reward, info = env.step(np.full((12, 4), 0.25))
    >>> reward.shape, info["throughput"].shape
    ((12,), (12, 4))
    """

    def __init__(self, scenario: Scenario, seed: int = 0, replicas: int = 1, threads: int = 1,
                 n_neighbours: int = 6, same_seed: bool = False, observation: str = "clipped",
                 shared_world: bool = False) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {', '.join(map(repr, OBSERVATIONS))}, got {observation!r}")
        self.observation = observation
        self.scenario = scenario
        self.replicas = check_int("replicas", replicas, 1)
        if not isinstance(same_seed, bool):
            raise TypeError(f"same_seed must be a bool, got {type(same_seed).__name__}")
        self.same_seed = same_seed
        if not isinstance(shared_world, bool):
            raise TypeError(f"shared_world must be a bool, got {type(shared_world).__name__}")
        if shared_world and not same_seed and replicas > 1:
            raise ValueError("shared_world=True needs same_seed=True (the replicas share one world)")
        self.shared_world = shared_world
        self.threads = check_int("threads", threads, 1)
        self.seed = self._check_base_seed(seed)
        n_cells = scenario.n_cells
        self.n_agents = n_cells
        self.n_slices = scenario.n_slices
        self.obs_dim = 4 * self.n_slices
        self.n_neighbours = min(check_int("n_neighbours", n_neighbours, 0), n_cells - 1)
        self.coupling = coupling_matrix(scenario)
        self.neighbours = neighbours_from_coupling(self.coupling, self.n_neighbours)
        self.requirements = Requirements(*scenario.requirement_matrices())
        self.max_ues_per_slice = scenario.traffic.max_ues_per_slice
        self.observation_low = np.zeros(self.obs_dim, dtype=np.float32)
        high = OBS_LOG_HIGH if _SCALING[observation] == "log" else OBS_CLIP
        self.observation_high = np.repeat(np.asarray(high, dtype=np.float32), self.n_slices)
        self._sim = SimulatorBatch(scenario, self._seeds(self.seed), threads=self.threads,
                                   shared_world=shared_world)
        self._batch_shape = () if self.replicas == 1 else (self.replicas,)
        self.time = 0
        self.last_obs: np.ndarray | None = None
        self.last_info: dict[str, Any] | None = None

    # ---- properties -------------------------------------------------------------------------------

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Shape of ``actions``: (K, N), or (R, K, N) with replicas."""
        return (*self._batch_shape, self.n_agents, self.n_slices)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of an observation: (K, 4N), or (R, K, 4N) with replicas."""
        return (*self._batch_shape, self.n_agents, self.obs_dim)

    def __repr__(self) -> str:
        return (f"SlicingEnv(scenario={self.scenario.name!r}, seed={self.seed}, replicas={self.replicas}, "
                f"K={self.n_agents}, N={self.n_slices}, n_neighbours={self.n_neighbours})")

    # ---- array API ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None, *, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Restart every replica (replica r with seed ``seed + r``; ``None`` keeps the current seed)
        and run the warm-up step with equal shares; returns its observation.

        ``seeds`` (one per replica, not with ``seed``) restarts replica r with ``seeds[r]`` instead;
        ``self.seed`` is unchanged, so a later ``reset()`` replays ``seed + r``."""
        if seeds is not None:
            if seed is not None:
                raise ValueError("give seed or seeds, not both")
            self._sim.reset(seeds)  # checks one valid seed per replica before any change
        else:
            if seed is not None:
                self.seed = self._check_base_seed(seed)
            self._sim.reset(self._seeds(self.seed))
        self.time = 0
        equal = np.full((self.replicas, self.n_agents, self.n_slices), 1.0 / self.n_slices)
        obs, _, _ = self._finish(self._sim.step(equal))
        return obs

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Apply PRB shares ``actions`` [K, N] ([R, K, N] with replicas), rows on the simplex.

        Returns (obs, reward, info). Invalid actions raise ValueError (TypeError for non-numbers)
        naming ``actions``, before anything changes.
        """
        arr = validate_shares(actions, self.n_agents, self.n_slices, name="actions")
        if arr.shape != self.action_shape:
            raise ValueError(f"actions must have shape {self.action_shape}, got {arr.shape}")
        self._require_reset()
        # validated above: skip the batch's second Python-side check (the core still checks)
        return self._finish(self._sim._step_validated(arr.reshape(self.replicas, self.n_agents, self.n_slices)))

    def step_policy(self, name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Step with a built-in simulator policy ('equal', 'traffic-aware' with perfect knowledge of
        the current step's demand, 'max-min' reference); same returns as :meth:`step`."""
        if name not in BUILTIN_POLICIES:
            raise ValueError(f"name must be one of {', '.join(map(repr, BUILTIN_POLICIES))}, got {name!r}")
        self._require_reset()
        return self._finish(self._sim.step_policy(name))

    def step_mixed(self, policies: Sequence[str], actions: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Step with one policy per replica (:meth:`pyslice.sim.simulator.SimulatorBatch.step_mixed`):
        ``"given"`` replicas apply their row of ``actions`` [R, K, N], the others a built-in
        policy ('equal', 'traffic-aware', 'max-min'); same returns as :meth:`step`."""
        self._require_reset()
        if actions is not None:
            actions = np.reshape(validate_shares(actions, self.n_agents, self.n_slices, name="actions"),
                                 (self.replicas, self.n_agents, self.n_slices))
        return self._finish(self._sim.step_mixed(policies, actions))

    def close(self) -> None:
        """Nothing to release (present for symmetry with the standard interfaces)."""

    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue this env bit for bit (simulator replicas, time, last obs)."""
        return {"seed": self.seed, "time": self.time, "simulators": self._sim.get_state(),
                "last_obs": None if self.last_obs is None else np.array(self.last_obs),
                "last_info": None if self.last_info is None else dict(self.last_info)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot of an env of the same scenario and replica count."""
        missing = {"seed", "time", "simulators", "last_obs", "last_info"} - set(state)
        if missing:
            raise ValueError(f"env state is missing {sorted(missing)}")
        self._sim.set_state(state["simulators"])
        self.seed, self.time = int(state["seed"]), int(state["time"])
        self.last_obs = None if state["last_obs"] is None else np.array(state["last_obs"])
        self.last_info = None if state["last_info"] is None else dict(state["last_info"])

    def restart(self, seeds: Sequence[int | None]) -> None:
        """Restart the simulator of each replica r with ``seeds[r]`` (one entry per replica), and
        leave every replica whose entry is ``None`` exactly as it is (bit for bit).

        No warm-up step is run: the next :meth:`step` is a restarted replica's first step, and equal
        shares there reproduce :meth:`reset`. ``time``, ``last_obs`` and ``last_info`` are not
        changed. Restarting only some replicas snapshots and restores the others
        (:meth:`replica_states`), so it costs about a state copy of every replica; restarting all
        of them is a plain batch reset. Needs a reset env and independent replicas (no
        ``shared_world``).
        """
        self._require_reset()
        if isinstance(seeds, (str, bytes)) or len(seeds) != self.replicas:
            raise ValueError(f"seeds must hold {self.replicas} entries (one per replica, None keeps it), got {seeds!r}")
        new = [None if s is None else _check_seed(s, f"seeds[{r}]") for r, s in enumerate(seeds)]
        keep = [r for r, s in enumerate(new) if s is None]
        if len(keep) == self.replicas:
            return
        if not keep:
            self._sim.reset(new)
            return
        saved = self.replica_states()
        self._sim.reset([self._sim.seeds[r] if s is None else s for r, s in enumerate(new)])
        self.set_replica_states({r: saved[r] for r in keep})

    def replica_states(self) -> list[bytes]:
        """Each replica's complete simulator state (see :meth:`pyslice.Simulator.get_state`)."""
        if self.shared_world:
            raise ValueError("a shared_world env cannot save its replicas' states")
        return self._sim.get_state()

    def set_replica_states(self, states: dict[int, bytes]) -> None:
        """Restore the replicas named by the keys of ``states`` ({replica: bytes from
        :meth:`replica_states`}); the other replicas keep their state."""
        current = self.replica_states()
        for r, state in states.items():
            if not 0 <= r < self.replicas:
                raise ValueError(f"replica must be in [0, {self.replicas - 1}], got {r}")
            current[r] = state
        self._sim.set_state(current)

    # ---- internals ----------------------------------------------------------------------------------

    def _check_base_seed(self, seed: object) -> int:
        seed = _check_seed(seed)
        if seed + self.replicas - 1 >= 2**64:
            raise ValueError(f"seed must be < 2**64 - {self.replicas - 1} (replica r uses seed + r), got {seed}")
        return seed

    def _seeds(self, seed: int) -> list[int]:
        """Replica r runs seed + r, or ``seed`` for every replica with ``same_seed`` (paired
        replicas: identical UE drops, mobility and traffic, only the actions differ)."""
        return [seed] * self.replicas if self.same_seed else [seed + r for r in range(self.replicas)]

    def _require_reset(self) -> None:
        if self.last_obs is None:
            raise RuntimeError("call reset() before step()")

    def _finish(self, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        info = {name: np.array(out[name]) for name in INFO_FIELDS}  # copies: the batch reuses its buffers
        req_t, req_d = self.requirements
        t_term, d_term = satisfaction_terms(info["throughput"], info["delay"], info["users"], req_t, req_d)
        reward = np.minimum(t_term, d_term).min(axis=-1)  # paper eq. 2, from the terms computed once
        info["throughput_term"], info["delay_term"] = t_term, d_term
        info["coordination"] = _neighbour_mean(info["load"], self.neighbours)
        load, req = self._state_inputs(info)
        obs = observation(info["throughput"], load, info["users"], req, self.max_ues_per_slice, self.neighbours,
                          self.observation)
        self.time += 1
        if self.replicas == 1:
            obs, reward = obs[0], reward[0]
            info = {key: value[0] for key, value in info.items()}
            info["iterations"] = int(info["iterations"])
        info["time"] = self.time
        self.last_obs, self.last_info = obs, info
        return obs, reward, info

    def _state_inputs(self, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """The load and the throughput reference the state is built from: the needed shares and the
        cell's φ*, or the used shares (``"used-prb"``) or φ*_max everywhere (``"raw-throughput"``)."""
        load = np.minimum(info["load"], info["shares"]) if self.observation == "used-prb" else info["load"]
        req_t = self.requirements.throughput_bps
        if self.observation == "raw-throughput":
            req_t = np.full_like(req_t, req_t.max())
        return load, req_t

    # ---- standard interfaces --------------------------------------------------------------------------

    @_Factory
    def parallel_env(scenario: Scenario | None = None, seed: int = 0, *, n_neighbours: int = 6,
                     max_steps: int = 1000, observation: str = "clipped") -> ParallelEnv:
        """A PettingZoo ``ParallelEnv`` over a new one-replica env (paper scenario by default).

        Called on an instance, the new env takes the instance's scenario, seed and n_neighbours
        unless given.
        """
        return STANDARD_WRAPPERS["parallel"](scenario, seed=seed, n_neighbours=n_neighbours, max_steps=max_steps,
                                             observation=observation)

    @_Factory
    def single_cell_env(k: int, others: Any = "equal", scenario: Scenario | None = None, seed: int = 0, *,
                        n_neighbours: int = 6, max_steps: int = 1000, observation: str = "clipped") -> gymnasium.Env:
        """A Gymnasium ``Env`` for cell ``k``, the other cells driven by ``others`` (see
        :class:`pyslice.envs.adapters.SingleCellEnv`). Called on an instance, the new env takes the instance's scenario,
        seed and n_neighbours unless given."""
        return STANDARD_WRAPPERS["single_cell"](k, others=others, scenario=scenario, seed=seed,
                                                n_neighbours=n_neighbours, max_steps=max_steps,
                                                observation=observation)
