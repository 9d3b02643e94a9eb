"""Typed ``results.json``: the study's results (:class:`StudyResults`) and what one seed's study found
for one target cell (:class:`TargetResult`, in ``per_seed[i].targets[k]``). The aggregation builds
them and serialises them; readers rebuild them with ``from_dict``. Field names are the JSON keys."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pyslice.study.methods import METHODS

__all__ = ["StudyResults", "TargetResult"]


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


@dataclass
class StudyResults:
    """The whole study (``results.json``)."""

    paper: dict[str, Any]
    """The paper's numbers the table is set beside."""
    table: dict[str, Any]
    """Per metric: per method (or a single statistic), mean ± std over seeds."""
    claims: list[dict[str, Any]]
    """The paper's claims with their verdicts and the differences they rest on."""
    differences: dict[str, dict[str, float]]
    """Paired differences per (seed, target): mean and 95 % interval."""
    per_cell: dict[Any, dict[str, dict[str, float]]]
    """Per target cell and method: the window statistics, mean over seeds."""
    ablation_measures: dict[str, dict[str, Any]]
    ablation_strategies: dict[str, dict[str, Any]]
    targets: list[int]
    seeds: int
    per_seed: list[dict[str, Any]]
    """Per seed: the distances' group separation and one :class:`TargetResult` (as a dict) per target."""
    wall_seconds: float | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    """Figure name -> path relative to the study directory."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``results.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyResults:
        """Rebuilt from its JSON form (unknown keys are an error)."""
        return cls(**d)
