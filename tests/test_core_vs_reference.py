"""The C++ core against the independent NumPy reference (tests/reference.py) at relative 1e-9.

Covers the vectorised radio functions, the load-coupling fixed point and full simulator steps
(gains, LOS states, KPIs, backlog, SINR, iteration counts) on several scenarios, plus the
built-in share policies.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario, Simulator, _core
from pyslice.sim import radio
from pyslice.sim.core_config import wrap_vectors
from helpers import with_ues

import reference as ref  # noqa: E402
from share_samples import random_shares  # noqa: E402

RTOL = 1e-9
SETTINGS = settings(max_examples=80, deadline=None)
MODELS = ("winner+", "3gpp-36.814-uma")


# ------------------------------------------------------------------------------------------ helpers


def small(sc: Scenario, ues: int = 4) -> Scenario:
    return with_ues(ues, sc)


def with_radio(sc: Scenario, **kw) -> Scenario:
    return dataclasses.replace(sc, radio=dataclasses.replace(sc.radio, **kw))


def with_layout(sc: Scenario, **kw) -> Scenario:
    return dataclasses.replace(sc, layout=dataclasses.replace(sc.layout, **kw))


def with_traffic(sc: Scenario, **kw) -> Scenario:
    return dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, **kw))


def wrap_images(sc: Scenario):
    """All i*T1 + j*T2, i, j in {-1, 0, 1} (None without wrap-around)."""
    t = wrap_vectors(sc)
    if t.shape[0] == 0:
        return None
    return np.array([i * t[0] + j * t[1] for i in (-1, 0, 1) for j in (-1, 0, 1)])


def ref_kwargs(sc: Scenario) -> dict:
    r, t, lay = sc.radio, sc.traffic, sc.layout
    return dict(
        fc_ghz=r.carrier_ghz, h_bs=lay.bs_height_m, h_ut=lay.ue_height_m, model=r.pathloss_model,
        d_min=r.min_distance_m, d_max=r.max_distance_m, g_max=r.antenna_gain_dbi,
        beamwidth=r.antenna_beamwidth_deg, a_max=r.antenna_max_attenuation_db, shadowing=r.shadowing,
        wrap_images=wrap_images(sc), interference_radius_m=r.interference_radius_m,
        tx_power_dbm=r.tx_power_dbm, noise_density_dbm_hz=r.noise_density_dbm_hz,
        noise_figure_db=r.noise_figure_db, n_prb=r.n_prb, prb_bandwidth_hz=r.prb_bandwidth_hz,
        step_seconds=t.step_seconds, max_delay_s=t.max_delay_s,
        buffer_s=t.buffer_s if t.delay_model == "finite-buffer" else 0.0,
    )




def reference_step(sim: Simulator, prev: dict, post: dict, shares: np.ndarray) -> dict:
    """reference.step_kpis on the simulator's post-step state, warm start and backlog from prev."""
    sc = sim.scenario
    culled = np.isnan(post["shadow_z"])
    assert np.array_equal(culled, np.isnan(post["los_z"]))
    assert np.array_equal(culled, post["los"] < 0)
    return ref.step_kpis(
        sim.site_positions(), post["positions"],
        np.where(culled, 0.0, post["shadow_z"]), np.where(culled, 0.0, post["los_z"]),
        post["serving"], post["slice_of"], post["active"], shares,
        [s.demand_bps for s in sc.slices], [s.flow_size_bits for s in sc.slices],
        backlog_bits=prev["backlog"], rho0=prev["rho"], **ref_kwargs(sc),
    )


def assert_step_matches(sim: Simulator, prev: dict, post: dict, res, shares: np.ndarray) -> dict:
    want = reference_step(sim, prev, post, shares)
    culled = np.isnan(post["shadow_z"])
    # reference culls sites farther than the radius; the core must track exactly the others
    _, _, det = ref.link_gains(
        sim.site_positions(), post["positions"], np.zeros(culled.shape), np.zeros(culled.shape),
        return_details=True, **{k: v for k, v in ref_kwargs(sim.scenario).items()
                                if k in ("fc_ghz", "h_bs", "h_ut", "model", "d_min", "d_max", "g_max",
                                         "beamwidth", "a_max", "shadowing", "wrap_images",
                                         "interference_radius_m")})
    np.testing.assert_array_equal(culled, det["culled"])
    np.testing.assert_allclose(sim.gains(), want["gain"], rtol=RTOL, atol=0)
    np.testing.assert_array_equal(post["los"][~culled] == 1, want["los"][~culled])
    np.testing.assert_array_equal(res.shares, shares)
    for name in ("throughput", "delay", "served", "backlog", "demand"):
        np.testing.assert_allclose(getattr(res, name), want[name], rtol=RTOL, atol=0, err_msg=name)
    np.testing.assert_allclose(res.load, want["load"], rtol=RTOL, atol=0, err_msg="load")
    np.testing.assert_allclose(res.cell_load, want["cell_load"], rtol=RTOL, atol=1e-15, err_msg="cell_load")
    np.testing.assert_array_equal(res.users, want["users"])
    np.testing.assert_array_equal(res.outage, want["outage"])
    np.testing.assert_allclose(res.sinr_db, want["sinr_db"], rtol=RTOL, atol=1e-9, err_msg="sinr_db")
    assert res.iterations == want["iterations"]
    # the state after the step is the one the next step warm-starts from
    np.testing.assert_array_equal(post["rho"], res.cell_load)
    np.testing.assert_array_equal(post["backlog"], res.backlog)
    return want


