"""The 3-D 3GPP models and the calibration (docs/calibration.md): each formula against values computed
by hand from the documents, the core's link gains against a NumPy reference, properties of the drops,
the calibration's agreement with the 3GPP reference, and the CLI's errors."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_3gpp as ref
from pyslice import _core
from pyslice.cli import main
from pyslice.sim import radio
from pyslice.sim.calibration import (
    CASES,
    CHECKED_PERCENTILES,
    calibration_scenario,
    compare,
    drop_metrics,
    reference,
    run_calibration,
)
from pyslice.sim.core_config import core_config, wrap_vectors, site_positions
from pyslice.sim.scenario import RadioConfig, Scenario

MODELS = ("36.873-uma", "36.873-umi", "38.901-uma", "38.901-umi")

# ---- formulas against values computed by hand ----------------------------------------------------
# (d2D m, hBS, hUT, fc GHz, PL LOS, PL NLOS), h_E = 1 m, c = 3e8 m/s. Example, 36.873 3D-UMa at 50 m:
# d3D = sqrt(50^2 + 23.5^2) = 55.2472; LOS = 22 log10(55.2472) + 28 + 20 log10(2) = 38.3306 + 28 + 6.0206.
HAND_PATHLOSS = {
    "36.873-uma": [(50, 25, 1.5, 2, 72.3514, 87.6659), (200, 25, 1.5, 2, 84.7088, 109.6206),
                   (1000, 25, 1.5, 2, 108.9117, 136.8291), (200, 25, 16.5, 2, 84.6519, 100.5196)],
    "36.873-umi": [(20, 10, 1.5, 2, 63.4365, 79.5978), (100, 10, 1.5, 2, 78.0550, 103.9842),
                   (500, 10, 1.5, 2, 104.5371, 129.5813)],
    "38.901-uma": [(50, 25, 1.5, 6, 81.8938, 97.1925), (200, 25, 1.5, 6, 94.2512, 119.1436),
                   (1000, 25, 1.5, 6, 109.8846, 146.3477)],
    "38.901-umi": [(20, 10, 1.5, 6, 76.0418, 86.1738), (100, 10, 1.5, 6, 89.9959, 109.6298),
                   (500, 10, 1.5, 6, 107.3523, 134.2505)],
}


@pytest.mark.parametrize("model", MODELS)
def test_pathloss_matches_hand_values(model: str) -> None:
    for d, h_bs, h_ut, fc, los, nlos in HAND_PATHLOSS[model]:
        kw = dict(fc_ghz=fc, h_bs=h_bs, h_ut=h_ut, model=f"3gpp-{model}", d_min=10.0)
        assert float(radio.pathloss_db(d, True, **kw)) == pytest.approx(los, abs=1e-3)
        assert float(radio.pathloss_db(d, False, **kw)) == pytest.approx(nlos, abs=1e-3)


def test_uma_breakpoint_follows_the_effective_environment_height() -> None:
    # hUT = 16.5, h_E = 15 m: d'BP = 4 * 10 * 1.5 * 2e9 / 3e8 = 400 m, so 1000 m is beyond it.
    kw = dict(fc_ghz=2.0, h_bs=25.0, h_ut=16.5, model="3gpp-36.873-uma")
    near = float(radio.pathloss_db(1000.0, True, **kw, h_e=1.0))   # d'BP = 9920 m: PL1
    far = float(radio.pathloss_db(1000.0, True, **kw, h_e=15.0))
    dist = np.hypot(1000.0, 8.5)
    assert near == pytest.approx(22 * np.log10(dist) + 28 + 20 * np.log10(2.0), abs=1e-9)
    assert far == pytest.approx(40 * np.log10(dist) + 28 + 20 * np.log10(2.0) - 9 * np.log10(400.0**2 + 8.5**2),
                                abs=1e-9)
    # C(200 m, 16.5 m) = 0.35^1.5 * 1.25e-6 * 200^3 * exp(-4/3) = 0.5458 (P(h_E = 1 m) = 0.6469)
    assert float(_core.environment_height_c(200.0, 16.5)) == pytest.approx(0.5458, abs=1e-4)
    assert float(_core.environment_height_c(200.0, 12.5)) == 0.0


@pytest.mark.parametrize("model,h_ut,expected", [
    ("3gpp-36.873-uma", 1.5, (1.0, 0.6494, 0.1280)), ("3gpp-36.873-uma", 19.5, (1.0, 0.6875, 0.3049)),
    ("3gpp-36.873-umi", 1.5, (1.0, 0.5196, 0.0935)), ("3gpp-38.901-uma", 1.5, (1.0, 0.6494, 0.1280)),
    ("3gpp-38.901-uma", 19.5, (1.0, 0.6875, 0.3049)), ("3gpp-38.901-umi", 1.5, (1.0, 0.5196, 0.0935)),
])
def test_los_probability_matches_hand_values(model: str, h_ut: float, expected: tuple) -> None:
    got = radio.los_probability(np.array([10.0, 50.0, 200.0]), model=model, h_ut=h_ut)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_o2i_wall_loss_matches_hand_values() -> None:
    # 38.901 Table 7.4.3-2 at 6 GHz: low 5 - 10 log10(0.3 * 10^-0.32 + 0.7 * 10^-2.9) = 13.4022
    assert radio.o2i_wall_loss_db("3gpp-38.901", False, 6.0) == pytest.approx(13.4022, abs=1e-4)
    assert radio.o2i_wall_loss_db("3gpp-38.901", True, 6.0) == pytest.approx(30.6935, abs=1e-4)
    assert radio.o2i_wall_loss_db("3gpp-38.901", False, 2.0) == pytest.approx(11.8253, abs=1e-4)
    assert radio.o2i_wall_loss_db("3gpp-38.901", True, 2.0) == pytest.approx(22.4253, abs=1e-4)
    assert radio.o2i_wall_loss_db("3gpp-36.873", False, 2.0) == 20.0
    with pytest.raises(ValueError, match="model must be"):
        radio.o2i_wall_loss_db("itu", False, 2.0)


def test_antenna_element_matches_hand_values() -> None:
    theta = np.array([90.0, 90.0, 90.0, 102.0, 120.0, 180.0])
    phi = np.array([0.0, 32.5, 60.0, 0.0, 30.0, 0.0])
    expected = [8.0, 5.0, -2.2249, 7.5910, 2.8876, -15.0059]
    np.testing.assert_allclose(radio.antenna_gain_3gpp_db(theta, phi), expected, atol=1e-4)


def test_column_with_electrical_tilt_matches_hand_values() -> None:
    theta = np.array([90.0, 96.0, 102.0, 110.0, 120.0])
    got = radio.antenna_gain_3gpp_db(theta, 0.0, elements=10, electrical_tilt_deg=12.0)
    np.testing.assert_allclose(got, [-10.2596, 13.7123, 17.5910, 9.1454, 2.4508], atol=1e-4)
    wide = radio.antenna_gain_3gpp_db(theta, 0.0, elements=10, electrical_tilt_deg=12.0, element_spacing_wl=0.8)
    np.testing.assert_allclose(wide, [2.8397, 3.9709, 17.5910, -6.4072, -2.2735], atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(theta=st.floats(0.0, 180.0), phi=st.floats(-180.0, 180.0), k=st.integers(1, 16),
       spacing=st.floats(0.2, 1.0), tilt=st.floats(-10.0, 20.0))
def test_antenna_equals_the_explicit_phasor_sum(theta, phi, k, spacing, tilt) -> None:
    got = float(radio.antenna_gain_3gpp_db(theta, phi, elements=k, element_spacing_wl=spacing,
                                           electrical_tilt_deg=tilt))
    column = float(ref.column_gain_db(np.array(theta), k, spacing, tilt))
    if column > -60.0:  # away from exact nulls
        assert got == pytest.approx(float(ref.element_gain_db(theta, phi)) + column, abs=1e-6)
    assert got <= 8.0 + 10 * np.log10(k) + 1e-9


@settings(max_examples=40, deadline=None)
@given(beta=st.floats(-20.0, 20.0), k=st.sampled_from([1, 10]))
def test_mechanical_tilt_rotates_the_pattern_in_the_boresight_plane(beta, k) -> None:
    # In the boresight plane a mechanical downtilt beta shifts the vertical pattern by beta.
    theta = np.linspace(60.0, 130.0, 15)
    tilted = radio.antenna_gain_3gpp_db(theta + beta, 0.0, elements=k, electrical_tilt_deg=6.0,
                                        mechanical_tilt_deg=beta)
    flat = radio.antenna_gain_3gpp_db(theta, 0.0, elements=k, electrical_tilt_deg=6.0)
    np.testing.assert_allclose(tilted, flat, atol=1e-8)


@settings(max_examples=80, deadline=None)
@given(model=st.sampled_from(MODELS), d1=st.floats(10.0, 4000.0), d2=st.floats(10.0, 4000.0),
       h_ut=st.sampled_from([1.5, 4.5, 10.5, 19.5, 22.5]))
def test_pathloss_properties(model, d1, d2, h_ut) -> None:
    h_bs = 25.0 if model.endswith("uma") else 10.0
    kw = dict(fc_ghz=2.0, h_bs=h_bs, h_ut=h_ut, model=f"3gpp-{model}", d_min=10.0)
    lo, hi = sorted((d1, d2))
    for los in (True, False):
        a, b = radio.pathloss_db(np.array([lo, hi]), los, **kw)
        assert a <= b + 1e-9  # non-decreasing in distance
    assert radio.pathloss_db(lo, False, **kw) >= radio.pathloss_db(lo, True, **kw) - 1e-12  # NLOS = max(LOS, .)
    p = radio.los_probability(np.array([lo, hi]), model=f"3gpp-{model}", h_ut=h_ut)
    assert ((0.0 <= p) & (p <= 1.0)).all()
    if h_ut < 13.0:
        assert p[0] >= p[1] - 1e-12
    np.testing.assert_allclose(radio.pathloss_db(np.array([lo, hi]), True, **kw),
                               ref.pathloss_db(model, True, [lo, hi], h_bs, h_ut, 2.0), atol=1e-9)
    np.testing.assert_allclose(radio.pathloss_db(np.array([lo, hi]), False, **kw),
                               ref.pathloss_db(model, False, [lo, hi], h_bs, h_ut, 2.0), atol=1e-9)


# ---- the core's drop and link gains ----------------------------------------------------------------


def _small(case: str, *, floors=(4, 8), ues=2) -> Scenario:
    sc = calibration_scenario(CASES[case], ues_per_cell=ues)
    return dataclasses.replace(sc, radio=dataclasses.replace(sc.radio, building_floors=floors))


@pytest.mark.parametrize("case", ["36.873-uma-k10", "36.873-umi-k1", "38.901-uma", "38.901-umi"])
def test_core_link_gains_equal_the_numpy_reference(case: str) -> None:
    # Floors up to 4 keep every UE below 13 m, where h_E = 1 m on every link (no random draw).
    sc = _small(case, floors=(1, 4), ues=3)
    c = CASES[case]
    sim = _core.Simulator(core_config(sc), 11)
    state = sim.state()
    sites = site_positions(sc)
    got = 10.0 * np.log10(sim.gains()).T  # [U, K]
    expected = ref.link_gains_db(
        c.pathloss_model.removeprefix("3gpp-"), sites, state["positions"], wrap_vectors(sc), c.bs_height_m,
        state["ue_height"], state["indoor"], state["indoor_distance_m"], state["penetration_db"],
        state["shadow_z"], state["los_z"], c.carrier_ghz, c.min_distance_m, c.antenna_elements, 0.5, 12.0)
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_drops_follow_the_documents_ue_distribution() -> None:
    sc = _small("36.873-uma-k1", ues=40)  # 2280 UEs
    state = _core.Simulator(core_config(sc), 5).state()
    indoor, height, pen = state["indoor"], state["ue_height"], state["penetration_db"]
    n = indoor.size
    # 80 % indoors: binomial, 5 sigma
    assert abs(indoor.mean() - 0.8) < 5 * np.sqrt(0.8 * 0.2 / n)
    # outdoors at 1.5 m; indoors on floors 1..8 (3 m each), floors of 8-floor buildings rarest
    np.testing.assert_array_equal(height[~indoor], 1.5)
    floors = (height[indoor] - 1.5) / 3.0 + 1.0
    np.testing.assert_allclose(floors, np.round(floors), atol=1e-12)
    assert floors.min() == 1 and floors.max() == 8
    # P(floor = 1) = mean over N_fl in 4..8 of 1/N_fl = 0.1913 (hand: (1/4+1/5+1/6+1/7+1/8)/5)
    p1 = np.mean([1 / f for f in range(4, 9)])
    assert abs((floors == 1).mean() - p1) < 5 * np.sqrt(p1 * (1 - p1) / floors.size)
    # 36.873 penetration 20 dB + 0.5 d_in, d_in ~ U(0, 25): in [20, 32.5], mean 26.25
    assert ((pen[indoor] >= 20.0) & (pen[indoor] <= 32.5)).all() and (pen[~indoor] == 0).all()
    assert abs(pen[indoor].mean() - 26.25) < 5 * (12.5 / np.sqrt(12)) / np.sqrt(indoor.sum())
    d_in = state["indoor_distance_m"]
    np.testing.assert_allclose(pen[indoor], 20.0 + 0.5 * d_in[indoor], atol=1e-12)


def test_38901_indoor_distance_is_the_minimum_of_two_uniforms() -> None:
    sc = _small("38.901-uma", ues=40)
    state = _core.Simulator(core_config(sc), 6).state()
    d_in = state["indoor_distance_m"][state["indoor"]]
    # min of two U(0, 25): mean 25/3, P(d_in < 12.5) = 3/4
    assert abs(d_in.mean() - 25 / 3) < 5 * np.sqrt(25**2 / 18) / np.sqrt(d_in.size)
    assert abs((d_in < 12.5).mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / d_in.size)


def test_drops_are_deterministic_and_differ_across_seeds() -> None:
    sc = _small("38.901-umi")
    a, b, c = (drop_metrics(sc, s) for s in (3, 3, 4))
    for key in ("coupling_loss_db", "geometry_db", "serving"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["coupling_loss_db"], c["coupling_loss_db"])


def test_serving_cell_has_the_strongest_gain_and_geometry_is_the_sir() -> None:
    sc = _small("36.873-umi-k10")
    sim = _core.Simulator(core_config(sc), 9)
    g = sim.gains()
    m = drop_metrics(sc, 9)
    np.testing.assert_array_equal(m["serving"], g.argmax(axis=0))
    best = g.max(axis=0)
    np.testing.assert_allclose(10 ** (m["coupling_loss_db"] / 10), best, rtol=1e-12)
    np.testing.assert_allclose(10 ** (m["geometry_db"] / 10), best / (g.sum(axis=0) - best), rtol=1e-10)
    noisy = drop_metrics(sc, 9, noise=True)["geometry_db"]
    assert (noisy < m["geometry_db"]).all()


def test_indoor_choices_change_only_indoor_links() -> None:
    base = _small("36.873-uma-k1", ues=4)
    outdoor = ~_core.Simulator(core_config(base), 2).state()["indoor"]
    g0 = _core.Simulator(core_config(base), 2).gains()
    for key, value in (("indoor_los_distance", "total"), ("indoor_distance", "per-link"), ("o2i_shadowing", "outdoor")):
        sc = dataclasses.replace(base, radio=dataclasses.replace(base.radio, **{key: value}))
        g = _core.Simulator(core_config(sc), 2).gains()
        np.testing.assert_array_equal(g[:, outdoor], g0[:, outdoor])
        assert not np.array_equal(g[:, ~outdoor], g0[:, ~outdoor]), key


def test_uma_high_floors_draw_the_effective_environment_height() -> None:
    # Only UEs at >= 13 m can have h_E > 1 m; for them the LOS links beyond the short breakpoint lose
    # more than the h_E = 1 m reference, never less.
    sc = _small("36.873-uma-k1", ues=30)
    sim = _core.Simulator(core_config(sc), 4)
    state = sim.state()
    sites = site_positions(sc)
    got = 10.0 * np.log10(sim.gains()).T
    ref_db = ref.link_gains_db("36.873-uma", sites, state["positions"], wrap_vectors(sc), 25.0, state["ue_height"],
                               state["indoor"], state["indoor_distance_m"], state["penetration_db"],
                               state["shadow_z"], state["los_z"], 2.0, 35.0, 1, 0.5, 12.0)
    low = state["ue_height"] < 13.0
    np.testing.assert_allclose(got[low], ref_db[low], atol=1e-7)
    high_diff = got[~low] - ref_db[~low]
    assert (high_diff <= 1e-7).all() and (high_diff < -1e-3).any()


# ---- the calibration against the 3GPP reference ----------------------------------------------------


def test_reference_data_are_the_published_curves() -> None:
    data = reference()["cases"]
    assert set(data) == set(CASES)
    uma = data["36.873-uma-k1"]
    pick = dict(zip(uma["percentiles"], uma["coupling_loss_db"]))
    assert (pick[5], pick[50], pick[95]) == (-132.1, -112.3, -84.1)
    pick = dict(zip(uma["percentiles"], uma["geometry_db"]))
    assert (pick[5], pick[10], pick[50], pick[90], pick[95]) == (-3.1, -1.9, 4.9, 18.8, 22.6)
    for case in data.values():
        for metric in ("coupling_loss_db", "geometry_db"):
            assert np.all(np.diff(case[metric]) >= 0) and len(case[metric]) == len(case["percentiles"])


def test_k1_cases_meet_the_3gpp_tolerance() -> None:
    results = run_calibration(["36.873-uma-k1", "36.873-umi-k1"], drops=40, seed=7)
    rows = [r for r in compare(results) if r["percentile"] in CHECKED_PERCENTILES]
    assert len(rows) == 12
    for r in rows:
        # The one known miss (docs/calibration.md): with the documents' d_2D-out LOS rule for indoor
        # UEs, the 3D-UMi median coupling loss sits +1.1 dB from 3GPP's multi-company median (an
        # independent re-implementation gives the same; P_LOS at d_2D brings it to -0.3 dB).
        tol = 1.5 if (r["case"], r["metric"], r["percentile"]) == ("36.873-umi-k1", "coupling_loss_db", 50) else 1.0
        assert abs(r["delta"]) <= tol, r
    assert results["cases"]["36.873-uma-k1"]["ues"] == 40 * 570


def test_calibrate_cli_writes_the_schema(tmp_path) -> None:
    out = tmp_path / "cal"
    assert main(["calibrate", "--case", "38.901-umi", "--case", "36.873-uma-k10", "--drops", "3", "--seed", "2",
                 "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "calibration.json").read_text())
    assert set(doc) == {"cases"} and set(doc["cases"]) == {"38.901-umi", "36.873-uma-k10"}
    for entry in doc["cases"].values():
        assert set(entry) == {"coupling_loss_db", "geometry_db", "ues", "drops"}
        assert entry["drops"] == 3 and entry["ues"] == 3 * 570
        for metric in ("coupling_loss_db", "geometry_db"):
            assert set(entry[metric]) == {"p5", "p10", "p50", "p90", "p95"}
            values = [entry[metric][f"p{p}"] for p in (5, 10, 50, 90, 95)]
            assert values == sorted(values) and all(np.isfinite(values))
    names = {p.name for p in out.iterdir()}
    assert {"calibration_38.901-umi.png", "calibration_36.873-uma-k10.png", "paper_vs_3gpp.png"} <= names


@pytest.mark.parametrize("argv,message", [
    (["--case", "36.873-rma"], "--case must be among"),
    (["--drops", "0"], "--drops must be >= 1"),
    (["--radio", "indoor_ratio=1.5"], "radio.indoor_ratio must be in [0, 1]"),
    (["--radio", "indoor_ratio=-0.1"], "radio.indoor_ratio must be in [0, 1]"),
    (["--radio", "no_such_key=1"], "unknown radio key"),
])
def test_calibrate_cli_rejects_bad_input_and_writes_nothing(tmp_path, capsys, argv, message) -> None:
    out = tmp_path / "cal"
    assert main(["calibrate", *argv, "--out", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_run_calibration_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="case must be among"):
        run_calibration(["nope"])
    with pytest.raises(ValueError, match="drops must be an int >= 1"):
        run_calibration(["38.901-uma"], drops=0)
    with pytest.raises(TypeError, match="drops must be an int"):
        run_calibration(["38.901-uma"], drops=2.5)  # type: ignore[arg-type]


def test_3d_fields_need_a_3d_model() -> None:
    with pytest.raises(ValueError, match="radio.indoor_ratio must be 0 with radio.pathloss_model 'winner\\+'"):
        RadioConfig(indoor_ratio=0.5)
    with pytest.raises(ValueError, match="radio.antenna_model must be 'sector'"):
        RadioConfig(antenna_model="3gpp-3d")
    with pytest.raises(ValueError, match="radio.carrier_ghz must be in \\[0.45, 6\\]"):
        RadioConfig(pathloss_model="3gpp-36.873-uma", carrier_ghz=28.0)
    assert RadioConfig(pathloss_model="3gpp-38.901-uma", carrier_ghz=28.0).carrier_ghz == 28.0
    with pytest.raises(ValueError, match="radio.building_floors must be"):
        RadioConfig(pathloss_model="3gpp-38.901-uma", building_floors=(5, 4))
    cfg = core_config(Scenario.paper())
    cfg["indoor_ratio"] = 0.5  # the core checks on its own
    with pytest.raises(ValueError, match="indoor_ratio must be 0 unless"):
        _core.Simulator(cfg, 0)


def test_paper_scenario_has_no_3d_state() -> None:
    state = _core.Simulator(core_config(Scenario.paper()), 0).state()
    assert not state["indoor"].any()
    np.testing.assert_array_equal(state["ue_height"], 1.5)
    np.testing.assert_array_equal(state["penetration_db"], 0.0)
