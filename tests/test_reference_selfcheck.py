"""Self-checks of the NumPy reference model in tests/reference.py (closed forms, invariants).

These guard the reference itself; they import nothing from pyslice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import reference as ref  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None)
MB = 100 * 180e3  # M * B
P_PRB = 10.0 ** ((46.0 - 30.0) / 10.0) / 100  # 0.398 W per PRB
NOISE = 10.0 ** ((-174.0 + 10.0 * math.log10(180e3) + 9.0 - 30.0) / 10.0)


# ------------------------------------------------------------------------------------- path loss

def test_breakpoint_by_hand():
    # 4 * (25-1) * (1.5-1) * 2.6e9 / 299792458 = 1.248e11 / 2.99792458e8 = 416.28799 m
    assert ref.breakpoint_m(2.6, 25.0, 1.5) == pytest.approx(416.28799, abs=1e-4)


# Hand evaluation (log10 0.52 = -0.2839967, log10 24 = 1.3802112, log10 0.5 = -0.3010300,
# log10 25 = 1.3979400, log10 2.6 = 0.4149733, log10 20 = 1.3010300, log10 17.625 = 1.2461291):
# winner+ LOS 100 m  (< d'BP): 26*2 + 39 + 20*(-0.2839967)                          = 85.320067
# winner+ LOS 1000 m (>= d'BP): 40*3 + 13.47 - 14*1.3802112 + 14*0.3010300
#                               + 6*(-0.2839967)                                    = 116.657483
# winner+ NLOS: (44.9 - 6.55*1.39794) = 35.743493 per decade; 34.46 + 5.83*1.39794 - 23*0.2839967
#               = 36.078064 -> 100 m: 71.486986 + 36.078064 = 107.565050; 1000 m: 143.308543
# UMa LOS 100 m: 22*2 + 28 + 20*0.4149733                                           = 80.299467
# UMa LOS 1000 m: 40*3 + 7.8 - 18*1.3802112 + 18*0.30103 + 2*0.4149733              = 109.204684
# UMa NLOS: 161.04 + 0.4*1.30103 - (24.37 - 3.7*0.64)*1.39794 + 39.086386*(log10 d - 3)
#           + 8.299467 - (3.2*1.2461291**2 - 4.97)
#           -> 1000 m: 161.04 + 0.520412 - 30.757476 + 8.299467 + 0.000919 = 139.103322
#           -> 100 m: 139.103322 - 39.086386                                = 100.016936
HAND = {
    ("winner+", True, 100.0): 85.320067,
    ("winner+", True, 1000.0): 116.657483,
    ("winner+", False, 100.0): 107.565050,
    ("winner+", False, 1000.0): 143.308543,
    ("3gpp-36.814-uma", True, 100.0): 80.299467,
    ("3gpp-36.814-uma", True, 1000.0): 109.204684,
    ("3gpp-36.814-uma", False, 100.0): 100.016936,
    ("3gpp-36.814-uma", False, 1000.0): 139.103322,
}


@pytest.mark.parametrize("key", sorted(HAND, key=str))
def test_pathloss_hand_values(key):
    model, los, d = key
    got = float(ref.pathloss_db(d, los, 2.6, 25.0, 1.5, model))
    assert got == pytest.approx(HAND[key], abs=2e-5)


def test_pathloss_vectorised_and_broadcast():
    d = np.array([[100.0, 1000.0], [100.0, 1000.0]])
    los = np.array([[True], [False]])
    pl = ref.pathloss_db(d, los)
    assert pl.shape == (2, 2) and pl.dtype == np.float64
    np.testing.assert_allclose(pl, [[85.320067, 116.657483], [107.565050, 143.308543]], atol=2e-5)


def test_pathloss_unknown_model():
    with pytest.raises(ValueError):
        ref.pathloss_db(100.0, True, model="free-space")


@pytest.mark.parametrize("model", ref.MODELS)
@pytest.mark.parametrize("los", [True, False])
def test_pathloss_clamped(model, los):
    assert ref.pathloss_db(1.0, los, model=model) == ref.pathloss_db(35.0, los, model=model)
    assert ref.pathloss_db(0.0, los, model=model) == ref.pathloss_db(35.0, los, model=model)
    assert ref.pathloss_db(9e4, los, model=model) == ref.pathloss_db(5000.0, los, model=model)


BP = 4 * 24 * 0.5 * 2.6e9 / 299792458.0
SLOPES = {  # dB per decade inside each branch
    ("winner+", "near"): 26.0, ("winner+", "far"): 40.0,
    ("winner+", "nlos"): 44.9 - 6.55 * math.log10(25.0),
    ("3gpp-36.814-uma", "near"): 22.0, ("3gpp-36.814-uma", "far"): 40.0,
    ("3gpp-36.814-uma", "nlos"): 43.42 - 3.1 * math.log10(25.0),
}


@SETTINGS
@given(d=st.floats(35.0, BP / 2 * 0.999), model=st.sampled_from(ref.MODELS))
def test_los_near_branch_slope(d, model):
    diff = ref.pathloss_db(2 * d, True, model=model) - ref.pathloss_db(d, True, model=model)
    assert diff == pytest.approx(SLOPES[(model, "near")] * math.log10(2.0), rel=1e-9)


@SETTINGS
@given(d=st.floats(BP, 2500.0), model=st.sampled_from(ref.MODELS))
def test_los_far_branch_slope(d, model):
    diff = ref.pathloss_db(2 * d, True, model=model) - ref.pathloss_db(d, True, model=model)
    assert diff == pytest.approx(SLOPES[(model, "far")] * math.log10(2.0), rel=1e-9)


@SETTINGS
@given(d=st.floats(35.0, 2500.0), model=st.sampled_from(ref.MODELS))
def test_nlos_slope(d, model):
    diff = ref.pathloss_db(2 * d, False, model=model) - ref.pathloss_db(d, False, model=model)
    assert diff == pytest.approx(SLOPES[(model, "nlos")] * math.log10(2.0), rel=1e-9)


def test_far_branch_by_hand_just_past_breakpoint():
    # far branch evaluated exactly at d'BP (d >= d'BP uses the far branch)
    d = BP
    expect = 40 * math.log10(d) + 13.47 - 14 * math.log10(24) - 14 * math.log10(0.5) + 6 * math.log10(0.52)
    assert float(ref.pathloss_db(d, True)) == pytest.approx(expect, rel=1e-12)
    d2 = BP * (1 - 1e-9)
    expect2 = 26 * math.log10(d2) + 39 + 20 * math.log10(0.52)
    assert float(ref.pathloss_db(d2, True)) == pytest.approx(expect2, rel=1e-12)


def test_shadow_sigma():
    s = ref.shadow_sigma_db([100.0, 1000.0, 100.0, 1000.0], [True, True, False, False])
    np.testing.assert_array_equal(s, [4.0, 6.0, 8.0, 8.0])
    s = ref.shadow_sigma_db([100.0, 1000.0, 100.0, 1000.0], [True, True, False, False],
                            model="3gpp-36.814-uma")
    np.testing.assert_array_equal(s, [4.0, 4.0, 6.0, 6.0])
    # winner+: breakpoint on the clamped distance, >= is "beyond"
    assert ref.shadow_sigma_db(BP, True) == 6.0


# --------------------------------------------------------------------------------------------- LOS

def test_plos_at_clamp():
    # 18/35 * (1 - e^(-35/63)) + e^(-35/63) = 0.5142857 * 0.4262470 + 0.5737530 = 0.7929659
    for d in (0.0, 1.0, 18.0, 35.0):
        assert float(ref.los_probability(d)) == pytest.approx(0.7929659, abs=1e-7)
    # without the clamp, P_LOS = 1 for d <= 18 m
    np.testing.assert_allclose(ref.los_probability([1.0, 10.0, 18.0], d_min=1.0), 1.0)


@SETTINGS
@given(d=st.floats(0.0, 1e5), d2=st.floats(0.0, 1e5))
def test_plos_bounds_and_monotone(d, d2):
    p, p2 = ref.los_probability([d, d2])
    assert 0.0 <= p <= 1.0 and 0.0 <= p2 <= 1.0
    if d <= d2:
        assert p >= p2 - 1e-15


def test_normal_cdf():
    np.testing.assert_allclose(ref.normal_cdf([0.0, 1.959963984540054, -1.0]),
                               [0.5, 0.975, 0.15865525393145707], rtol=1e-12)


# ----------------------------------------------------------------------------------------- antenna

def test_antenna_values():
    assert float(ref.antenna_gain_db(0.0)) == 14.0
    assert float(ref.antenna_gain_db(35.0)) == pytest.approx(11.0, abs=1e-12)  # half-power
    assert float(ref.antenna_gain_db(70.0)) == pytest.approx(2.0, abs=1e-12)  # 14 - 12
    assert float(ref.antenna_gain_db(180.0)) == -11.0  # floor 14 - 25
    edge = 70.0 * math.sqrt(25.0 / 12.0)  # 101.036 deg: floor reached
    assert float(ref.antenna_gain_db(edge)) == pytest.approx(-11.0, abs=1e-9)
    assert float(ref.antenna_gain_db(edge - 1.0)) > -11.0


@SETTINGS
@given(phi=st.floats(-1000.0, 1000.0))
def test_antenna_symmetric_periodic_floor(phi):
    g = float(ref.antenna_gain_db(phi))
    assert g == pytest.approx(float(ref.antenna_gain_db(-phi)), abs=1e-9)
    assert g == pytest.approx(float(ref.antenna_gain_db(phi + 360.0)), abs=1e-9)
    assert -11.0 <= g <= 14.0


# ------------------------------------------------------------------------------------------- se

def test_se_thresholds():
    assert float(ref.spectral_efficiency(0.0999999)) == 0.0
    assert float(ref.spectral_efficiency(0.0)) == 0.0
    assert float(ref.spectral_efficiency(0.1)) == pytest.approx(0.6 * math.log2(1.1), rel=1e-14)
    assert float(ref.spectral_efficiency(1.0)) == pytest.approx(0.6, rel=1e-14)
    gcap = 2.0 ** (4.4 / 0.6) - 1.0  # 160.27
    assert float(ref.spectral_efficiency(gcap * 1.0001)) == 4.4
    assert float(ref.spectral_efficiency(1e9)) == 4.4
    assert float(ref.spectral_efficiency(gcap * 0.99)) < 4.4


@SETTINGS
@given(a=st.floats(0.0, 1e6), b=st.floats(0.0, 1e6))
def test_se_monotone(a, b):
    sa, sb = ref.spectral_efficiency([a, b])
    if a <= b:
        assert sa <= sb
    assert 0.0 <= sa <= 4.4


def test_boresights():
    assert tuple(ref.sector_boresights_deg()) == (30.0, 150.0, 270.0)


# -------------------------------------------------------------------------------------- link gains

def test_link_gain_single_site_boresight():
    ue = [[100 * math.cos(math.radians(30)), 100 * math.sin(math.radians(30))]]
    # LOS forced (Phi(-10) ~ 0 < P_LOS), no shadow
    gain, los = ref.link_gains([[0.0, 0.0]], ue, [[0.0]], [[-10.0]])
    assert gain.shape == (3, 1) and los.shape == (1, 1) and bool(los[0, 0])
    np.testing.assert_allclose(gain[0, 0], 10 ** ((14.0 - 85.320067) / 10), rtol=1e-6)
    # sectors 1 and 2 see the UE at -120 / -240 deg -> floor -11 dBi
    np.testing.assert_allclose(gain[1:, 0], 10 ** ((-11.0 - 85.320067) / 10), rtol=1e-6)
    # NLOS forced, shadow z = 1 -> 8 dB extra loss
    gain2, los2 = ref.link_gains([[0.0, 0.0]], ue, [[1.0]], [[10.0]])
    assert not bool(los2[0, 0])
    np.testing.assert_allclose(gain2[0, 0], 10 ** ((14.0 - 107.565050 - 8.0) / 10), rtol=1e-6)
    gain3, _ = ref.link_gains([[0.0, 0.0]], ue, [[1.0]], [[10.0]], shadowing=False)
    np.testing.assert_allclose(gain3[0, 0], 10 ** ((14.0 - 107.565050) / 10), rtol=1e-6)


def test_link_gain_cell_indexing():
    sites = np.array([[0.0, 0.0], [500.0, 0.0]])
    # UE at 150 deg from site 1, 200 m away -> best cell 3*1 + 1 = 4
    ue = sites[1] + 200 * np.array([math.cos(math.radians(150)), math.sin(math.radians(150))])
    gain, los = ref.link_gains(sites, ue[None, :], np.zeros((1, 2)), np.full((1, 2), -10.0))
    assert gain.shape == (6, 1) and los.shape == (1, 2)
    # angle from site 1 is exactly the boresight of sector 1
    d = 200.0
    expect = 10 ** ((14.0 - (26 * math.log10(d) + 39 + 20 * math.log10(0.52))) / 10)
    np.testing.assert_allclose(gain[4, 0], expect, rtol=1e-12)
    assert int(np.argmax(gain[:, 0])) == 4


def test_link_gain_los_statistics():
    rng = np.random.default_rng(1)
    n = 40000
    ue = np.column_stack([np.full(n, 120.0), np.zeros(n)])
    z = rng.standard_normal((n, 1))
    _, los = ref.link_gains([[0.0, 0.0]], ue, np.zeros((n, 1)), z)
    p = float(ref.los_probability(120.0))
    assert abs(los.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_link_gain_culling_and_wrap():
    sites = np.array([[0.0, 0.0], [1000.0, 0.0]])
    ue = np.array([[100.0, 0.0]])
    zs = np.array([[0.3, -0.2]])
    zl = np.array([[0.1, 1.5]])
    g_all, los_all = ref.link_gains(sites, ue, zs, zl)
    g_cut, los_cut = ref.link_gains(sites, ue, zs, zl, interference_radius_m=500.0)
    np.testing.assert_array_equal(g_cut[:3], g_all[:3])
    np.testing.assert_array_equal(g_cut[3:], 0.0)
    np.testing.assert_array_equal(los_cut, los_all)
    # radius exactly equal to the distance: not "farther than" -> kept
    g_eq, _ = ref.link_gains(sites, ue, zs, zl, interference_radius_m=900.0)
    np.testing.assert_array_equal(g_eq, g_all)
    # wrap: an image of site 1 at (-200, 0) is nearest (300 m instead of 900 m)
    images = np.array([[0.0, 0.0], [-1200.0, 0.0], [1200.0, 0.0]])
    g_w, _ = ref.link_gains(sites, ue, zs, zl, wrap_images=images)
    np.testing.assert_array_equal(g_w[:3], g_all[:3])  # site 0: own position is nearest
    moved = np.array([[0.0, 0.0], [-200.0, 0.0]])
    g_m, _ = ref.link_gains(moved, ue, zs, zl)
    np.testing.assert_allclose(g_w[3:], g_m[3:], rtol=1e-12)


# ------------------------------------------------------------------------------------ fixed point

def random_network(seed, K=None, U=None, N=None, demand_scale=2e6):
    rng = np.random.default_rng(seed)
    K = K or int(rng.integers(1, 7))
    U = U or int(rng.integers(1, 40))
    N = N or int(rng.integers(1, 4))
    gain = 10.0 ** rng.uniform(-14.5, -8.0, size=(K, U))
    serving = np.argmax(gain, axis=0) if rng.random() < 0.7 else rng.integers(0, K, U)
    slice_of = rng.integers(0, N, U)
    demand = rng.uniform(0, demand_scale, U) * (rng.random(U) < 0.8)
    shares = rng.dirichlet(np.ones(N), size=K)
    return gain, serving, slice_of, demand, shares


def solve(gain, serving, slice_of, demand, shares, rho0=None, tol=1e-12, max_iter=20000, P=P_PRB):
    return ref.fixed_point(gain, serving, slice_of, demand, shares, P, NOISE, 180e3, 100, rho0,
                           tol=tol, max_iter=max_iter)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_fixed_point_bounds_and_uniqueness(seed):
    gain, serving, slice_of, demand, shares = random_network(seed)
    K = gain.shape[0]
    r0, x0, it0, d0 = solve(gain, serving, slice_of, demand, shares, np.zeros(K))
    r1, x1, it1, d1 = solve(gain, serving, slice_of, demand, shares, np.ones(K))
    assert d0["converged"] and d1["converged"]
    assert np.all(r0 >= 0) and np.all(r0 <= 1 + 1e-12)
    assert np.all(r0 <= r1 + 1e-9)  # from below / from above
    np.testing.assert_allclose(r0, r1, atol=1e-5)
    # default tolerance too
    r0d, *_ = solve(gain, serving, slice_of, demand, shares, np.zeros(K), tol=1e-6, max_iter=200)
    r1d, *_ = solve(gain, serving, slice_of, demand, shares, np.ones(K), tol=1e-6, max_iter=200)
    np.testing.assert_allclose(r0d, r1d, atol=1e-5)
    # rho is a fixed point: F(rho) == rho within tolerance, and x is min-consistent
    assert np.all(np.minimum(shares, x0).sum(1) == r0)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), factor=st.floats(1.0, 5.0))
def test_fixed_point_monotone_in_demand(seed, factor):
    gain, serving, slice_of, demand, shares = random_network(seed)
    rng = np.random.default_rng(seed + 1)
    more = demand * factor + rng.uniform(0, 1e5, demand.shape) * (rng.random(demand.shape) < 0.5)
    r_lo, *_ = solve(gain, serving, slice_of, demand, shares)
    r_hi, *_ = solve(gain, serving, slice_of, more, shares)
    assert np.all(r_hi >= r_lo - 1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_fixed_point_iterates_monotone_from_zero(seed):
    gain, serving, slice_of, demand, shares = random_network(seed)
    prev = np.zeros(gain.shape[0])
    for m in range(1, 8):
        r, _, it, _ = solve(gain, serving, slice_of, demand, shares, np.zeros(gain.shape[0]),
                            tol=0.0, max_iter=m)
        assert it == m
        assert np.all(r >= prev - 1e-15)
        prev = r


def test_fixed_point_zero_demand():
    gain, serving, slice_of, demand, shares = random_network(7, K=5, U=20, N=3)
    r, x, it, det = solve(gain, serving, slice_of, np.zeros(20), shares, np.zeros(5), tol=1e-6)
    np.testing.assert_array_equal(r, 0.0)
    np.testing.assert_array_equal(x, 0.0)
    assert it == 1
    # from a warm start it decays to zero in one evaluation, confirmed by a second
    r, x, it, det = solve(gain, serving, slice_of, np.zeros(20), shares, np.full(5, 0.7), tol=1e-6)
    np.testing.assert_array_equal(r, 0.0)
    assert it == 2


def test_fixed_point_bookkeeping():
    gain, serving, slice_of, demand, shares = random_network(11, K=4, U=25, N=2, demand_scale=4e6)
    rho0 = np.full(4, 0.3)
    r1, x1, it1, d1 = solve(gain, serving, slice_of, demand, shares, rho0, tol=1e-6, max_iter=1)
    assert it1 == 1 and not d1["converged"]
    np.testing.assert_array_equal(d1["rho_prev"], rho0)
    # Gauss-Seidel: cell k's UEs see this sweep's loads of cells < k and the start's of cells > k
    for k in range(4):
        mixed = np.concatenate([r1[:k], rho0[k:]])
        mine = serving == k
        np.testing.assert_allclose(d1["sinr_eval"][mine], ref.sinr(gain, serving, mixed, P_PRB, NOISE)[mine],
                                   rtol=1e-13)
    assert not np.allclose(d1["sinr_eval"], ref.sinr(gain, serving, rho0, P_PRB, NOISE))  # not Jacobi
    np.testing.assert_array_equal(d1["sinr"], ref.sinr(gain, serving, r1, P_PRB, NOISE))
    np.testing.assert_array_equal(r1, np.minimum(shares, x1).sum(1))
    # full run: one sweep from rho_prev reproduces the last sweep
    r, x, it, d = solve(gain, serving, slice_of, demand, shares, rho0, tol=1e-6, max_iter=200)
    r_chk, x_chk, _, _ = solve(gain, serving, slice_of, demand, shares, d["rho_prev"], max_iter=1)
    np.testing.assert_array_equal(x, x_chk)
    np.testing.assert_array_equal(r, r_chk)
    assert np.max(np.abs(r - d["rho_prev"])) < 1e-6
    # iterations count: rerunning with max_iter = it - 1 does not converge
    if it > 1:
        *_, dd = solve(gain, serving, slice_of, demand, shares, rho0, tol=1e-6, max_iter=it - 1)
        assert not dd["converged"]


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_isolated_cells_closed_form(seed):
    rng = np.random.default_rng(seed)
    K, U, N = int(rng.integers(1, 5)), int(rng.integers(1, 30)), int(rng.integers(1, 4))
    serving = rng.integers(0, K, U)
    slice_of = rng.integers(0, N, U)
    gain = np.zeros((K, U))
    gain[serving, np.arange(U)] = 10.0 ** rng.uniform(-14.5, -9.0, U)  # other gains 0
    demand = rng.uniform(0, 3e6, U)
    shares = rng.dirichlet(np.ones(N), size=K)
    rho, x, it, det = solve(gain, serving, slice_of, demand, shares, np.zeros(K), tol=1e-6,
                            max_iter=200)
    gamma = P_PRB * gain[serving, np.arange(U)] / NOISE
    expect_x = np.zeros((K, N))
    for u in range(U):
        if gamma[u] >= 0.1:
            se = min(0.6 * math.log2(1 + gamma[u]), 4.4)
            expect_x[serving[u], slice_of[u]] += demand[u] / (MB * se)
    np.testing.assert_allclose(x, expect_x, rtol=1e-12)
    np.testing.assert_allclose(rho, np.minimum(shares, expect_x).sum(1), rtol=1e-12)
    np.testing.assert_array_equal(det["outage"], gamma < 0.1)
    assert it == (1 if np.all(rho == 0) else 2)


def test_outage_excluded_and_decided_at_full_load():
    # two cells, UE0 served by cell 0 with a strong interferer: SINR at full load < 0.1
    # but at rho_1 = 0 it would be fine -> still outage, and its demand leaves x untouched
    g_serv = 1e-12
    gain = np.array([[g_serv, 1e-11, 1e-14], [g_serv * 20, 1e-14, 1e-10]])
    serving = np.array([0, 0, 1])
    slice_of = np.array([0, 0, 0])
    shares = np.ones((2, 1))
    demand = np.array([1e6, 1e6, 1e5])
    rho, x, it, det = solve(gain, serving, slice_of, demand, shares, np.zeros(2))
    assert det["outage"].tolist() == [True, False, False]
    assert det["sinr_full"][0] == pytest.approx(1 / 20, rel=1e-2)
    assert det["sinr_eval"][0] > 0.1 and det["sinr"][0] > 0.1  # fine at the iterate, still outage
    demand2 = demand.copy()
    demand2[0] = 5e7
    rho2, x2, *_ = solve(gain, serving, slice_of, demand2, shares, np.zeros(2))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(rho, rho2)


def test_per_cell_power():
    gain, serving, slice_of, demand, shares = random_network(3, K=3, U=12, N=2)
    r_s, x_s, *_ = solve(gain, serving, slice_of, demand, shares, P=P_PRB)
    r_v, x_v, *_ = solve(gain, serving, slice_of, demand, shares, P=np.full(3, P_PRB))
    np.testing.assert_array_equal(r_s, r_v)
    np.testing.assert_array_equal(x_s, x_v)


# -------------------------------------------------------------------------------------------- KPIs

def kpis(serving, slice_of, active, outage, se, shares, x, demand, L, Q, dt=1.0, max_delay=10.0):
    return ref.slice_kpis(serving, slice_of, active, outage, se, shares, x, demand, L, Q, dt,
                          max_delay, 100, 180e3)


def x_from(serving, slice_of, active, outage, se, demand, K, N):
    x = np.zeros((K, N))
    for u in range(len(serving)):
        if active[u] and not outage[u] and demand[slice_of[u]] > 0:
            x[serving[u], slice_of[u]] += demand[slice_of[u]] / (MB * se[u])
    return x


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_kpis_light_load_closed_form(seed):
    rng = np.random.default_rng(seed)
    K, N, U = 2, 3, 30
    serving = rng.integers(0, K, U)
    slice_of = rng.integers(0, N, U)
    active = rng.random(U) < 0.7
    outage = np.zeros(U, bool)
    se = rng.uniform(0.5, 4.4, U)
    demand = rng.uniform(1e4, 1e6, N)
    L = rng.uniform(1e2, 1e4, N)
    shares = rng.dirichlet(np.ones(N) * 5, size=K)
    x = x_from(serving, slice_of, active, outage, se, demand, K, N)
    rho_s = x / shares
    D = np.zeros((K, N))
    for u in range(U):
        if active[u]:
            D[serving[u], slice_of[u]] += demand[slice_of[u]]
    lam = D / L
    busy = x > 0
    assume(np.all(rho_s < 0.95))
    assume(np.all(rho_s[busy] / (1 - rho_s[busy]) < lam[busy]))
    out = kpis(serving, slice_of, active, outage, se, shares, x, demand, L, np.zeros((K, N)))
    C = shares[serving, slice_of] * MB * se
    r_u = rho_s[serving, slice_of]
    for k in range(K):
        for n in range(N):
            m = active & (serving == k) & (slice_of == n)
            if m.any():
                np.testing.assert_allclose(out["throughput"][k, n], np.mean(C[m] * (1 - r_u[m])),
                                           rtol=1e-12)
                np.testing.assert_allclose(out["delay"][k, n],
                                           np.mean(L[n] / C[m] / (1 - r_u[m])), rtol=1e-12)
            else:
                assert out["throughput"][k, n] == 0 and out["delay"][k, n] == 0
            assert out["users"][k, n] == m.sum()
    np.testing.assert_allclose(out["served"], D, rtol=1e-12)
    np.testing.assert_array_equal(out["backlog"], 0.0)
    np.testing.assert_array_equal(out["load"], x)
    np.testing.assert_array_equal(out["outage"], 0)


def test_kpis_backlog_grows_then_drains():
    # one cell, one slice, 4 UEs at se = 2: M B se = 36 Mbit/s each at a = 1
    serving = np.zeros(4, int)
    slice_of = np.zeros(4, int)
    se = np.full(4, 2.0)
    active = np.ones(4, bool)
    outage = np.zeros(4, bool)
    shares = np.ones((1, 1))
    L = np.array([1e6])
    # overload: D = 4 * 18e6 = 72 Mbit/s, x = 2 -> Cap = D a / x = 36 Mbit/s
    demand = np.array([18e6])
    x = x_from(serving, slice_of, active, outage, se, demand, 1, 1)
    assert x[0, 0] == pytest.approx(2.0)
    Q = np.zeros((1, 1))
    out = kpis(serving, slice_of, active, outage, se, shares, x, demand, L, Q)
    assert out["served"][0, 0] == pytest.approx(36e6)
    assert out["backlog"][0, 0] == pytest.approx(36e6)
    # N = min(inf, lambda dt) + Q/L = 72 + 36 = 108 flows; T = (L/C)(1+N) = (1e6/36e6)*109
    assert out["flows"][0, 0] == pytest.approx(108.0)
    assert out["delay"][0, 0] == pytest.approx(109 / 36)
    assert out["throughput"][0, 0] == pytest.approx(1e6 / (109 / 36))
    Q = out["backlog"]
    out2 = kpis(serving, slice_of, active, outage, se, shares, x, demand, L, Q)
    assert out2["backlog"][0, 0] == pytest.approx(72e6)  # keeps growing
    # delay capped at max_delay
    out2c = kpis(serving, slice_of, active, outage, se, shares, x, demand, L, Q, max_delay=3.0)
    assert out2c["delay"][0, 0] == 3.0
    # light load: D = 4 * 4.5 Mbit/s = 18, x = 0.5, Cap = 36: drains 18 Mbit/s per step
    light = np.array([4.5e6])
    xl = x_from(serving, slice_of, active, outage, se, light, 1, 1)
    Q = out2["backlog"]
    out3 = kpis(serving, slice_of, active, outage, se, shares, xl, light, L, Q)
    assert out3["served"][0, 0] == pytest.approx(36e6)
    assert out3["backlog"][0, 0] == pytest.approx(54e6)
    Qs = [out3["backlog"][0, 0]]
    for _ in range(5):
        out3 = kpis(serving, slice_of, active, outage, se, shares, xl, light, L, out3["backlog"])
        Qs.append(out3["backlog"][0, 0])
    assert Qs[:4] == pytest.approx([54e6, 36e6, 18e6, 0.0])
    assert Qs[-1] == 0.0
    assert out3["served"][0, 0] == pytest.approx(18e6)
    # drained: back to the light-load closed form (rho = 0.5; N = min(1, 18) = 1 -> T = 2 L/C)
    assert out3["delay"][0, 0] == pytest.approx(2 * 1e6 / 36e6)


def test_kpis_no_users_and_all_outage():
    serving = np.array([0, 0, 1])
    slice_of = np.array([0, 0, 0])
    active = np.array([True, True, False])
    outage = np.array([True, True, False])
    se = np.array([0.0, 0.0, 3.0])
    shares = np.full((2, 2), 0.5)
    x = np.zeros((2, 2))
    out = kpis(serving, slice_of, active, outage, se, shares, x, np.array([1e6, 1e6]),
               np.array([1e5, 1e5]), np.zeros((2, 2)))
    for key in ("throughput", "delay", "demand", "served", "backlog"):
        assert np.all(np.isfinite(out[key]))
        np.testing.assert_array_equal(out[key], 0.0)
    np.testing.assert_array_equal(out["users"], [[2, 0], [0, 0]])
    np.testing.assert_array_equal(out["outage"], [[2, 0], [0, 0]])


def test_kpis_zero_share_slice():
    # a = 0 < x: rho_s = inf, Cap = 0, C_u = 0 -> T = max_delay, everything backlogged
    serving = np.array([0, 0])
    slice_of = np.array([0, 1])
    active = np.ones(2, bool)
    outage = np.zeros(2, bool)
    se = np.array([2.0, 2.0])
    shares = np.array([[1.0, 0.0]])
    demand = np.array([1e6, 1e6])
    x = x_from(serving, slice_of, active, outage, se, demand, 1, 2)
    out = kpis(serving, slice_of, active, outage, se, shares, x, demand, np.array([1e5, 1e5]),
               np.zeros((1, 2)), max_delay=10.0)
    assert out["utilisation"][0, 1] == math.inf
    assert out["served"][0, 1] == 0.0 and out["backlog"][0, 1] == 1e6
    assert out["delay"][0, 1] == 10.0 and out["throughput"][0, 1] == pytest.approx(1e4)


def test_traffic_aware_shares():
    users = np.array([[2, 1, 0], [0, 0, 0], [0, 3, 1]])
    d = np.array([1e6, 2e6, 4e6])
    a = ref.traffic_aware_shares(users, d)
    np.testing.assert_allclose(a[0], [2 / 4, 2 / 4, 0.0])
    np.testing.assert_allclose(a[1], [1 / 3] * 3)
    np.testing.assert_allclose(a[2], [0.0, 6 / 10, 4 / 10])
    np.testing.assert_allclose(a.sum(1), 1.0)


# -------------------------------------------------------------------------------------- full step

def test_link_budget_constants():
    assert ref.tx_power_per_prb_w(46.0, 100) == pytest.approx(39.810717055 / 100, rel=1e-9)
    # -174 + 52.5527 + 9 = -112.4473 dBm -> 5.6885e-15 W
    assert ref.noise_per_prb_w(-174.0, 180e3, 9.0) == pytest.approx(10 ** (-142.4473 / 10), rel=1e-5)


def test_step_kpis_composes():
    rng = np.random.default_rng(5)
    sites = np.array([[0.0, 0.0], [500.0, 0.0], [250.0, 433.0127], [750.0, 433.0127]])
    U, N = 60, 3
    ue = rng.uniform([-200, -200], [950, 650], size=(U, 2))
    zs = rng.standard_normal((U, 4))
    zl = rng.standard_normal((U, 4))
    gain, _ = ref.link_gains(sites, ue, zs, zl)
    serving = np.argmax(gain, axis=0)
    slice_of = rng.integers(0, N, U)
    active = rng.random(U) < 0.8
    shares = ref.equal_shares(12, N)
    demand = np.array([5e5, 1e6, 2e5])
    L = np.array([1e5, 8e5, 4e4])
    out = ref.step_kpis(sites, ue, zs, zl, serving, slice_of, active, shares, demand, L)
    assert out["iterations"] >= 1 and out["converged"]
    np.testing.assert_array_equal(out["gain"], gain)
    d_u = np.where(active, demand[slice_of], 0.0)
    rho, x, it, det = ref.fixed_point(gain, serving, slice_of, d_u, shares, out["tx_power_w"],
                                      out["noise_w"], 180e3, 100, np.zeros(12))
    np.testing.assert_array_equal(out["rho"], rho)
    np.testing.assert_array_equal(out["x"], x)
    np.testing.assert_array_equal(out["load"], x)
    assert out["users"].sum() == active.sum()
    assert np.all(out["cell_load"] <= 1 + 1e-12)
    for key in ("throughput", "delay", "backlog", "served", "demand"):
        assert np.all(np.isfinite(out[key]))
    np.testing.assert_allclose(out["sinr_db"], 10 * np.log10(det["sinr"]))