# ------------------------------------------------------------------------------------ radio functions

finite = dict(allow_nan=False, allow_infinity=False)
distance = st.one_of(
    st.floats(0.0, 35.0, **finite),
    st.floats(35.0, 5000.0, **finite),
    st.floats(5000.0, 1e6, **finite),
    st.sampled_from([0.0, 1.0, 34.999999, 35.0, 35.000001, 4999.999, 5000.0, 5000.001, 1e5]),
)


@st.composite
def radio_params(draw):
    h_ut = draw(st.floats(1.05, 10.0))
    h_bs = draw(st.floats(h_ut + 1.0, 100.0))
    return dict(fc_ghz=draw(st.floats(0.45, 6.0)), h_bs=h_bs, h_ut=h_ut, model=draw(st.sampled_from(MODELS)))


@SETTINGS
@given(d=st.lists(distance, min_size=1, max_size=40), data=st.data(), params=radio_params())
def test_pathloss_and_sigma(d, data, params):
    d = np.array(d)
    los = np.array(data.draw(st.lists(st.booleans(), min_size=len(d), max_size=len(d))))
    # also exercise both sides of the breakpoint and the breakpoint itself
    bp = ref.breakpoint_m(params["fc_ghz"], params["h_bs"], params["h_ut"])
    d = np.concatenate([d, bp * np.array([0.999, 1 - 1e-9, 1 + 1e-9, 1.001]), [bp]])
    los = np.concatenate([los, [True] * 5])
    np.testing.assert_allclose(radio.pathloss_db(d, los, **params), ref.pathloss_db(d, los, **params), rtol=RTOL)
    np.testing.assert_array_equal(radio.shadow_sigma_db(d, los, **params), ref.shadow_sigma_db(d, los, **params))
    # scalar LOS flag broadcast
    for flag in (True, False):
        np.testing.assert_allclose(radio.pathloss_db(d, flag, **params), ref.pathloss_db(d, flag, **params),
                                   rtol=RTOL)


@SETTINGS
@given(d=st.lists(distance, min_size=1, max_size=40),
       d_min=st.floats(1.0, 100.0), span=st.floats(10.0, 10000.0), model=st.sampled_from(MODELS))
def test_clamp_limits_and_los_probability(d, d_min, span, model):
    d = np.array(d)
    d_max = d_min + span
    np.testing.assert_allclose(radio.los_probability(d, d_min, d_max), ref.los_probability(d, d_min, d_max),
                               rtol=RTOL)
    np.testing.assert_allclose(radio.los_probability(d), ref.los_probability(d), rtol=RTOL)
    for los in (True, False):
        np.testing.assert_allclose(radio.pathloss_db(d, los, model=model, d_min=d_min, d_max=d_max),
                                   ref.pathloss_db(d, los, model=model, d_min=d_min, d_max=d_max), rtol=RTOL)


def test_radio_functions_keep_shape():
    d = np.array([[10.0, 100.0, 1000.0], [50.0, 500.0, 9000.0]])
    los = np.array([[True, False, True], [False, True, False]])
    for model in MODELS:
        out = radio.pathloss_db(d, los, model=model)
        assert out.shape == d.shape and out.dtype == np.float64
        np.testing.assert_allclose(out, ref.pathloss_db(d, los, model=model), rtol=RTOL)
    assert radio.los_probability(d).shape == d.shape
    assert radio.antenna_gain_db(d).shape == d.shape
    assert radio.spectral_efficiency(d).shape == d.shape


