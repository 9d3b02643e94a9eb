"""Fixtures shared by several test modules."""
from __future__ import annotations

import pytest

from helpers import TINY_PRETRAIN, tiny_scenario, with_ues
from pyslice import Scenario
from pyslice.learn.train import Trainer
from pyslice.study.executor import SerialExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce


@pytest.fixture(scope="session")
def pretrained_run(tmp_path_factory):
    """A finished Trainer run of :func:`tiny_scenario` with :data:`TINY_PRETRAIN` (read-only)."""
    path = tmp_path_factory.mktemp("pretrained")
    Trainer(tiny_scenario(), TINY_PRETRAIN, path).run()
    return path


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``reproduce --quick`` of the paper scenario on the serial executor: (out, config, results)."""
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
