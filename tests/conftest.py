"""Fixtures shared by several test modules."""
from __future__ import annotations

import dataclasses

import pytest

from pyslice import Scenario
from pyslice.learn.td3 import TD3Config
from pyslice.learn.train import TrainConfig, Trainer

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


@pytest.fixture(scope="session")
def pretrained_run(tmp_path_factory):
    """A finished Trainer run of :func:`tiny_scenario` with :data:`TINY_PRETRAIN` (read-only)."""
    path = tmp_path_factory.mktemp("pretrained")
    Trainer(tiny_scenario(), TINY_PRETRAIN, path).run()
    return path


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``reproduce --quick`` of the paper scenario on the serial executor: (out, config, results)."""
    from pyslice.study.executor import SerialExecutor
    from pyslice.study.experiment import ReproduceConfig, reproduce

    out = tmp_path_factory.mktemp("reproduce")
    cfg = ReproduceConfig.quick()
    results = reproduce(Scenario.paper(), cfg, out, executor=SerialExecutor(), progress=False)
    return out, cfg, results


@pytest.fixture()
def small_toml(tmp_path):
    """The paper scenario with 4 UEs per (cell, slice), saved as a TOML file (CLI tests)."""
    path = tmp_path / "small.toml"
    with_ues(4).to_toml(path)
    return path