@pytest.mark.parametrize("model", MODELS)
def test_pathloss_exactly_at_breakpoint(model):
    # d'BP = 4 h'BS h'UT (fc in Hz) / c must round like the reference (exactly rounded: 416.28799080729374),
    # else a distance exactly on it takes a different LOS branch
    bp = ref.breakpoint_m(2.6, 25.0, 1.5)
    assert bp == 416.28799080729374
    np.testing.assert_allclose(radio.pathloss_db(bp, True, model=model), ref.pathloss_db(bp, True, model=model),
                               rtol=RTOL)


@SETTINGS
@given(phi=st.lists(st.floats(-1e4, 1e4, **finite), min_size=1, max_size=50),
       g=st.floats(0.0, 30.0), bw=st.floats(10.0, 180.0), am=st.floats(0.0, 60.0))
def test_antenna_gain(phi, g, bw, am):
    phi = np.array(phi + [0.0, 35.0, -35.0, 60.0, 180.0, -180.0, 360.0, 540.0, 720.0 + 30.0])
    np.testing.assert_allclose(radio.antenna_gain_db(phi, g, bw, am), ref.antenna_gain_db(phi, g, bw, am),
                               rtol=RTOL, atol=1e-9)  # atol: the gain may legitimately cross 0 dB
    np.testing.assert_allclose(radio.antenna_gain_db(phi), ref.antenna_gain_db(phi), rtol=RTOL, atol=1e-9)


@SETTINGS
@given(g=st.lists(st.one_of(st.floats(-10.0, 1e9, **finite), st.floats(0.05, 0.2),
                            st.sampled_from([0.0, 0.1, np.nextafter(0.1, 0.0), np.nextafter(0.1, 1.0),
                                             2.0 ** (4.4 / 0.6) - 1.0])),
                  min_size=1, max_size=60))
def test_spectral_efficiency(g):
    g = np.array(g)
    np.testing.assert_allclose(radio.spectral_efficiency(g), ref.spectral_efficiency(g), rtol=RTOL, atol=0)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), params=radio_params(), n=st.integers(1, 300),
       g=st.floats(0.0, 30.0), bw=st.floats(10.0, 180.0), am=st.floats(0.0, 60.0), shadowing=st.booleans())
