"""The system-level simulator: one replica (:class:`Simulator`) or many stepped together
(:class:`SimulatorBatch`), both thin wrappers over the C++ core."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from pyslice import _core
from pyslice.sim.core_config import core_config
from pyslice.sim.memory_estimate import check_memory
from pyslice.sim.scenario import SECTORS_PER_SITE, Scenario
from pyslice.base.validation import check_int

Policy = Literal["equal", "traffic-aware", "max-min"]
#: The core's share policies by name (``_core.POLICIES``, the C++ SharePolicy enum): ``given`` takes the
#: caller's shares, the others are the built-in policies.
POLICY_CODES: dict[str, int] = {name: code for code, name in enumerate(_core.POLICIES)}
#: The built-in policies (every layer's list of them).
BUILTIN_POLICIES: tuple[str, ...] = tuple(name for name in _core.POLICIES if name != "given")
SHARE_TOLERANCE: float = _core.SHARE_TOLERANCE  # one number for Python and the core (simulator.hpp)


@dataclass(frozen=True)
class StepResult:
    """KPIs of one step. Per cell and slice arrays are [K, N]; rates bit/s, delays s.

    ``throughput``/``delay``: mean flow throughput / delay over the slice's served UEs (0 if none);
    ``load``: PRB share the slice needs (x, may exceed its share); ``users``: active UEs (outage
    included); ``outage``: active UEs below -10 dB at full load; ``demand``/``served``: offered and
    served rate; ``dropped``: rate the finite buffer dropped (0 under the fluid backlog); ``backlog``: fluid backlog (bits) after the step; ``shares``: the shares applied;
    ``cell_load``: fixed-point cell activity [K]; ``sinr_db``: per-UE SINR [U]; ``mask``: tau(t) [N].
    """

    throughput: np.ndarray
    delay: np.ndarray
    load: np.ndarray
    users: np.ndarray
    outage: np.ndarray
    demand: np.ndarray
    served: np.ndarray
    dropped: np.ndarray
    backlog: np.ndarray
    shares: np.ndarray
    cell_load: np.ndarray
    sinr_db: np.ndarray
    mask: np.ndarray
    iterations: int
    time: int


def step_result(values: dict) -> StepResult:
    """A StepResult from the core's result dict (exactly StepResult's fields), without the frozen
    dataclass's per-field ``object.__setattr__`` (~3 us, ~1.5 % of a paper-scale step)."""
    result = object.__new__(StepResult)
    result.__dict__.update(values)
    return result


