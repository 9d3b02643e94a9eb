"""Small scenarios and schedules the tests share (plain helpers; the fixtures are in conftest.py)."""
from __future__ import annotations

import dataclasses

from pyslice import Scenario
from pyslice.learn.td3 import TD3Config
from pyslice.learn.train import TrainConfig

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