def test_link_gains_kernel(seed, params, n, g, bw, am, shadowing):
    """The simulator's per-link kernel (radio.link_gains) against reference.link_gains."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.0, 6500.0, n) * (rng.random(n) < 0.97)  # beyond d_max, and some at the site itself
    theta = rng.uniform(-np.pi, np.pi, n)
    dx, dy = r * np.cos(theta), r * np.sin(theta)
    zs, zl = rng.standard_normal(n), rng.standard_normal(n) * 1.5
    out = radio.link_gains(dx, dy, zs, zl, gain_dbi=g, beamwidth_deg=bw, max_attenuation_db=am,
                           shadowing=shadowing, **params)
    want_gain, want_los, det = ref.link_gains(
        np.zeros((1, 2)), np.column_stack([dx, dy]), zs[:, None], zl[:, None], g_max=g, beamwidth=bw, a_max=am,
        shadowing=shadowing, return_details=True, **params)
    np.testing.assert_array_equal(out["los"] == 1, want_los[:, 0])
    np.testing.assert_allclose(out["distance"], det["distance"][:, 0], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(out["gain"], want_gain.T, rtol=RTOL, atol=0)
    np.testing.assert_allclose(out["loss_db"], det["pathloss_db"][:, 0] + det["shadow_db"][:, 0], rtol=RTOL)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 70), data=st.data())
def test_link_gains_do_not_depend_on_the_other_links_in_the_call(seed, n, data):
    """SIMD loop bodies and their scalar tails run the same arithmetic (no library calls whose
    vector and scalar versions round differently): a link's values are the same bits whichever
    links are evaluated with it (lazy mode evaluates changing subsets)."""
    rng = np.random.default_rng(seed)
    dx, dy = rng.uniform(-3000.0, 3000.0, n), rng.uniform(-3000.0, 3000.0, n)
    zs, zl = rng.standard_normal(n), rng.standard_normal(n)
    full = radio.link_gains(dx, dy, zs, zl)
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(i + 1, n))
    part = radio.link_gains(dx[i:j], dy[i:j], zs[i:j], zl[i:j])
    for key in ("distance", "angle_deg", "los", "loss_db", "gain"):
        np.testing.assert_array_equal(part[key], full[key][i:j], err_msg=key)


def test_link_angle_follows_atan2_at_signed_zeros():
    # A UE exactly at its site: the angle is libm's atan2 of the signed zeros (as NumPy's).
    dy = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 0.0, -0.0])
    dx = np.array([0.0, 0.0, -0.0, -0.0, -0.0, -0.0, 1.0, -1.0])
    out = radio.link_gains(dx, dy, np.zeros(8), np.zeros(8))
    np.testing.assert_array_equal(out["angle_deg"], np.degrees(np.arctan2(dy, dx)))
    np.testing.assert_array_equal(np.signbit(out["angle_deg"]), np.signbit(np.arctan2(dy, dx)))


def _los_threshold(p: float) -> float:
    """z with Phi(z) = p (bisection on the reference's normal CDF)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ref.normal_cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("d", [20.0, 35.0, 50.0, 120.0, 400.0, 1500.0, 4900.0])
def test_los_draw_is_exact_next_to_the_threshold(d):
    """The kernel screens Phi(z) < P_LOS(d) with a cheap approximation and decides draws close to
    the threshold exactly: states a hair either side of it must get the exact outcome."""
    p = float(ref.los_probability(d))
    z0 = _los_threshold(p)
    offsets = np.array([1e-12, 1e-10, 1e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-4])
    zl = np.concatenate([z0 - offsets, z0 + offsets])
    n = zl.size
    out = radio.link_gains(np.full(n, d), np.zeros(n), np.zeros(n), zl)
    want = ref.normal_cdf(zl) < p
    assert want[: offsets.size].all() and not want[offsets.size:].any()  # the offsets straddle the threshold
    np.testing.assert_array_equal(out["los"] == 1, want)


@SETTINGS
@given(d=st.floats(0.0, 6000.0), exponents=st.lists(st.floats(-11.0, -4.0), min_size=1, max_size=20))
def test_los_draw_is_exact_next_to_the_threshold_anywhere(d, exponents):
    p = float(ref.los_probability(d))
    z0 = _los_threshold(p)
    offsets = 10.0 ** np.array(exponents)
    zl = np.concatenate([z0 - offsets, z0 + offsets])
    n = zl.size
    out = radio.link_gains(np.zeros(n), np.full(n, d), np.zeros(n), zl)
    np.testing.assert_array_equal(out["los"] == 1, ref.normal_cdf(zl) < p)


def unmix64(a: int) -> int:
    """Inverse of the splitmix64 finaliser (xor-shifts undone, multipliers inverted mod 2^64)."""
    mask = ref._MASK64

    def unshift(y: int, s: int) -> int:
        x = y
        for _ in range(64 // s + 1):
            x = y ^ (x >> s)
        return x

    z = unshift(a, 31)
    z = unshift(z * pow(0x94D049BB133111EB, -1, 1 << 64) & mask, 27)
    z = unshift(z * pow(0xBF58476D1CE4E5B9, -1, 1 << 64) & mask, 30)
    return (z - 0x9E3779B97F4A7C15) & mask


def assert_innovations_match(keys, t):
    ws, wl = _core.testing.normal_innovations(np.asarray(keys, dtype=np.uint64), t)
    want_s, want_l = ref.normal_innovations(keys, t)
    np.testing.assert_allclose(ws, want_s, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(wl, want_l, rtol=1e-13, atol=1e-14)


@SETTINGS
@given(keys=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=100), t=st.integers(0, 2**40))
def test_normal_innovations_match_reference(keys, t):
    assert_innovations_match(keys, t)


def test_normal_innovations_at_quadrant_edges():
    # Hashes chosen directly (the finaliser is a bijection): u2 at and next to every eighth of a
    # turn, where the kernel's sin/cos switch quadrant or polynomial; u1 at both ends.
    los = [0, 1, 2**32 - 1] + [j * 2**29 + d for j in range(1, 8) for d in (-1, 0, 1)]
    his = [0, 2**31, 2**32 - 1]
    t = 12345
    hashes = [(hi << 32) | lo for hi in his for lo in los]
    keys = [unmix64(a) ^ t for a in hashes]
    np.testing.assert_array_equal(ref.mix64(np.array(keys, dtype=np.uint64) ^ np.uint64(t)),
                                  np.array(hashes, dtype=np.uint64))
    assert_innovations_match(keys, t)
    ws, wl = _core.testing.normal_innovations(np.array(keys, dtype=np.uint64), t)
    radius = np.sqrt(-2.0 * np.log((np.array(hashes, dtype=np.uint64) >> np.uint64(32)).astype(float) * 2.0**-32
                                   + 2.0**-32))
    np.testing.assert_allclose(np.hypot(ws, wl), radius, rtol=1e-15)


def test_normal_innovations_are_independent_standard_normals():
    keys = ref.mix64(np.arange(200_000, dtype=np.uint64))
    ws, wl = _core.testing.normal_innovations(keys, 7)
    for w in (ws, wl):
        assert abs(w.mean()) < 0.01 and abs(w.var() - 1.0) < 0.01
        assert abs(np.mean(w**4) - 3.0) < 0.05
        # Tail mass beyond 2 sigma: 2 (1 - Phi(2)) = 0.0455
        assert abs(np.mean(np.abs(w) > 2.0) - 0.0455) < 0.002
    assert abs(np.corrcoef(ws, wl)[0, 1]) < 0.01
    ws2, _ = _core.testing.normal_innovations(keys, 8)
    assert abs(np.corrcoef(ws, ws2)[0, 1]) < 0.01  # a new step draws afresh


def test_normal_innovations_rejects_bad_keys():
    with pytest.raises(ValueError, match="keys must have shape"):
        _core.testing.normal_innovations(np.zeros((2, 2), dtype=np.uint64), 0)


def _elementary_cases(rng):
    """(name, args, NumPy value, rtol, atol) over each function's whole range, with the edges."""
    x = np.concatenate([rng.uniform(-708.0, 709.0, 50_000), [-708.0, -700.0, -1e-300, 0.0, 1e-300, 1.0, 709.0]])
    yield "exp", (x,), np.exp(x), 1e-15 if _core.BUILT_WITH_FMA else 2e-13, 0.0
    pos = np.concatenate([10.0 ** rng.uniform(-307.0, 307.0, 50_000), 1.0 + rng.uniform(-1e-3, 1e-3, 5_000),
                          [2.2250738585072014e-308, 0.7071067811865475, 0.7071067811865476, 1.0,
                           1.4142135623730951, 1.4142135623730954, 1.7976931348623157e308]])
    yield "log", (pos,), np.log(pos), 2e-15, 0.0
    yield "log10", (pos,), np.log10(pos), 3e-15, 0.0
    r, theta = 10.0 ** rng.uniform(-3.0, 4.0, 50_000), rng.uniform(-np.pi, np.pi, 50_000)
    axes = np.array([0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 3.0])
    y = np.concatenate([r * np.sin(theta), np.repeat(axes, axes.size)])
    xx = np.concatenate([r * np.cos(theta), np.tile(axes, axes.size)])
    yield "atan2", (y, xx), np.arctan2(y, xx), 2e-15, 1e-15
    u = np.concatenate([rng.integers(0, 2**32, 50_000) * 2.0**-32, np.arange(0, 8) / 8.0,
                        np.arange(1, 8) / 8.0 - 2.0**-32, np.arange(0, 8) / 8.0 + 2.0**-32])
    yield "sin_turns", (u,), np.sin(2.0 * np.pi * u), 0.0, 1e-15
    yield "cos_turns", (u,), np.cos(2.0 * np.pi * u), 0.0, 1e-15


def test_inline_elementary_functions_are_within_a_few_ulp_of_numpy():
    """cpp/simd_math.hpp's branch-free exp, log, log10, atan2 and sin/cos, as the kernels compile
    them (-ffast-math, SIMD), against NumPy (libm) over their ranges."""
    for name, args, want, rtol, atol in _elementary_cases(np.random.default_rng(5)):
        got = _core.testing.elementary_function(name, *args)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    assert _core.testing.elementary_function("exp", [-708.5, -1000.0])[1] == 0.0  # below -708: 0
    assert np.array_equal(np.signbit(_core.testing.elementary_function("atan2", [-0.0, -0.0], [0.0, -0.0])), [True, True])


def test_inline_elementary_functions_reject_bad_input():
    with pytest.raises(ValueError, match="name must be one of"):
        _core.testing.elementary_function("tan", [0.5])
    with pytest.raises(ValueError, match="log needs a >= "):
        _core.testing.elementary_function("log", [1.0, 0.0])
    with pytest.raises(ValueError, match=r"sin_turns needs a in \[0, 1\)"):
        _core.testing.elementary_function("sin_turns", [1.0])
    with pytest.raises(ValueError, match="a must be finite"):
        _core.testing.elementary_function("exp", [np.nan])
    with pytest.raises(ValueError, match="b must have shape"):
        _core.testing.elementary_function("atan2", [1.0, 2.0], [1.0])


def test_link_gains_rejects_bad_input():
    with pytest.raises(ValueError, match="dy must have shape"):
        radio.link_gains(np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="los_z must be finite"):
        radio.link_gains(np.zeros(2), np.zeros(2), np.zeros(2), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="beamwidth_deg"):
        radio.link_gains(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), beamwidth_deg=0.0)
    with pytest.raises(ValueError, match="model must be"):
        radio.link_gains(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), model="cost231")


