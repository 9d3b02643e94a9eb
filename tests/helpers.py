"""Small scenarios and schedules the tests share (plain helpers; the fixtures are in conftest.py)."""
from __future__ import annotations

import dataclasses

from pyslice import Scenario
from pyslice.learn.td3 import TD3Config
from pyslice.learn.train import TrainConfig
from pyslice.study.methods import METHODS
from pyslice.study.results import SeedResult, StudyResults, TargetResult, WindowStats

#: A tiny pretraining schedule: 30 exploration + 60 training + 5 greedy steps, 90 stored transitions.
TINY_PRETRAIN = TrainConfig(exploration_steps=30, training_steps=60, evaluation_steps=5, checkpoint_every=0, seed=3,
                            buffer_capacity=128, td3=TD3Config(batch_size=8))


def with_ues(ues: int, sc: Scenario | None = None, **traffic) -> Scenario:
    """``sc`` (default: the paper scenario) with ``ues`` UEs per (cell, slice) and any other
    traffic fields replaced: the small scenarios of the tests."""
    sc = Scenario.paper() if sc is None else sc
    return dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=ues, **traffic))


def tiny_scenario() -> Scenario:
    """The paper layout with 3 UEs per (cell, slice)."""
    return with_ues(3)


def window(satisfaction: float = 0.9, delay_ms: float = 2.0) -> WindowStats:
    """An evaluation window's statistics with the given satisfaction and delays."""
    return WindowStats(mean_min_throughput_satisfaction=satisfaction, share_below_095=float(satisfaction < 0.95),
                       mean_max_slice_delay_ms=delay_ms, median_max_slice_delay_ms=delay_ms,
                       p95_max_slice_delay_ms=2 * delay_ms)


def target_result(sources: list[int], distance: list[float], **fields) -> TargetResult:
    """A target's results with every method's window at the defaults of :func:`window` (``fields``
    replace any field)."""
    values = dict(sources=sources, distance=distance, early_reward_nearest=0.5, early_reward_farthest=0.4,
                  early_reward_scratch=0.3, nearest_vs_farthest_early_gain=0.25, tl_gain_over_drl=0.1,
                  tl_early_gain_over_drl=0.2, tl_gain_equal_training_steps=0.05,
                  tl_early_gain_equal_training_steps=0.1, eval={m: window() for m in METHODS}, measures={},
                  strategies={}, swept=False)
    values.update(fields)
    return TargetResult(**values)


def study_results(targets: dict[int, dict[int, TargetResult]], **fields) -> StudyResults:
    """A study's results with the given per-seed targets ({seed: {cell: result}}) and empty tables
    (``fields`` replace any field)."""
    cells = sorted({k for by_cell in targets.values() for k in by_cell})
    per_seed = [SeedResult(seed=s, within_group_distance=0.1, across_group_distance=0.2, pick_accuracy_all_cells={},
                           targets=by_cell) for s, by_cell in targets.items()]
    values = dict(paper={}, table={}, claims=[], differences={}, per_cell={}, ablation_measures={},
                  ablation_strategies={}, targets=cells, seeds=len(per_seed), per_seed=per_seed)
    values.update(fields)
    return StudyResults(**values)
