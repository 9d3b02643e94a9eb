"""`traffic.roaming = "home-site"` keeps every UE inside its home site's hexagon."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyslice import Scenario, Simulator


def in_hexagon(rel: np.ndarray, isd: float) -> np.ndarray:
    """Voronoi hexagon of the site lattice: |rel . u| <= isd/2 for u at 0, 60, 120 degrees."""
    h = isd / 2 * (1 + 1e-9)
    c, s = 0.5, np.sqrt(3) / 2
    x, y = rel[:, 0], rel[:, 1]
    return (np.abs(x) <= h) & (np.abs(c * x + s * y) <= h) & (np.abs(-c * x + s * y) <= h)


@pytest.mark.parametrize("mobility", ["random-waypoint", "gauss-markov"])
def test_home_site_roaming_confines_ues(mobility):
    sc = Scenario.paper()
    slices = tuple(dataclasses.replace(s, mobility=mobility, speed_min_mps=5.0, speed_max_mps=15.0) for s in sc.slices)
    sc = dataclasses.replace(sc, slices=slices,
                             traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=3, roaming="home-site"))
    sim = Simulator(sc, seed=4)
    sites = sim.site_positions()
    start = sim.state()["positions"].copy()
    for _ in range(300):
        sim.step_policy("equal")
        st = sim.state()
        home_site = st["home_cell"] // 3
        assert in_hexagon(st["positions"] - sites[home_site], sc.layout.isd_m).all()
    assert np.abs(st["positions"] - start).max() > 100.0  # they do move


def test_network_roaming_lets_ues_leave_their_site():
    sc = Scenario.paper()
    slices = tuple(dataclasses.replace(s, speed_min_mps=5.0, speed_max_mps=15.0) for s in sc.slices)
    sc = dataclasses.replace(sc, slices=slices,
                             traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=3, roaming="network"))
    sim = Simulator(sc, seed=4)
    sites = sim.site_positions()
    left = False
    for _ in range(300):
        sim.step_policy("equal")
        st = sim.state()
        left |= not in_hexagon(st["positions"] - sites[st["home_cell"] // 3], sc.layout.isd_m).all()
    assert left


def test_roaming_is_validated_and_round_trips(tmp_path):
    with pytest.raises(ValueError, match="traffic.roaming"):
        Scenario.from_dict({"traffic": {"roaming": "everywhere"}})
    assert Scenario.paper().traffic.roaming == "home-site"  # the mask scales each cell's own UEs (§V-1)
    sc = Scenario.from_dict({"traffic": {"roaming": "network"}})
    sc.to_toml(tmp_path / "s.toml")
    assert Scenario.from_toml(tmp_path / "s.toml").traffic.roaming == "network"
