"""Per-agent replay buffers for K agents, preallocated in NumPy (docs/learning.md).

One ring buffer per agent, all held in ``[K, capacity, dim]`` float32 arrays. ``add`` writes one
transition for every agent at once (the normal multi-agent step); ``add_agent`` bulk-inserts a batch
of transitions into one agent's ring (instance transfer: source samples into the target's buffer).
``sample`` draws independent indices per agent from a caller-supplied ``numpy.random.Generator`` and
returns float32 torch tensors shaped ``[K, B, ·]``, exactly the stored values (no interpolation, no
re-normalisation), so a fixed generator state gives a bit-identical minibatch.

The environment is a continuing task (no terminal states), so transitions are
``(obs, act, rew, next_obs)``. A buffer made with ``kpi_dim > 0`` also keeps each transition's raw
KPIs (``kpi [K, C, kpi_dim]``; the trainer stores :data:`pyslice.envs.slicing.KPI_FIELDS`), which lets instance
transfer recompute rewards under another cell's requirements. ``sample`` never returns them.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["Batch", "ReplayBuffers"]


class Batch(NamedTuple):
    """A minibatch for all K agents (float32 tensors)."""

    obs: torch.Tensor  # [K, B, obs_dim]
    act: torch.Tensor  # [K, B, act_dim]
    rew: torch.Tensor  # [K, B]
    next_obs: torch.Tensor  # [K, B, obs_dim]


class ReplayBuffers:
    """K independent ring buffers of transitions ``(obs, act, rew, next_obs)``.

    Args:
        n_agents: K, the number of agents (one ring each).
        capacity: transitions kept per agent; the oldest are overwritten first.
        obs_dim: observation length D.
        act_dim: action length A.
        seed: seeds the buffer's own generator, used by ``sample`` when no ``rng`` is passed.
        kpi_dim: length of the raw-KPI record kept with each transition (0: none).

    Attributes ``obs [K, C, D]``, ``act [K, C, A]``, ``rew [K, C]``, ``next_obs [K, C, D]``,
    ``kpi [K, C, kpi_dim]`` (float32), ``ptr [K]`` (next write slot) and ``size [K]`` (filled slots)
    are plain NumPy arrays.
    """

    dtype = np.float32

    def __init__(self, n_agents: int, capacity: int, obs_dim: int, act_dim: int, seed: int = 0, kpi_dim: int = 0):
        if n_agents < 1 or capacity < 1 or obs_dim < 1 or act_dim < 1:
            raise ValueError("n_agents, capacity, obs_dim and act_dim must be >= 1")
        if kpi_dim < 0:
            raise ValueError(f"kpi_dim must be >= 0, got {kpi_dim}")
        self.n_agents, self.capacity = int(n_agents), int(capacity)
        self.obs_dim, self.act_dim, self.kpi_dim = int(obs_dim), int(act_dim), int(kpi_dim)
        K, C = self.n_agents, self.capacity
        self.obs = np.zeros((K, C, obs_dim), self.dtype)
        self.act = np.zeros((K, C, act_dim), self.dtype)
        self.rew = np.zeros((K, C), self.dtype)
        self.next_obs = np.zeros((K, C, obs_dim), self.dtype)
        self.kpi = np.zeros((K, C, self.kpi_dim), self.dtype)
        self.ptr = np.zeros(K, np.int64)
        self.size = np.zeros(K, np.int64)
        self.rng = np.random.default_rng(seed)
        self._agents = np.arange(K)

    def __len__(self) -> int:
        """The smallest per-agent size (what every agent can be sampled from)."""
        return int(self.size.min())

    # -- writing ---------------------------------------------------------------------------------
    def add(self, obs, act, rew, next_obs, kpi=None) -> None:
        """Append one transition per agent: ``obs[K, D]``, ``act[K, A]``, ``rew[K]``, ``next_obs[K, D]``
        and, for a buffer with ``kpi_dim > 0``, ``kpi[K, kpi_dim]`` (required there, refused otherwise)."""
        K, D, A = self.n_agents, self.obs_dim, self.act_dim
        obs, act = self._check(obs, (K, D), "obs"), self._check(act, (K, A), "act")
        rew, next_obs = self._check(rew, (K,), "rew"), self._check(next_obs, (K, D), "next_obs")
        kpi = self._check_kpi(kpi, K)
        i, p = self._agents, self.ptr
        self.obs[i, p], self.act[i, p], self.rew[i, p], self.next_obs[i, p] = obs, act, rew, next_obs
        if self.kpi_dim:
            self.kpi[i, p] = kpi
        self.ptr = (p + 1) % self.capacity
        self.size = np.minimum(self.size + 1, self.capacity)

    def add_agent(self, k: int, obs, act, rew, next_obs, kpi=None) -> None:
        """Append a batch of ``n`` transitions to agent ``k`` only: ``obs[n, D]``, ``act[n, A]``,
        ``rew[n]``, ``next_obs[n, D]`` (and ``kpi[n, kpi_dim]``; zeros when omitted in a buffer that
        keeps KPIs), in order (with ``n > capacity`` only the last ``capacity`` are kept, as if added
        one by one)."""
        k = self._agent(k)
        obs = np.asarray(obs)
        n = obs.shape[0] if obs.ndim == 2 else -1
        D, A = self.obs_dim, self.act_dim
        obs, act = self._check(obs, (n, D), "obs"), self._check(act, (n, A), "act")
        rew, next_obs = self._check(rew, (n,), "rew"), self._check(next_obs, (n, D), "next_obs")
        kpi = np.zeros((n, self.kpi_dim), self.dtype) if kpi is None and self.kpi_dim else self._check_kpi(kpi, n)
        C = self.capacity
        start = int(self.ptr[k])
        slots = (start + np.arange(n)) % C
        if n > C:  # keep the last C, landing exactly where sequential adds would leave them
            slots, obs, act, rew, next_obs = slots[-C:], obs[-C:], act[-C:], rew[-C:], next_obs[-C:]
            kpi = None if kpi is None else kpi[-C:]
        self.obs[k, slots], self.act[k, slots], self.rew[k, slots] = obs, act, rew
        self.next_obs[k, slots] = next_obs
        if self.kpi_dim:
            self.kpi[k, slots] = kpi
        self.ptr[k] = (start + n) % C
        self.size[k] = min(int(self.size[k]) + n, C)

    # -- reading ---------------------------------------------------------------------------------
    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> Batch:
        """A minibatch of ``batch_size`` transitions per agent, indices drawn uniformly and
        independently (with replacement) from each agent's filled slots.

        Returns a :class:`Batch` of float32 tensors ``[K, B, ·]``.
        """
        if np.any(self.size == 0):
            raise ValueError(f"cannot sample: agents {np.flatnonzero(self.size == 0).tolist()} are empty")
        rng = self.rng if rng is None else rng
        idx = rng.integers(0, self.size[:, None], size=(self.n_agents, batch_size))
        i = self._agents[:, None]
        return Batch(
            torch.from_numpy(self.obs[i, idx]),
            torch.from_numpy(self.act[i, idx]),
            torch.from_numpy(self.rew[i, idx]),
            torch.from_numpy(self.next_obs[i, idx]),
        )

    def agent_data(self, k: int) -> dict[str, np.ndarray]:
        """Copies of agent ``k``'s stored transitions, oldest first (for transfer and inspection)."""
        k = self._agent(k)
        n, C = int(self.size[k]), self.capacity
        order = (int(self.ptr[k]) - n + np.arange(n)) % C
        data = {
            "obs": self.obs[k, order].copy(),
            "act": self.act[k, order].copy(),
            "rew": self.rew[k, order].copy(),
            "next_obs": self.next_obs[k, order].copy(),
        }
        if self.kpi_dim:
            data["kpi"] = self.kpi[k, order].copy()
        return data

    # -- per-agent management (transfer) ---------------------------------------------------------
    def reset_agent(self, k: int) -> None:
        """Empty agent ``k``'s buffer; other agents are untouched."""
        k = self._agent(k)
        for a in (self.obs, self.act, self.rew, self.next_obs, self.kpi):
            a[k] = 0
        self.ptr[k] = 0
        self.size[k] = 0

    def copy_agent(self, src: int, dst: int) -> None:
        """Make agent ``dst``'s buffer an exact copy of agent ``src``'s (contents, ptr, size)."""
        src, dst = self._agent(src), self._agent(dst)
        for a in (self.obs, self.act, self.rew, self.next_obs, self.kpi):
            a[dst] = a[src]
        self.ptr[dst] = self.ptr[src]
        self.size[dst] = self.size[src]

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed for an exact round trip (copies, not views)."""
        return {
            "n_agents": self.n_agents,
            "capacity": self.capacity,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "obs": self.obs.copy(),
            "act": self.act.copy(),
            "rew": self.rew.copy(),
            "next_obs": self.next_obs.copy(),
            "kpi_dim": self.kpi_dim,
            "kpi": self.kpi.copy(),
            "ptr": self.ptr.copy(),
            "size": self.size.copy(),
            "rng": self.rng.bit_generator.state,
        }

    @staticmethod
    def state_kpi_dim(state: dict[str, Any]) -> int:
        """The ``kpi_dim`` of a :meth:`state_dict` (0 for buffers saved before KPIs were kept)."""
        return int(state.get("kpi_dim", 0))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (shapes must match this instance)."""
        for key in ("n_agents", "capacity", "obs_dim", "act_dim"):
            if int(state[key]) != getattr(self, key):
                raise ValueError(f"{key}: checkpoint has {state[key]}, buffer has {getattr(self, key)}")
        if self.state_kpi_dim(state) != self.kpi_dim:
            raise ValueError(f"kpi_dim: checkpoint has {self.state_kpi_dim(state)}, buffer has {self.kpi_dim}")
        for key in ("obs", "act", "rew", "next_obs") + (("kpi",) if self.kpi_dim else ()):
            getattr(self, key)[...] = state[key]
        self.ptr[...] = state["ptr"]
        self.size[...] = state["size"]
        self.rng.bit_generator.state = state["rng"]

    # -- helpers ---------------------------------------------------------------------------------
    def _agent(self, k: int) -> int:
        k = int(k)
        if not 0 <= k < self.n_agents:
            raise ValueError(f"agent index {k} out of range [0, {self.n_agents})")
        return k

    def _check_kpi(self, kpi, n: int) -> np.ndarray | None:
        if not self.kpi_dim:
            if kpi is not None:
                raise ValueError("kpi: this buffer keeps no KPIs (kpi_dim = 0)")
            return None
        if kpi is None:
            raise ValueError(f"kpi: this buffer keeps KPIs, expected shape {(n, self.kpi_dim)}, got None")
        return self._check(kpi, (n, self.kpi_dim), "kpi")

    def _check(self, x, shape: tuple[int, ...], name: str) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.shape != shape or (shape and shape[0] < 0):
            raise ValueError(f"{name}: expected shape {shape}, got {x.shape}")
        return x.astype(self.dtype, copy=False)