def validate_shares(shares: object, n_cells: int, n_slices: int, name: str = "shares") -> np.ndarray:
    """Return ``shares`` as float64 [..., K, N] or raise ValueError/TypeError naming the problem.

    Rows must be finite, non-negative and sum to 1 within 1e-6 (paper eq. 1).
    """
    try:
        arr = np.asarray(shares, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(shares).__name__}") from exc
    if arr.ndim < 2 or arr.shape[-2:] != (n_cells, n_slices):
        raise ValueError(f"{name} must have shape (..., {n_cells}, {n_slices}) (cells, slices), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if np.any(arr < 0.0):
        raise ValueError(f"{name} must be >= 0 (found {arr.min():.3g})")
    sums = arr.sum(axis=-1)
    if np.any(np.abs(sums - 1.0) > SHARE_TOLERANCE):
        worst = sums.flat[np.argmax(np.abs(sums - 1.0))]
        raise ValueError(f"{name} rows must sum to 1 (tolerance {SHARE_TOLERANCE}), found a row summing to {worst!r}")
    return np.ascontiguousarray(arr)


def _pickled(saved: object, keys: tuple[str, ...], what: str) -> dict:
    """The dict a pickled ``what`` saved, with ``keys``; TypeError/ValueError for a damaged one."""
    if not isinstance(saved, dict):
        raise TypeError(f"a pickled {what}'s state must be a dict, got {type(saved).__name__}")
    missing = [key for key in keys if key not in saved]
    if missing:
        raise ValueError(f"a pickled {what}'s state lacks {', '.join(missing)}")
    return saved


def _check_seed(seed: object, name: str = "seed") -> int:
    seed = check_int(name, seed, 0)
    if seed >= 2**64:
        raise ValueError(f"{name} must be in [0, 2**64), got {seed}")
    return seed


def _check_seeds(seeds: object) -> list[int]:
    """``seeds`` as a list of seeds; TypeError naming ``seeds`` for something that is not a list."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a list of ints, got {type(seeds).__name__}")
    return [_check_seed(s, "seeds[]") for s in seeds]


class Simulator:
    """One network (scenario) stepped one snapshot at a time.

    >>> sim = Simulator(Scenario.paper(), seed=1)
    >>> r = sim.step(np.full((12, 4), 0.25))
    >>> r.throughput.shape
    (12, 4)
    """

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
        self.scenario = scenario
        self.seed = _check_seed(seed)
        check_memory(scenario, what="a Simulator")  # before the core allocates (docs/usage.md, Memory guard)
        self._core = _core.Simulator(core_config(scenario), self.seed)

    @property
    def n_cells(self) -> int:
        return self._core.n_cells

    @property
    def n_slices(self) -> int:
        return self._core.n_slices

    @property
    def n_ues(self) -> int:
        return self._core.n_ues

    @property
    def time(self) -> int:
        """Steps taken since the last reset."""
        return self._core.time

    def reset(self, seed: int | None = None) -> None:
        """Redrop all UEs and restart time, traffic masks and backlogs (same seed: same run)."""
        if seed is not None:
            self.seed = _check_seed(seed)
        self._core.reset(self.seed)

    def step(self, shares: np.ndarray) -> StepResult:
        """Advance one step with PRB shares [K, N] (rows on the simplex) and return its KPIs."""
        # The core checks type, shape, finiteness, signs and row sums before it changes any state,
        # with errors naming the offending entry; a Python pre-check would add ~6 % to the step.
        self._core.step(shares, POLICY_CODES["given"])
        return step_result(self._core.result())

    def step_policy(self, policy: Policy) -> StepResult:
        """Advance one step with a built-in share policy: equal, traffic-aware or max-min."""
        if policy not in POLICY_CODES or policy == "given":
            raise ValueError(f"policy must be one of {', '.join(map(repr, BUILTIN_POLICIES))}, got {policy!r}")
        self._core.step(None, POLICY_CODES[policy])
        return step_result(self._core.result())

    def state(self) -> dict[str, np.ndarray]:
        """Snapshot of the internal state after the last step (positions, shadowing, LOS, serving...)."""
        return self._core.state()

    def gains(self) -> np.ndarray:
        """Linear link gains [K, U] of the last step (0 where a site is culled)."""
        return self._core.gains()

    def ue_samples(self) -> dict[str, np.ndarray]:
        """Per-UE samples of the last step [U]: ``sinr_db``, ``throughput`` (the UE's flow
        throughput, bit/s; 0 where it was not served: inactive, in outage, or no step since
        construction or a restore), ``serving`` (cell) and ``active``."""
        return self._core.ue_samples()

    def get_state(self) -> bytes:
        """The complete dynamic state (for checkpoints): ``set_state`` on a simulator of the same
        scenario continues bit for bit."""
        return self._core.get_state()

    def set_state(self, state: bytes) -> None:
        """Restore a state from :meth:`get_state`; ValueError (and no change) if it does not fit."""
        if not isinstance(state, (bytes, bytearray)):
            raise TypeError(f"state must be bytes from Simulator.get_state(), got {type(state).__name__}")
        self._core.set_state(bytes(state))

    def site_positions(self) -> np.ndarray:
        """Site coordinates [S, 2] in metres."""
        return self._core.site_positions()

    # pickle and copy.deepcopy: the scenario, the seed and the core's complete state, so a copy
    # continues bit for bit like the original
    def __getstate__(self) -> dict:
        return {"scenario": self.scenario, "seed": self.seed, "state": self.get_state()}

    def __setstate__(self, saved: dict) -> None:
        saved = _pickled(saved, ("scenario", "seed", "state"), "Simulator")
        self.__init__(saved["scenario"], saved["seed"])
        self.set_state(saved["state"])


#: The core's per-step array outputs, listed once in C++ (cpp/outputs.hpp): name -> (extent, dtype).
#: Extents: "cell,slice" [K, N], "cell" [K], "slice" [N], "ue" [U].
CORE_OUTPUTS: dict[str, tuple[str, str]] = {name: (extent, dtype) for name, extent, dtype, _ in _core.OUTPUT_FIELDS}
#: The outputs a batch step writes, in the core's order, plus the fixed-point sweep count.
BATCH_FIELDS: tuple[str, ...] = (*(name for name, _, _, in_batch in _core.OUTPUT_FIELDS if in_batch), "iterations")
#: The per-(cell, slice) outputs.
CELL_SLICE_FIELDS: tuple[str, ...] = tuple(n for n, (extent, _) in CORE_OUTPUTS.items() if extent == "cell,slice")


class SimulatorBatch:
    """R independent replicas of one scenario stepped in one call on C++ threads (GIL released).

    Results are written into preallocated arrays with a leading replica axis, returned by
    :meth:`step` (the same arrays every call: copy them if you keep them).

    ``shared_world=True`` (every seed equal): the replicas differ only in their shares, so the
    shares-independent half of a step (time, mask, mobility, links, handover) runs once and every
    replica responds to its own shares on that world — the same bits as independent replicas, for
    about half the work. Only replica 0 has a readable :meth:`state`; :meth:`get_state` saves the
    leader's world and what each follower's shares decided.

    Both classes pickle and ``copy.deepcopy``: the copy continues bit for bit like the original.
    """

    def __init__(self, scenario: Scenario, seeds: Sequence[int], threads: int = 1, shared_world: bool = False) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
        seeds = _check_seeds(seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        threads = check_int("threads", threads, 1)
        if not isinstance(shared_world, bool):
            raise TypeError(f"shared_world must be a bool, got {type(shared_world).__name__}")
        if shared_world and len(set(seeds)) > 1:
            raise ValueError(f"shared_world needs the same seed for every replica, got {sorted(set(seeds))}")
        check_memory(scenario, len(seeds), shared_world, what=f"a SimulatorBatch of {len(seeds)} replicas")
        self.scenario = scenario
        self.seeds = seeds
        self.shared_world = shared_world
        config = core_config(scenario)
        self._core = _core.SimulatorBatch(config, seeds, int(threads), shared_world)
        # the sizes from the configuration, not from one more simulator (its memory would add to the peak)
        self.n_cells, self.n_slices = SECTORS_PER_SITE * len(config["sites"]), len(scenario.slices)
        r, k, n = len(seeds), self.n_cells, self.n_slices
        dims = {"cell,slice": (k, n), "cell": (k,), "slice": (n,)}
        self._out: dict[str, np.ndarray] = {
            name: np.zeros((r, *dims[CORE_OUTPUTS[name][0]]), dtype=CORE_OUTPUTS[name][1])
            for name in BATCH_FIELDS[:-1]
        }
        self._out["iterations"] = np.zeros(r, dtype=np.int32)

    @property
    def size(self) -> int:
        return len(self.seeds)

    def reset(self, seeds: Sequence[int] | None = None) -> None:
        """Reset every replica (to new seeds if given, one per replica)."""
        if seeds is not None:
            seeds = _check_seeds(seeds)
            if len(seeds) != self.size:
                raise ValueError(f"seeds must hold {self.size} seeds (one per replica), got {len(seeds)}")
        self._core.reset(self.seeds if seeds is None else seeds)
        if seeds is not None:  # only once the core took them (a shared world refuses unequal seeds)
            self.seeds = seeds

    def step(self, shares: np.ndarray) -> dict[str, np.ndarray]:
        """Step all replicas with shares [R, K, N]; returns the output arrays (leading axis R)."""
        arr = validate_shares(shares, self.n_cells, self.n_slices)
        if arr.shape != (self.size, self.n_cells, self.n_slices):
            raise ValueError(f"shares must have shape ({self.size}, {self.n_cells}, {self.n_slices}), got {arr.shape}")
        return self._step_validated(arr)

    def _step_validated(self, shares: np.ndarray) -> dict[str, np.ndarray]:
        """step() for shares a caller has already put through validate_shares with shape [R, K, N]
        (the core still checks them, without the Python-side error messages)."""
        self._core.step(shares, POLICY_CODES["given"], self._out)
        return self._out

    def step_policy(self, policy: Policy) -> dict[str, np.ndarray]:
        """Step all replicas with a built-in policy (equal, traffic-aware or max-min)."""
        if policy not in POLICY_CODES or policy == "given":
            raise ValueError(f"policy must be one of {', '.join(map(repr, BUILTIN_POLICIES))}, got {policy!r}")
        self._core.step(None, POLICY_CODES[policy], self._out)
        return self._out

    def step_mixed(self, policies: Sequence[str], shares: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Step with one policy per replica: ``"given"`` replicas take their row of ``shares``
        [R, K, N] (required then; the other rows are ignored but must be valid shares), the others
        a built-in policy. E.g. a baseline and a learner on one shared world."""
        codes = self._policy_codes(policies)
        if POLICY_CODES["given"] in codes:
            if shares is None:
                raise ValueError("shares must be given when a replica's policy is 'given'")
            shares = validate_shares(shares, self.n_cells, self.n_slices)
            if shares.shape != (self.size, self.n_cells, self.n_slices):
                raise ValueError(f"shares must have shape ({self.size}, {self.n_cells}, {self.n_slices}), "
                                 f"got {shares.shape}")
        self._core.step(shares if POLICY_CODES["given"] in codes else None, codes, self._out)
        return self._out

    def _policy_codes(self, policies: Sequence[str]) -> list[int]:
        if isinstance(policies, str) or len(policies) != self.size:
            raise ValueError(f"policies must be a list of {self.size} policy names (one per replica), got {policies!r}")
        bad = [p for p in policies if p not in POLICY_CODES]
        if bad:
            raise ValueError(f"policies must be policy names from {', '.join(map(repr, POLICY_CODES))}, got {bad}")
        return [POLICY_CODES[p] for p in policies]

    def result(self, replica: int) -> StepResult:
        """One replica's last step, complete: the batch arrays of :meth:`step` plus the per-UE
        SINR (``sinr_db``), which the core derives only when asked."""
        return step_result(self._core.result(replica))

    def state(self, replica: int) -> dict[str, np.ndarray]:
        """Internal state of one replica (see :meth:`Simulator.state`)."""
        return self._core.state(replica)

    def ue_samples(self, replica: int) -> dict[str, np.ndarray]:
        """One replica's per-UE samples of the last step (see :meth:`Simulator.ue_samples`)."""
        return self._core.ue_samples(replica)

    def get_state(self) -> list[bytes]:
        """Every replica's complete dynamic state (see :meth:`Simulator.get_state`); in a shared
        world, replica 0's and then each follower's own part (time, loads, backlog, last outputs)."""
        return list(self._core.get_state())

    def set_state(self, states: Sequence[bytes]) -> None:
        """Restore all replicas; all states are checked before any replica changes."""
        items = None if isinstance(states, (bytes, bytearray)) or not isinstance(states, Iterable) else list(states)
        if items is None or not all(isinstance(s, (bytes, bytearray)) for s in items):
            raise TypeError("states must be a list of bytes from SimulatorBatch.get_state()")
        self._core.set_state([bytes(s) for s in items])

    def __getstate__(self) -> dict:
        return {"scenario": self.scenario, "seeds": self.seeds, "threads": self._core.threads,
                "shared_world": self.shared_world, "states": self.get_state(),
                "out": {name: arr.copy() for name, arr in self._out.items()}}

    def __setstate__(self, saved: dict) -> None:
        saved = _pickled(saved, ("scenario", "seeds", "threads", "shared_world", "states", "out"), "SimulatorBatch")
        self.__init__(saved["scenario"], saved["seeds"], saved["threads"], saved["shared_world"])
        self.set_state(saved["states"])
        out = saved["out"]
        if not isinstance(out, dict) or set(out) != set(self._out):
            raise ValueError(f"a pickled SimulatorBatch's out must hold the arrays {', '.join(self._out)}")
        for name, arr in out.items():
            try:
                self._out[name][...] = arr
            except (TypeError, ValueError) as exc:
                raise ValueError(f"a pickled SimulatorBatch's output {name!r} does not fit: {exc}") from None
