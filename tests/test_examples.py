"""Every scenario file shipped in examples/ loads, validates, simulates and drives the env."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pyslice import Scenario, Simulator, SlicingEnv

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"paper.toml", "hex19_wraparound_uma.toml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_scenario_runs(path):
    sc = Scenario.from_toml(path)
    if path.name == "paper.toml":
        assert sc == Scenario.paper()
    small = dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=2))
    sim = Simulator(small, seed=1)
    r = sim.step_policy("traffic-aware")
    assert r.throughput.shape == (3 * small.layout.n_sites, small.n_slices)
    assert np.isfinite(r.delay).all() and (r.cell_load >= 0).all() and (r.cell_load <= 1).all()
    env = SlicingEnv(small, seed=2)
    obs = env.reset()
    assert obs.shape == (env.n_agents, 4 * small.n_slices)
