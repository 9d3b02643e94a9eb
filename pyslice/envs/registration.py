"""Gymnasium registry entries of pyslice, registered on ``import pyslice``.

``pyslice/SingleCell-v0``: :class:`pyslice.envs.adapters.SingleCellEnv` for one cell (``cell``), the other
cells driven by ``others``. ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``
gives :class:`pyslice.envs.vector_env.SingleCellVectorEnv`, whose sub-envs step together on one batched
simulator. The entry points are strings, so registering imports nothing beyond gymnasium.
"""
from __future__ import annotations

from gymnasium.envs.registration import register, registry

__all__ = ["ENV_IDS", "register_envs"]

SINGLE_CELL_ID = "pyslice/SingleCell-v0"
#: The ids this module registers, with their (entry point, vector entry point).
ENV_IDS: dict[str, tuple[str, str]] = {
    SINGLE_CELL_ID: ("pyslice.envs.vector_env:make_single_cell_env", "pyslice.envs.vector_env:SingleCellVectorEnv"),
}


def register_envs() -> None:
    """Register :data:`ENV_IDS` unless already there (idempotent: re-importing or reloading pyslice
    neither warns nor fails)."""
    for env_id, (entry_point, vector_entry_point) in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point)