RADIO_CALLS = {
    "pathloss_db": (lambda x: radio.pathloss_db(x, True), "d_m"),
    "pathloss_db los": (lambda x: radio.pathloss_db([100.0], x), "los"),
    "shadow_sigma_db": (lambda x: radio.shadow_sigma_db(x, False), "d_m"),
    "los_probability": (radio.los_probability, "d_m"),
    "antenna_gain_db": (radio.antenna_gain_db, "phi_deg"),
    "spectral_efficiency": (radio.spectral_efficiency, "sinr"),
    "link_gains": (lambda x: radio.link_gains(x, [0.0], [0.0], [0.0]), "dx"),
    "link_gains los_z": (lambda x: radio.link_gains([1.0], [0.0], [0.0], x), "los_z"),
}


@pytest.mark.parametrize("call", sorted(RADIO_CALLS))
def test_radio_functions_reject_bad_input_naming_it(call):
    fn, name = RADIO_CALLS[call]
    with pytest.raises(TypeError, match=f"^{name} must be numeric"):
        fn(["x"])
    with pytest.raises(ValueError, match=f"^{name} must"):
        fn([np.nan])
    if name != "sinr":  # +inf SINR is meaningful (the 4.4 cap)
        with pytest.raises(ValueError, match=f"^{name} must"):
            fn([np.inf])


