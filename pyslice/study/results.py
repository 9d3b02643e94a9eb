"""Typed pieces of ``results.json``: what one seed's study found for one target cell. The aggregation
builds them and serialises them into ``per_seed[i].targets[k]``; readers rebuild them with
:meth:`TargetResult.from_dict`. Field names are the JSON keys."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pyslice.study.methods import METHODS

__all__ = ["TargetResult"]


@dataclass(frozen=True)
class TargetResult:
    """One seed's results for one target cell."""

    sources: list[int]
    """The sources TL ran from (cells, 0-based)."""
    distance: list[float]
    """The source-selection distance D[source, target] of each."""
    early_reward_nearest: float
    early_reward_farthest: float
    early_reward_scratch: float
    """Mean target reward over the first ``early_window`` steps: TL from the nearest and the farthest
    source, and DRL from scratch."""
    nearest_vs_farthest_early_gain: float
    tl_gain_over_drl: float
    """TL over DRL from scratch over the TL steps (scratch's exploration included), relative."""
    tl_early_gain_over_drl: float
    tl_gain_equal_training_steps: float
    """TL's first training steps against scratch's steps after its exploration, relative."""
    tl_early_gain_equal_training_steps: float
    eval: dict[str, dict[str, Any]]
    """Per method of :data:`pyslice.study.methods.METHODS`: the evaluation window's statistics
    (:func:`pyslice.sim.satisfaction.kpi_summary`)."""
    measures: dict[str, dict[str, float]]
    """Per similarity measure (swept targets only): Spearman(distance, early gain), regret, its pick."""
    strategies: dict[str, dict[str, float]]
    """Per transfer strategy: early and evaluation reward."""
    swept: bool
    """Every other cell was a source (the measure ablation applies)."""

    def __post_init__(self) -> None:
        if set(self.eval) != set(METHODS):
            raise ValueError(f"eval must hold one window per method {METHODS}, got {sorted(self.eval)}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``per_seed[i].targets[k]``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetResult:
        """Rebuilt from its JSON form (unknown keys are an error)."""
        return cls(**d)
