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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["3gpp_36873_uma.toml", "3gpp_38901_uma.toml"])
def test_3gpp_example_runs_the_quick_study(tmp_path, name):
    """The 57-cell 3GPP calibration set-ups as RL scenarios: the whole `reproduce --quick` study runs
    (fewer UEs per slice to keep the test short; the file itself is unchanged)."""
    import json

    from pyslice.cli import main

    path = next(p for p in EXAMPLES if p.name == name)
    sc = Scenario.from_toml(path)
    assert sc.n_cells == 57 and sc.layout.wrap_around and sc.radio.antenna_model == "3gpp-3d"
    out = tmp_path / "study"
    assert main(["reproduce", "--quick", "--scenario", str(path), "--targets", "1", "--workers", "2",
                 "--set", "scenario.traffic.max_ues_per_slice=6", "--out", str(out), "--quiet"]) == 0
    table = json.loads((out / "results.json").read_text())["table"]
    for metric in ("mean_min_throughput_satisfaction", "share_below_0.95", "mean_max_slice_delay_ms"):
        for policy in ("baseline", "drl", "drl_scratch", "tl"):
            assert np.isfinite(table[metric][policy]["mean"]), (metric, policy)
    assert 0.0 <= table["mean_min_throughput_satisfaction"]["baseline"]["mean"] <= 1.0