# ------------------------------------------------------------------------------------- load coupling

P_PRB = float(ref.tx_power_per_prb_w(46.0, 100))
NOISE = ref.noise_per_prb_w()


@st.composite
def coupling_problem(draw):
    K = draw(st.integers(1, 9))
    U = draw(st.integers(0, 60))
    N = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gain_db = rng.uniform(-140.0, -65.0, size=(K, U))
    gain = 10.0 ** (gain_db / 10.0)
    gain[rng.random((K, U)) < draw(st.sampled_from([0.0, 0.1, 0.4]))] = 0.0  # culled links
    serving = rng.integers(0, K, size=U)
    slice_of = rng.integers(0, N, size=U)
    scale = draw(st.sampled_from([1e4, 3e5, 2e6, 2e7]))
    demand = rng.uniform(0.0, scale, size=U)
    demand[rng.random(U) < 0.3] = 0.0
    shares = random_shares(rng, K, N)
    rho0 = draw(st.sampled_from(["none", "zeros", "ones", "random"]))
    rho0 = {"none": None, "zeros": np.zeros(K), "ones": np.ones(K), "random": rng.random(K)}[rho0]
    tx = P_PRB if draw(st.booleans()) else P_PRB * rng.uniform(0.1, 2.0, size=K)
    return dict(gain=gain, serving=serving, slice_of=slice_of, demand=demand, shares=shares, tx_power_w=tx,
                noise_w=NOISE, prb_bandwidth_hz=180e3, n_prb=100, rho0=rho0)


@settings(max_examples=300, deadline=None)
@given(p=coupling_problem(), max_iter=st.sampled_from([1, 2, 5, 200]),
       matrix=st.sampled_from(["auto", "dense", "sparse"]))
