"""Lazy link evaluation (radio.link_update_distance_m = D > 0).

A UE's links (shadowing/LOS processes, distance, angle, gains) are re-evaluated only once its
path since their last evaluation reaches D; in between its gains are held. Checked here against
the NumPy reference: every UE's gains are the reference gains at the position where they were
last evaluated, that position is less than D from the UE, pedestrians really are held, the AR(1)
processes advance over the whole path since the last evaluation, checkpoints resume, and D = 0 is
the exact mode.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyslice import Scenario, Simulator

import reference as ref  # noqa: E402
from test_core_vs_reference import ref_kwargs, small, with_layout, with_radio  # noqa: E402

RTOL = 1e-9
GAIN_KEYS = ("fc_ghz", "h_bs", "h_ut", "model", "d_min", "d_max", "g_max", "beamwidth", "a_max", "shadowing",
             "wrap_images", "interference_radius_m")


def lazy(sc: Scenario, distance_m: float) -> Scenario:
    return with_radio(sc, link_update_distance_m=distance_m)


def reference_gains(sim: Simulator, positions: np.ndarray, state: dict) -> np.ndarray:
    kw = {k: v for k, v in ref_kwargs(sim.scenario).items() if k in GAIN_KEYS}
    culled = np.isnan(state["shadow_z"])
    gain, _ = ref.link_gains(sim.site_positions(), positions, np.where(culled, 0.0, state["shadow_z"]),
                             np.where(culled, 0.0, state["los_z"]), **kw)
    return gain


def follow(sim: Simulator, steps: int, distance_m: float):
    """Steps with equal shares; yields (state, gains, anchors, evaluated) after each step, where
    anchors are the positions each UE's links were last evaluated at and evaluated marks the UEs
    whose links changed in the step. Asserts the held/evaluated invariants on the way."""
    shares = np.full((sim.n_cells, sim.n_slices), 1.0 / sim.n_slices)
    state, gains = sim.state(), sim.gains()
    anchors = state["positions"].copy()
    np.testing.assert_allclose(gains, reference_gains(sim, anchors, state), rtol=RTOL, atol=0)
    for _ in range(steps):
        sim.step(shares)
        new_state, new_gains = sim.state(), sim.gains()
        evaluated = np.any(new_gains != gains, axis=0) | np.any(
            np.nan_to_num(new_state["shadow_z"]) != np.nan_to_num(state["shadow_z"]), axis=1)
        anchors[evaluated] = new_state["positions"][evaluated]
        # Held UEs keep their gains bit for bit; every UE's gains are those at its anchor.
        np.testing.assert_array_equal(new_gains[:, ~evaluated], gains[:, ~evaluated])
        np.testing.assert_allclose(new_gains, reference_gains(sim, anchors, new_state), rtol=RTOL, atol=0)
        # A UE is never farther than D (straight line <= path) from where its links were evaluated.
        offset = np.hypot(*(new_state["positions"] - anchors).T)
        assert np.all(offset[~evaluated] < distance_m)
        yield new_state, new_gains, anchors, evaluated
        state, gains = new_state, new_gains


@pytest.mark.parametrize("distance_m", [2.0, 5.0])
def test_gains_are_those_at_the_last_evaluation_and_pedestrians_are_held(distance_m):
    sc = lazy(small(Scenario.paper(), 6), distance_m)
    sim = Simulator(sc, seed=3)
    pedestrian = np.array([sc.slices[n].speed_max_mps < distance_m for n in sim.state()["slice_of"]])
    held = np.zeros(sim.n_ues)
    steps = 60
    for _, _, _, evaluated in follow(sim, steps, distance_m):
        held += ~evaluated
    # speed <= 1.5 m/s: at least floor(D / 1.5) of every floor(D / 1.5) + 1 steps are held
    min_held = np.floor(distance_m / 1.5) / (np.floor(distance_m / 1.5) + 1)
    assert np.all(held[pedestrian] / steps >= min_held - 0.05)
    # vehicles (>= 5 m/s) move at least D per step unless paused: mostly re-evaluated every step
    assert np.mean(held[~pedestrian]) / steps < 0.3


def test_culling_forces_evaluation_when_tracked_sites_change():
    base = small(with_layout(Scenario.paper(), kind="hex", rings=1), 3)
    sc = lazy(with_radio(base, interference_radius_m=700.0), 20.0)
    sim = Simulator(sc, seed=5)
    for state, gains, _, _ in follow(sim, 80, 20.0):
        tracked = ~np.isnan(state["shadow_z"])  # [U, S]
        # every tracked link has a gain (a newly tracked site was evaluated), culled ones none
        np.testing.assert_array_equal(gains.reshape(-1, 3, sim.n_ues).min(axis=1).T > 0, tracked)


def test_processes_advance_over_the_whole_path_since_the_last_evaluation():
    # Pedestrians with D = 5 m are re-evaluated every ~5 steps; their shadowing must then have
    # decorrelated by r = exp(-path / 50 m), path ~ the straight-line offset (legs are long), not
    # by the last step's ~1 m.
    sc = lazy(small(Scenario.paper(), 16), 5.0)
    sim = Simulator(sc, seed=8)
    d_cor = sc.radio.shadow_decorrelation_m
    pedestrian = np.array([sc.slices[n].speed_max_mps < 5.0 for n in sim.state()["slice_of"]])
    prev_z = sim.state()["shadow_z"].copy()
    anchors = sim.state()["positions"].copy()
    products, expected = [], []
    for state, _, new_anchors, evaluated in follow(sim, 120, 5.0):
        pick = evaluated & pedestrian
        offset = np.hypot(*(new_anchors[pick] - anchors[pick]).T)
        z0, z1 = prev_z[pick], state["shadow_z"][pick]
        products.append((z0 * z1).ravel())
        expected.append(np.repeat(np.exp(-offset / d_cor), z0.shape[1]))
        prev_z[pick] = z1
        anchors = new_anchors.copy()
    products, expected = np.concatenate(products), np.concatenate(expected)
    assert products.size > 5000
    # E[z0 z1] = r; per-step decorrelation (~exp(-1/50) = 0.98) would be far above
    assert abs(products.mean() - expected.mean()) < 0.03
    assert expected.mean() < 0.93


def test_checkpoint_resumes_lazy_run_bit_for_bit():
    sc = lazy(small(Scenario.paper(), 4), 5.0)
    rng = np.random.default_rng(0)
    shares = [rng.dirichlet(np.ones(4), size=12) for _ in range(50)]
    a = Simulator(sc, seed=2)
    for s in shares[:17]:
        a.step(s)
    saved = a.get_state()
    ra = [a.step(s) for s in shares[17:]]
    b = Simulator(sc, seed=77)
    b.set_state(saved)
    rb = [b.step(s) for s in shares[17:]]
    for x, y in zip(ra, rb):
        np.testing.assert_array_equal(x.throughput, y.throughput)
        np.testing.assert_array_equal(x.sinr_db, y.sinr_db)
    np.testing.assert_array_equal(a.gains(), b.gains())


def test_zero_distance_is_the_exact_mode():
    sc = small(Scenario.paper(), 4)
    assert sc.radio.link_update_distance_m == 0.0
    a, b = Simulator(sc, seed=4), Simulator(lazy(sc, 0.0), seed=4)
    # Any movement reaches 1e-9 m and a paused UE's evaluation is an identity (r = 1), so this is
    # the exact mode too, up to the last bit (a link evaluated in a SIMD loop's scalar remainder
    # gets libm's rounding instead of the vector library's).
    c = Simulator(lazy(sc, 1e-9), seed=4)
    for _ in range(30):
        ra, rb, rc = (s.step_policy("traffic-aware") for s in (a, b, c))
        np.testing.assert_array_equal(ra.throughput, rb.throughput)
        np.testing.assert_array_equal(ra.sinr_db, rb.sinr_db)
        np.testing.assert_array_equal(a.gains(), b.gains())
        np.testing.assert_allclose(rc.throughput, ra.throughput, rtol=1e-12, atol=0)
        np.testing.assert_allclose(c.gains(), a.gains(), rtol=1e-12, atol=0)


def test_bad_distance_is_rejected():
    sc = small(Scenario.paper(), 2)
    for bad in (-1.0, float("nan"), float("inf"), 101.0):
        with pytest.raises(ValueError, match="link_update_distance_m"):
            dataclasses.replace(sc, radio=dataclasses.replace(sc.radio, link_update_distance_m=bad))