def test_solve_load_coupling_matches_reference(p, max_iter, matrix):
    rho, x, it = radio.solve_load_coupling(**p, max_iter=max_iter, interference_matrix=matrix)
    r_rho, r_x, r_it, _ = ref.fixed_point(**p, max_iter=max_iter)
    assert it == r_it
    np.testing.assert_allclose(rho, r_rho, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(x, r_x, rtol=RTOL, atol=0)
    assert rho.shape == (p["gain"].shape[0],) and x.shape == p["shares"].shape


@pytest.mark.parametrize("matrix", ["auto", "dense", "sparse"])
def test_cells_without_interferer_rows_couple_as_the_reference(matrix):
    """Two cells whose cross links are all culled (zero gain): no cell's interference block has a
    row. UBSan found the blocked solver taking ``&v[i]`` of the empty block storage here
    (tools/sanitize.sh); the result must still be the reference's."""
    rng = np.random.default_rng(7)
    serving = np.arange(6) % 2
    gain = 10.0 ** (rng.uniform(-120.0, -70.0, size=(2, 6)) / 10.0)
    gain[1 - serving, np.arange(6)] = 0.0
    p = dict(gain=gain, serving=serving, slice_of=np.arange(6) // 3, demand=rng.uniform(1e5, 2e6, size=6),
             shares=np.array([[0.4, 0.6], [0.5, 0.5]]), tx_power_w=P_PRB, noise_w=NOISE, prb_bandwidth_hz=180e3,
             n_prb=100, rho0=None)
    rho, x, it = radio.solve_load_coupling(**p, max_iter=200, interference_matrix=matrix)
    r_rho, r_x, r_it, _ = ref.fixed_point(**p, max_iter=200)
    assert it == r_it
    np.testing.assert_allclose(rho, r_rho, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(x, r_x, rtol=RTOL, atol=0)


# ------------------------------------------------------------------------------------ simulator step

PAPER = Scenario.paper()
SCENARIOS = {
    "paper-full": PAPER,
    "paper": small(PAPER),
    "uma": small(with_radio(PAPER, pathloss_model="3gpp-36.814-uma")),
    "no-shadowing": small(with_radio(PAPER, shadowing=False)),
    "wrap-paper": small(with_layout(PAPER, wrap_around=True)),
    "wrap-hex1": small(with_layout(PAPER, kind="hex", rings=1, wrap_around=True), 2),
    "hex1-culled": small(with_radio(with_layout(PAPER, kind="hex", rings=1), interference_radius_m=800.0), 2),
    "wrap-hex2-culled": small(with_radio(with_layout(PAPER, kind="hex", rings=2, wrap_around=True),
                                         interference_radius_m=900.0), 1),
    "radio-params": small(with_layout(with_radio(PAPER, carrier_ghz=3.5, tx_power_dbm=43.0, n_prb=50,
                                                 prb_bandwidth_hz=360e3, noise_figure_db=7.0,
                                                 antenna_gain_dbi=17.0, antenna_beamwidth_deg=65.0,
                                                 antenna_max_attenuation_db=20.0, min_distance_m=20.0,
                                                 max_distance_m=900.0),
                                      bs_height_m=32.0, ue_height_m=2.0, isd_m=400.0)),
    # heavy load, short steps, low delay cap: overload, backlog carried between steps, capped delays
    "overload": small(with_traffic(
        dataclasses.replace(PAPER, slices=tuple(dataclasses.replace(s, demand_bps=s.demand_bps * 8)
                                                for s in PAPER.slices)),
        step_seconds=0.25, max_delay_s=0.02, delay_model="fluid-backlog"), 6),
    # the same overload with a finite 10 ms buffer: drops instead of a backlog, bounded delays
    "overload-buffer": small(with_traffic(
        dataclasses.replace(PAPER, slices=tuple(dataclasses.replace(s, demand_bps=s.demand_bps * 8)
                                                for s in PAPER.slices)),
        step_seconds=0.25, max_delay_s=0.5, delay_model="finite-buffer", buffer_s=0.01), 6),
    "gauss-markov": small(dataclasses.replace(
        PAPER, slices=tuple(dataclasses.replace(s, mobility="gauss-markov") for s in PAPER.slices))),
}


def run_and_compare(sc: Scenario, seed: int, n_warm: int, shares_seed: int) -> dict:
    sim = Simulator(sc, seed)
    rng = np.random.default_rng(shares_seed)
    K, N = sim.n_cells, sim.n_slices
    for _ in range(n_warm):
        sim.step(random_shares(rng, K, N))
    prev = sim.state()
    shares = random_shares(rng, K, N)
    res = sim.step(shares)
    post = sim.state()
    assert post["time"] == prev["time"] + 1 == res.time
    return assert_step_matches(sim, prev, post, res, shares)


STEP_CASES = [(name, seed) for name in sorted(SCENARIOS) if name != "paper-full" for seed in (1, 7, 2024)]
STEP_CASES.append(("paper-full", 1))  # paper scale (1,536 UEs) once


@pytest.mark.parametrize(("name", "seed"), STEP_CASES)
def test_step_matches_reference(name, seed):
    want = run_and_compare(SCENARIOS[name], seed, n_warm=4, shares_seed=seed + 100)
    # the comparison is not vacuous
    assert want["users"].sum() > 0
    if name == "hex1-culled":
        sim = Simulator(SCENARIOS[name], seed)
        assert np.isnan(sim.state()["shadow_z"]).any() and (sim.gains() == 0).any()


def test_overload_scenario_exercises_backlog_and_cap():
    sc = SCENARIOS["overload"]
    sim = Simulator(sc, 3)
    rng = np.random.default_rng(0)
    K, N = sim.n_cells, sim.n_slices
    seen_backlog = seen_cap = False
    for _ in range(6):
        prev = sim.state()
        shares = random_shares(rng, K, N, p_zero=0.1)
        res = sim.step(shares)
        assert_step_matches(sim, prev, sim.state(), res, shares)
        seen_backlog |= bool((prev["backlog"] > 0).any() and (res.backlog > 0).any())
        seen_cap |= bool(np.any(res.delay == sc.traffic.max_delay_s))
    assert seen_backlog and seen_cap


def test_finite_buffer_drops_overload_and_bounds_delay():
    """Finite buffer: no backlog ever, overloaded slices drop (served = capacity < demand), and a
    served UE's delay is at most its flow's own transfer time plus the buffer (L/C_u + buffer_s Cap/C_u
    with Cap/C_u <= max over the slice's UEs of se ratios): here simply below max_delay_s."""
    sc = SCENARIOS["overload-buffer"]
    sim = Simulator(sc, 3)
    rng = np.random.default_rng(0)
    K, N = sim.n_cells, sim.n_slices
    seen_drop = False
    for _ in range(6):
        prev = sim.state()
        shares = random_shares(rng, K, N)
        res = sim.step(shares)
        assert_step_matches(sim, prev, sim.state(), res, shares)
        assert (res.backlog == 0).all()
        assert (res.served <= res.demand * (1 + 1e-12)).all()
        over = (res.load > shares * (1 + 1e-9)) & (res.demand > 0)
        # overload: served = D a / x exactly (the share's capacity), the rest dropped
        np.testing.assert_allclose(res.served[over], res.demand[over] * shares[over] / res.load[over], rtol=1e-12)
        seen_drop |= bool(over.any())
        assert (res.delay[shares > 0] < sc.traffic.max_delay_s).all()
    assert seen_drop


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63), n_warm=st.integers(0, 6), shares_seed=st.integers(0, 2**32 - 1),
       name=st.sampled_from(["paper", "uma", "wrap-paper", "hex1-culled", "no-shadowing"]))
def test_step_matches_reference_hypothesis(seed, n_warm, shares_seed, name):
    run_and_compare(SCENARIOS[name], seed, n_warm, shares_seed)


@pytest.mark.parametrize("name", ["paper", "wrap-paper", "hex1-culled", "overload"])
def test_policies_match_reference(name):
    sc = SCENARIOS[name]
    demand = [s.demand_bps for s in sc.slices]
    sim = Simulator(sc, 11)
    for t in range(6):
        prev = sim.state()
        policy = ("traffic-aware", "equal")[t % 2]
        res = sim.step_policy(policy)
        post = sim.state()
        if policy == "traffic-aware":
            want_shares = ref.traffic_aware_shares(res.users, demand)
        else:
            want_shares = ref.equal_shares(sim.n_cells, sim.n_slices)
        np.testing.assert_allclose(res.shares, want_shares, rtol=1e-12, atol=0)
        assert_step_matches(sim, prev, post, res, res.shares)
        # users_offered in traffic-aware counts active UEs served by the cell, outage included
        counts = np.zeros((sim.n_cells, sim.n_slices), dtype=int)
        np.add.at(counts, (post["serving"][post["active"]], post["slice_of"][post["active"]]), 1)
        np.testing.assert_array_equal(res.users, counts)


def test_traffic_aware_idle_cell_gets_equal_shares():
    # slices 0-2 never active, slice 3 always (1 UE per cell): offered demand only in slice 3;
    # a cell that serves no active UE gets equal shares
    sc = small(with_traffic(PAPER, mask_noise_std=0.0), 1)
    sc = dataclasses.replace(sc, slices=tuple(
        dataclasses.replace(s, mask_base=1.0 if n == 3 else 0.0, mask_amplitude=0.0)
        for n, s in enumerate(sc.slices)))
    for seed in range(200):  # find a seed where some cell serves no active UE after the first step
        sim = Simulator(sc, seed)
        res = sim.step_policy("traffic-aware")
        if (res.users.sum(axis=1) == 0).any():
            break
    assert res.users[:, :3].sum() == 0
    want = ref.traffic_aware_shares(res.users, [s.demand_bps for s in sc.slices])
    np.testing.assert_allclose(res.shares, want, rtol=1e-12)
    idle = res.users.sum(axis=1) == 0
    assert idle.any()
    np.testing.assert_array_equal(res.shares[idle], 0.25)
    np.testing.assert_array_equal(res.shares[~idle], np.tile([0.0, 0.0, 0.0, 1.0], ((~idle).sum(), 1)))


def test_zero_demand_slice_matches_reference():
    # active UEs of a slice with demand_bps = 0 are still served (C_u = a M B se_u, finite PS delay) and
    # counted in outage by their SINR at full load, like any other active UE
    sl = list(PAPER.slices)
    sl[1] = dataclasses.replace(sl[1], demand_bps=0.0)
    sc = small(dataclasses.replace(PAPER, slices=tuple(sl)))
    sim = Simulator(sc, 5)
    for _ in range(3):
        sim.step(np.full((12, 4), 0.25))
    prev = sim.state()
    a = np.full((12, 4), 0.25)
    res = sim.step(a)
    assert_step_matches(sim, prev, sim.state(), res, a)
