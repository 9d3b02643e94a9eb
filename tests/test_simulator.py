"""Properties of the load-coupling solver and the simulator: bounds, monotonicity, determinism,
batch = separate replicas, long-run stability, input validation and layout geometry."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario, Simulator, SimulatorBatch, StepResult, _core
from pyslice.sim import radio

from helpers import with_ues  # noqa: E402
from share_samples import random_shares  # noqa: E402

PAPER = Scenario.paper()
ISD = 500.0
BORESIGHTS = (30.0, 150.0, 270.0)
P_PRB = 10.0 ** ((46.0 - 30.0) / 10.0) / 100
NOISE = 10.0 ** ((-174.0 + 10.0 * math.log10(180e3) + 9.0 - 30.0) / 10.0)
MB = 100 * 180e3
ARRAY_FIELDS = ("throughput", "delay", "load", "users", "outage", "demand", "served", "backlog", "shares",
                "cell_load", "sinr_db", "mask")
BATCH_FIELDS = ("throughput", "delay", "load", "users", "outage", "demand", "served", "backlog", "shares",
                "cell_load", "mask", "iterations")


def replace_traffic(sc: Scenario, **kw) -> Scenario:
    return dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, **kw))


def small(sc: Scenario = PAPER, ues: int = 4) -> Scenario:
    return replace_traffic(sc, max_ues_per_slice=ues)


def tiny() -> Scenario:
    """One site (3 cells), 2 UEs per (cell, slice)."""
    sc = dataclasses.replace(PAPER, layout=dataclasses.replace(PAPER.layout, kind="sites", sites_m=((0.0, 0.0),)))
    return small(sc, 2)




def assert_results_equal(a: StepResult, b: StepResult) -> None:
    for name in ARRAY_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name  # bit-identical (no NaN expected)
    assert a.iterations == b.iterations and a.time == b.time


def assert_states_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def hexagon_excess(rel: np.ndarray) -> np.ndarray:
    """max_u |rel . u| - ISD/2 over u at 0, 60, 120 degrees (<= 0 inside the site hexagon)."""
    u = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [-0.5, math.sqrt(3) / 2]])
    return np.max(np.abs(rel @ u.T), axis=-1) - ISD / 2


# ------------------------------------------------------------------------------ load-coupling solver


@st.composite
def coupling_problem(draw, max_k: int = 9):
    K = draw(st.integers(1, max_k))
    U = draw(st.integers(0, 60))
    N = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gain = 10.0 ** (rng.uniform(-140.0, -65.0, size=(K, U)) / 10.0)
    gain[rng.random((K, U)) < draw(st.sampled_from([0.0, 0.2]))] = 0.0
    demand = rng.uniform(0.0, draw(st.sampled_from([1e4, 3e5, 2e6, 2e7])), size=U)
    demand[rng.random(U) < 0.3] = 0.0
    return dict(gain=gain, serving=rng.integers(0, K, size=U), slice_of=rng.integers(0, N, size=U),
                demand=demand, shares=random_shares(rng, K, N), tx_power_w=P_PRB, noise_w=NOISE,
                prb_bandwidth_hz=180e3, n_prb=100)


@settings(max_examples=150, deadline=None)
@given(p=coupling_problem(), rho0_seed=st.integers(0, 2**32 - 1))
def test_fixed_point_bounds_and_uniqueness(p, rho0_seed):
    K = p["gain"].shape[0]
    rho0 = np.random.default_rng(rho0_seed).random(K)
    rho, x, it = radio.solve_load_coupling(**p, rho0=rho0)
    assert rho.shape == (K,) and x.shape == p["shares"].shape
    assert np.all(rho >= 0.0) and np.all(rho <= 1.0 + 1e-12)
    assert np.all(x >= 0.0) and np.all(np.isfinite(x))
    assert 1 <= it <= 200
    # rho = sum_n min(a, x) of the last evaluation
    assert np.all(rho <= np.minimum(p["shares"], x).sum(axis=1) + 1e-12)
    lo, _, it_lo = radio.solve_load_coupling(**p, rho0=np.zeros(K))
    hi, _, it_hi = radio.solve_load_coupling(**p, rho0=np.ones(K))
    none, _, it_none = radio.solve_load_coupling(**p)
    np.testing.assert_array_equal(lo, none)  # rho0=None means zeros
    assert it_none == it_lo
    np.testing.assert_allclose(lo, hi, rtol=0, atol=1e-5)
    np.testing.assert_allclose(rho, lo, rtol=0, atol=1e-5)


@settings(max_examples=150, deadline=None)
@given(p=coupling_problem(), extra_seed=st.integers(0, 2**32 - 1), start=st.sampled_from(["zeros", "ones"]))
def test_fixed_point_monotone_in_demand(p, extra_seed, start):
    rng = np.random.default_rng(extra_seed)
    U = p["demand"].shape[0]
    more = dict(p, demand=p["demand"] + rng.uniform(0.0, 1e6, size=U) * (rng.random(U) < 0.5))
    K = p["gain"].shape[0]
    rho0 = np.zeros(K) if start == "zeros" else np.ones(K)
    rho1, _, _ = radio.solve_load_coupling(**p, rho0=rho0)
    rho2, _, _ = radio.solve_load_coupling(**more, rho0=rho0)
    assert np.all(rho2 >= rho1 - 1e-6)


@settings(max_examples=60, deadline=None)
@given(p=coupling_problem(), rho0_seed=st.integers(0, 2**32 - 1))
def test_fixed_point_zero_demand_zero_load(p, rho0_seed):
    K = p["gain"].shape[0]
    p = dict(p, demand=np.zeros_like(p["demand"]))
    for rho0 in (None, np.random.default_rng(rho0_seed).random(K), np.ones(K)):
        rho, x, it = radio.solve_load_coupling(**p, rho0=rho0)
        np.testing.assert_array_equal(rho, 0.0)
        np.testing.assert_array_equal(x, 0.0)
        assert it <= 2


@settings(max_examples=60, deadline=None)
@given(p=coupling_problem(), max_iter=st.integers(1, 6))
def test_fixed_point_iteration_cap(p, max_iter):
    _, _, it = radio.solve_load_coupling(**p, rho0=np.ones(p["gain"].shape[0]), max_iter=max_iter)
    assert 1 <= it <= max_iter


@settings(max_examples=100, deadline=None)
@given(p=coupling_problem(max_k=1))
def test_fixed_point_one_cell_closed_form(p):
    # one cell: no interference, gamma = P g / noise, rho = sum_n min(a_n, x_n) after one evaluation
    g = p["gain"][0]
    gamma = P_PRB * g / NOISE
    se = np.where(gamma < 0.1, 0.0, np.minimum(0.6 * np.log2(1.0 + gamma), 4.4))
    use = (gamma >= 0.1) & (p["demand"] > 0)
    N = p["shares"].shape[1]
    x = np.array([np.sum(p["demand"][use & (p["slice_of"] == n)] / (MB * se[use & (p["slice_of"] == n)]))
                  for n in range(N)])
    want = np.minimum(p["shares"][0], x).sum()
    rho, got_x, it = radio.solve_load_coupling(**p)
    np.testing.assert_allclose(got_x[0], x, rtol=1e-12)
    np.testing.assert_allclose(rho, [want], rtol=1e-12)
    assert it == (1 if want < 1e-6 else 2)


def test_fixed_point_one_cell_by_hand():
    # gamma = 100 -> se = 0.6 log2(101); 2 UEs of 1 Mbit/s in slice 0, share 0.5
    g = 100.0 * NOISE / P_PRB
    se = 0.6 * math.log2(101.0)
    rho, x, it = radio.solve_load_coupling(np.array([[g, g]]), [0, 0], [0, 0], [1e6, 1e6], [[0.5, 0.5]],
                                           P_PRB, NOISE, 180e3, 100)
    assert x[0, 0] == pytest.approx(2e6 / (MB * se), rel=1e-12) and x[0, 1] == 0.0
    assert rho[0] == pytest.approx(min(0.5, 2e6 / (MB * se)), rel=1e-12)
    assert it == 2


# --------------------------------------------------------------------------------- simulator outputs


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda r: sum(r) > 1e-3),
                     min_size=12, max_size=12),
       seed=st.integers(0, 2**64 - 1), one_hot=st.integers(0, 3))
def test_simplex_shares_accepted(rows, seed, one_hot):
    a = np.array(rows)
    a /= a.sum(axis=1, keepdims=True)
    a[0] = np.eye(4)[one_hot]
    sim = Simulator(small(), seed)
    res = sim.step(a)
    np.testing.assert_array_equal(res.shares, a)
    # within the documented 1e-6 tolerance of the simplex
    b = a.copy()
    b[1] *= 1 + 5e-7
    res = sim.step(b)
    np.testing.assert_array_equal(res.shares, b)
    assert sim.time == 2


def check_invariants(sc: Scenario, res: StepResult, state: dict) -> None:
    K, N, G = 3 * sc.layout.n_sites, sc.n_slices, sc.traffic.max_ues_per_slice
    d = np.array([s.demand_bps for s in sc.slices])
    assert res.throughput.shape == res.delay.shape == res.users.shape == (K, N)
    assert res.cell_load.shape == (K,) and res.mask.shape == (N,) and res.sinr_db.shape == (K * N * G,)
    for name in ARRAY_FIELDS:
        assert not np.isnan(getattr(res, name)).any(), name
    assert np.all((res.mask >= 0) & (res.mask <= 1))
    n_active = np.floor(res.mask * G + 0.5).astype(int)  # round half up, like lround
    np.testing.assert_array_equal(res.users.sum(axis=0), K * n_active)
    assert np.all(res.users >= 0) and np.all(res.users <= G * K)
    active = state["active"].reshape(K, N, G)
    np.testing.assert_array_equal(active, np.broadcast_to(np.arange(G)[None, None, :] < n_active[None, :, None],
                                                         (K, N, G)))
    assert np.all((res.outage >= 0) & (res.outage <= res.users))
    assert np.all((res.cell_load >= 0) & (res.cell_load <= 1 + 1e-12))
    assert np.all(res.throughput >= 0) and np.all(np.isfinite(res.throughput))
    assert np.all((res.delay >= 0) & (res.delay <= sc.traffic.max_delay_s))
    served_users = res.users - res.outage
    np.testing.assert_allclose(res.demand, served_users * d[None, :], rtol=1e-12)
    assert np.all(res.throughput[served_users == 0] == 0) and np.all(res.delay[served_users == 0] == 0)
    assert np.all(res.delay[served_users > 0] > 0)
    assert np.all(res.load >= 0) and np.all(res.backlog >= 0) and np.all(res.served >= 0)
    assert np.all(res.backlog[res.demand == 0] == 0)
    np.testing.assert_allclose(res.shares.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(res.shares >= 0)


@pytest.mark.parametrize("delay_model", ["finite-buffer", "fluid-backlog"])
@pytest.mark.parametrize("seed", [0, 5])
def test_step_invariants_over_a_run(seed, delay_model):
    sc = replace_traffic(small(), delay_model=delay_model)
    sim = Simulator(sc, seed)
    rng = np.random.default_rng(seed)
    policies = ["equal", "traffic-aware", "max-min"]
    seen_overload = False
    for t in range(150):
        if t % 4 == 3:
            res = sim.step_policy(policies[(t // 4) % 3])
        else:
            res = sim.step(random_shares(rng, sim.n_cells, sim.n_slices))
        assert res.time == t + 1 == sim.time
        check_invariants(sc, res, sim.state())
        if delay_model == "finite-buffer":  # overload is dropped, never queued across steps
            assert (res.backlog == 0).all()
            seen_overload |= bool((res.served < res.demand * (1 - 1e-9)).any())
        else:
            seen_overload |= bool((res.backlog > 0).any())
    assert seen_overload


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n_warm=st.integers(0, 5), shares_seed=st.integers(0, 2**32 - 1),
       slice_=st.integers(0, 3), delta=st.floats(0.01, 1.0), only_cell=st.integers(0, 11))
def test_more_share_never_lowers_that_slices_throughput(seed, n_warm, shares_seed, slice_, delta, only_cell):
    sc = small(ues=6)
    a_sim, b_sim = Simulator(sc, seed), Simulator(sc, seed)
    rng = np.random.default_rng(shares_seed)
    for _ in range(n_warm):
        sh = random_shares(rng, 12, 4)
        a_sim.step(sh)
        b_sim.step(sh)
    base = random_shares(rng, 12, 4)
    more = base.copy()
    rows = slice(None) if only_cell is None else slice(only_cell, only_cell + 1)
    more[rows] = (1 - delta) * base[rows] + delta * np.eye(4)[slice_]
    ra, rb = a_sim.step(base), b_sim.step(more)
    np.testing.assert_array_equal(ra.users, rb.users)  # same state: shares only act in the step itself
    changed = np.zeros(12, bool)
    changed[rows] = True
    lo, hi = ra.throughput[changed, slice_], rb.throughput[changed, slice_]
    assert np.all(hi >= lo * (1 - 1e-9)), (lo, hi)


def empty_slice_scenario(G: int = 4) -> Scenario:
    """Slice 0 is never active (mask exactly 0), the others always half active."""
    sc = replace_traffic(small(ues=G), mask_noise_std=0.0)
    return dataclasses.replace(sc, slices=tuple(
        dataclasses.replace(s, mask_base=0.0 if n == 0 else 0.5, mask_amplitude=0.0)
        for n, s in enumerate(sc.slices)))


@pytest.mark.parametrize("how", ["given", "equal", "traffic-aware", "max-min"])
def test_slice_without_active_ues_reports_finite_zeros(how):
    sc = empty_slice_scenario()
    sim = Simulator(sc, 2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        res = sim.step(random_shares(rng, 12, 4, p_zero=0.0)) if how == "given" else sim.step_policy(how)
        for name in ARRAY_FIELDS:
            assert np.all(np.isfinite(getattr(res, name))), name
        assert np.all(res.users[:, 0] == 0) and np.all(res.outage[:, 0] == 0)
        for name in ("throughput", "delay", "load", "demand", "served", "backlog"):
            np.testing.assert_array_equal(getattr(res, name)[:, 0], 0.0, err_msg=name)
        assert res.users[:, 1:].sum() > 0
        check_invariants(sc, res, sim.state())


@pytest.mark.parametrize(("ttt_s", "hysteresis_db"), [(0.256, 3.0), (3.0, 1.0), (2.0, 0.0)])
def test_handover_follows_a3_with_time_to_trigger(ttt_s, hysteresis_db):
    # NumPy replay of the rule on the gains each step used: the strongest cell (first maximum)
    # must beat the serving one by the hysteresis for ceil(TTT / step) steps in a row, with the
    # same candidate; a change of candidate restarts the count.
    slices = tuple(dataclasses.replace(sl, speed_min_mps=8.0, speed_max_mps=20.0, pause_s=0.0) for sl in PAPER.slices)
    radio_cfg = dataclasses.replace(PAPER.radio, handover_ttt_s=ttt_s, handover_hysteresis_db=hysteresis_db)
    sim = Simulator(dataclasses.replace(small(ues=6), slices=slices, radio=radio_cfg), seed=21)
    ttt = max(1, math.ceil(ttt_s / PAPER.traffic.step_seconds - 1e-9))
    hysteresis = 10.0 ** (hysteresis_db / 10.0)
    serving = sim.state()["serving"].copy()
    ues = np.arange(serving.size)
    candidate, count = np.full(serving.size, -1), np.zeros(serving.size, dtype=int)
    handovers = waits = 0
    for _ in range(80):
        sim.step_policy("equal")
        gains = sim.gains()
        best = np.argmax(gains, axis=0)
        better = (best != serving) & (gains[best, ues] > gains[serving, ues] * hysteresis)
        count_now = np.where(candidate == best, count + 1, 1)
        switch = better & (count_now >= ttt)
        wait = better & ~switch
        new_serving = np.where(switch, best, serving)
        np.testing.assert_array_equal(sim.state()["serving"], new_serving)
        candidate, count = np.where(wait, best, -1), np.where(wait, count_now, 0)
        handovers += int(switch.sum())
        waits += int(wait.sum())
        serving = new_serving
    assert handovers > 5
    assert (waits > 0) == (ttt > 1)


def test_step_result_holds_exactly_its_fields():
    # Simulator.step builds StepResult from the core's dict without __init__: the dict must hold
    # exactly the dataclass's fields, and the result must behave like a constructed one.
    sim = Simulator(small(), 3)
    res = sim.step(np.full((12, 4), 0.25))
    values = sim._core.result()
    assert set(values) == {f.name for f in dataclasses.fields(StepResult)}
    built = StepResult(**values)
    for f in dataclasses.fields(StepResult):
        assert np.array_equal(getattr(res, f.name), getattr(built, f.name)), f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.time = 0  # type: ignore[misc]


def test_no_ues_at_all():
    sc = small(ues=0)
    sim = Simulator(sc, 1)
    assert sim.n_ues == 0
    for how in ("given", "equal", "traffic-aware", "max-min"):
        res = sim.step(np.full((12, 4), 0.25)) if how == "given" else sim.step_policy(how)
        assert res.sinr_db.shape == (0,)
        for name in ARRAY_FIELDS:
            arr = getattr(res, name)
            assert np.all(np.isfinite(arr)), name
            if name not in ("shares", "mask"):
                assert np.all(arr == 0), name


# ------------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("d_shadow, d_los", [(50.0, 50.0), (20.0, 120.0)])
def test_shadowing_and_los_processes_decorrelate_over_their_own_distance(d_shadow, d_los):
    # Gudmundson AR(1) along the path: E[z_t z_t+1] = exp(-moved / d_cor) for each process, with
    # its own decorrelation distance, and z stays standard normal.
    radio_cfg = dataclasses.replace(PAPER.radio, shadow_decorrelation_m=d_shadow, los_decorrelation_m=d_los)
    sim = Simulator(dataclasses.replace(PAPER, radio=radio_cfg), seed=11)
    prev = sim.state()
    products: dict[str, list] = {"shadow_z": [], "los_z": []}
    expected: dict[str, list] = {"shadow_z": [], "los_z": []}
    for _ in range(40):
        sim.step_policy("equal")
        state = sim.state()
        moved = np.hypot(*(state["positions"] - prev["positions"]).T)[:, None]
        for key, d_cor in (("shadow_z", d_shadow), ("los_z", d_los)):
            products[key].append((prev[key] * state[key]).ravel())
            expected[key].append(np.broadcast_to(np.exp(-moved / d_cor), prev[key].shape).ravel())
        prev = state
    for key in products:
        got, want = np.concatenate(products[key]).mean(), np.concatenate(expected[key]).mean()
        assert abs(got - want) < 0.02, (key, got, want)
        assert abs(prev[key].std() - 1.0) < 0.05 and abs(prev[key].mean()) < 0.05


def test_same_seed_bit_identical_1000_steps():
    sc = small()
    a, b = Simulator(sc, 123), Simulator(sc, 123)
    rng = np.random.default_rng(9)
    for t in range(1000):
        if t % 10 == 9:
            policy = ("equal", "traffic-aware", "max-min")[(t // 10) % 3]
            ra, rb = a.step_policy(policy), b.step_policy(policy)
        else:
            sh = random_shares(rng, 12, 4)
            ra, rb = a.step(sh), b.step(sh)
        assert_results_equal(ra, rb)
    assert_states_equal(a.state(), b.state())


def test_different_seeds_differ():
    sc = small()
    a, b = Simulator(sc, 1), Simulator(sc, 2)
    assert not np.array_equal(a.state()["positions"], b.state()["positions"])
    sh = np.full((12, 4), 0.25)
    ra, rb = a.step(sh), b.step(sh)
    assert not np.array_equal(ra.sinr_db, rb.sinr_db)
    assert not np.array_equal(ra.throughput, rb.throughput)


def run(sim: Simulator, n: int, shares_seed: int) -> list[StepResult]:
    rng = np.random.default_rng(shares_seed)
    out = []
    for t in range(n):
        out.append(sim.step_policy("max-min") if t % 7 == 6 else sim.step(random_shares(rng, 12, 4)))
    return out


def test_reset_reproduces_the_run():
    sc = small()
    sim = Simulator(sc, 77)
    start = sim.state()
    first = run(sim, 60, 3)
    sim.reset()
    assert sim.time == 0
    assert_states_equal(sim.state(), start)
    for ra, rb in zip(first, run(sim, 60, 3)):
        assert_results_equal(ra, rb)
    # reset to another seed and back
    sim.reset(seed=78)
    assert not np.array_equal(sim.state()["positions"], start["positions"])
    sim.reset(seed=77)
    assert_states_equal(sim.state(), start)
    fresh = Simulator(sc, 77)
    for ra, rb in zip(run(sim, 20, 4), run(fresh, 20, 4)):
        assert_results_equal(ra, rb)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_threaded_batch_keeps_working_in_a_forked_child():
    # The worker threads do not survive fork(); the child's first call must start its own
    # instead of waiting for the parent's forever (an alarm kills the child if it hangs).
    sc = small()
    seeds = [3, 4, 5]
    batch = SimulatorBatch(sc, seeds=seeds, threads=2)
    twin = SimulatorBatch(sc, seeds=seeds, threads=1)
    shares = np.stack([random_shares(np.random.default_rng(r), 12, 4) for r in range(3)])
    batch.step(shares)
    twin.step(shares)
    want = twin.step(shares)["throughput"].copy()
    pid = os.fork()
    if pid == 0:  # child: report through the exit status only
        import signal

        signal.alarm(30)
        try:
            ok = np.array_equal(batch.step(shares)["throughput"], want)
            ok = ok and np.array_equal(batch.step(shares)["throughput"], twin.step(shares)["throughput"])
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    # the parent's pool is untouched
    np.testing.assert_array_equal(batch.step(shares)["throughput"], want)


@pytest.mark.parametrize("threads", [1, 2])
def test_batch_equals_separate_simulators(threads):
    sc = small()
    seeds = [5, 6, 2**63 + 1]
    batch = SimulatorBatch(sc, seeds=seeds, threads=threads)
    sims = [Simulator(sc, s) for s in seeds]
    rng = np.random.default_rng(1)
    for t in range(40):
        if t % 5 == 4:
            policy = ("equal", "traffic-aware", "max-min")[(t // 5) % 3]
            out = batch.step_policy(policy)
            res = [s.step_policy(policy) for s in sims]
        else:
            sh = np.stack([random_shares(rng, 12, 4) for _ in seeds])
            out = batch.step(sh)
            res = [s.step(sh[r]) for r, s in enumerate(sims)]
        for r, one in enumerate(res):
            for name in BATCH_FIELDS:
                want = np.asarray(getattr(one, name))
                assert np.array_equal(out[name][r], want), (t, r, name)
            assert_states_equal(batch.state(r), sims[r].state())
    # reset with new seeds
    batch.reset([7, 8, 9])
    sims = [Simulator(sc, s) for s in (7, 8, 9)]
    sh = np.stack([random_shares(rng, 12, 4) for _ in range(3)])
    out = batch.step(sh)
    for r, s in enumerate(sims):
        assert np.array_equal(out["throughput"][r], s.step(sh[r]).throughput)


# ---------------------------------------------------------------------------------------- long run


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_long_run_finite_and_no_memory_growth():
    sc = tiny()
    sim = Simulator(sc, 2024)
    K, N = sim.n_cells, sim.n_slices
    assert (K, sim.n_ues) == (3, 24)
    rng = np.random.default_rng(0)
    pool = [random_shares(rng, K, N) for _ in range(16)]
    acc = 0.0
    rss10 = None
    for t in range(100_000):
        res = sim.step(pool[t % 16]) if t % 5 else sim.step_policy(("traffic-aware", "max-min")[t % 2])
        acc += (res.throughput.sum() + res.delay.sum() + res.load.sum() + res.demand.sum() + res.served.sum()
                + res.backlog.sum() + res.cell_load.sum() + res.sinr_db.sum() + res.mask.sum()
                + res.shares.sum())  # NaN or inf anywhere poisons the sum
        if not math.isfinite(acc):
            pytest.fail(f"non-finite output at step {t + 1}: {res}")
        if t + 1 == 10_000:
            rss10 = rss_bytes()
    assert sim.time == 100_000
    st_ = sim.state()
    assert np.all(np.isfinite(st_["positions"])) and np.all(np.isfinite(st_["shadow_z"]))
    growth = rss_bytes() - rss10
    assert growth < 4 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MiB"


# ------------------------------------------------------------------------------------- bad input


def bad_shares():
    good = np.full((12, 4), 0.25)
    nan, inf, neg, sum09 = good.copy(), good.copy(), good.copy(), good.copy()
    nan[3, 1] = np.nan
    inf[0, 0] = np.inf
    neg[5] = [0.5, 0.5, 0.25, -0.25]
    sum09[7] = [0.3, 0.2, 0.2, 0.2]
    return [
        ("shape-13", np.full((12, 5), 0.2), ValueError),
        ("shape-flat", np.full(48, 0.25), ValueError),
        ("shape-3d", np.full((1, 12, 4), 0.25), ValueError),
        ("shape-k", np.full((11, 4), 0.25), ValueError),
        ("nan", nan, ValueError),
        ("inf", inf, ValueError),
        ("negative", neg, ValueError),
        ("sum-0.9", sum09, ValueError),
        ("strings", [["a", "b", "c", "d"]] * 12, TypeError),
        ("none", None, (TypeError, ValueError)),
    ]


@pytest.mark.parametrize(("label", "shares", "exc"), bad_shares(), ids=[b[0] for b in bad_shares()])
def test_bad_shares_raise_and_leave_state_unchanged(label, shares, exc):
    sc = small()
    sim, twin = Simulator(sc, 31), Simulator(sc, 31)
    good = np.full((12, 4), 0.25)
    for s in (sim, twin):
        s.step(good)
        s.step_policy("traffic-aware")
    before = sim.state()
    with pytest.raises(exc, match="shares"):
        sim.step(shares)
    assert sim.time == 2
    assert_states_equal(sim.state(), before)
    assert_results_equal(sim.step(good), twin.step(good))


@pytest.mark.parametrize(("label", "shares"), [b[:2] for b in bad_shares()[4:8]], ids=[b[0] for b in bad_shares()[4:8]])
def test_core_rejects_bad_shares_without_stepping(label, shares):
    # the C++ core validates too (bypassing the Python check)
    sc = small()
    sim, twin = Simulator(sc, 32), Simulator(sc, 32)
    before = sim.state()
    with pytest.raises(ValueError, match="shares"):
        sim._core.step(shares, 0)
    assert sim.time == 0
    assert_states_equal(sim.state(), before)
    good = np.full((12, 4), 0.25)
    assert_results_equal(sim.step(good), twin.step(good))


@pytest.mark.parametrize("bypass_python", [False, True])
@pytest.mark.parametrize("bad_replica", [0, 2])
def test_batch_bad_row_leaves_all_replicas_unchanged(bad_replica, bypass_python):
    sc = small()
    seeds = [1, 2, 3]
    batch = SimulatorBatch(sc, seeds, threads=2)
    twin = SimulatorBatch(sc, seeds, threads=2)
    good = np.full((3, 12, 4), 0.25)
    batch.step(good)
    twin.step(good)
    before = [batch.state(r) for r in range(3)]
    bad = good.copy()
    bad[bad_replica, 4] = [0.7, 0.7, -0.4, 0.0]
    with pytest.raises(ValueError, match="shares"):
        if bypass_python:
            batch._core.step(bad, 0, batch._out)
        else:
            batch.step(bad)
    for r in range(3):
        assert_states_equal(batch.state(r), before[r])
    out = {k: v.copy() for k, v in batch.step(good).items()}
    want = twin.step(good)
    for name in BATCH_FIELDS:
        assert np.array_equal(out[name], want[name]), name
    with pytest.raises(ValueError, match="shares"):
        batch.step(np.full((2, 12, 4), 0.25))  # wrong replica count
    with pytest.raises(ValueError, match="shares"):
        batch.step(np.full((12, 4), 0.25))


def test_bad_config_and_policy():
    with pytest.raises(ValueError, match="max_ues_per_slice"):
        small(ues=-1)
    sim = Simulator(small(), 0)
    batch = SimulatorBatch(small(), [0, 1])
    for name in ("given", "Equal", "round-robin", ""):
        with pytest.raises(ValueError, match="policy"):
            sim.step_policy(name)
        with pytest.raises(ValueError, match="policy"):
            batch.step_policy(name)
    assert sim.time == 0
    with pytest.raises(ValueError):
        SimulatorBatch(small(), [])
    with pytest.raises(ValueError):
        SimulatorBatch(small(), [0], threads=0)


def coupling_args():
    return dict(gain=np.full((2, 3), 1e-10), serving=[0, 1, 0], slice_of=[0, 1, 1], demand=[1e5, 2e5, 0.0],
                shares=np.full((2, 2), 0.5), tx_power_w=P_PRB, noise_w=NOISE, prb_bandwidth_hz=180e3, n_prb=100)


@pytest.mark.parametrize(("field", "value", "pattern"), [
    ("gain", np.full(6, 1e-10), "gain"),
    ("gain", np.full((2, 3, 1), 1e-10), "gain"),
    ("shares", np.full((3, 2), 0.5), "shares"),
    ("shares", np.full(2, 0.5), "shares"),
    ("serving", [0, 1], "serving"),
    ("slice_of", [0, 1, 1, 0], "slice_of"),
    ("demand", [1e5, 2e5], "demand"),
    ("demand", [1e5, -1.0, 0.0], "demand"),
    ("demand", [1e5, np.nan, 0.0], "demand"),
    ("serving", [0, 2, 0], "serving"),
    ("serving", [0, -1, 0], "serving"),
    ("slice_of", [0, 2, 0], "slice_of"),
    ("shares", [[0.5, 0.4], [0.5, 0.5]], "shares"),
    ("shares", [[1.5, -0.5], [0.5, 0.5]], "shares"),
    ("shares", [[np.nan, 0.5], [0.5, 0.5]], "shares"),
    ("gain", np.full((2, 3), -1e-10), "gain"),
    ("tx_power_w", np.full(3, P_PRB), "tx_power_w"),
    ("rho0", np.full(3, 0.5), "rho0"),
    ("rho0", np.array([0.5, 1.5]), "rho0"),
])
def test_solve_load_coupling_rejects_bad_input(field, value, pattern):
    args = coupling_args()
    radio.solve_load_coupling(**args)  # the base case is valid
    args[field] = value
    with pytest.raises(ValueError, match=pattern):
        radio.solve_load_coupling(**args)


# ------------------------------------------------------------------------------------------ layout


@pytest.mark.parametrize("rings", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("isd", [500.0, 321.0])
def test_hex_grid_sites(rings, isd):
    sites = _core.hex_grid_sites(rings, isd)
    assert sites.shape == (1 + 3 * rings * (rings + 1), 2)
    # lattice coordinates p = a e1 + b e2 are integers
    b = sites[:, 1] / (math.sqrt(3) / 2 * isd)
    a = sites[:, 0] / isd - b / 2
    np.testing.assert_allclose(a, np.round(a), atol=1e-9)
    np.testing.assert_allclose(b, np.round(b), atol=1e-9)
    a, b = np.round(a).astype(int), np.round(b).astype(int)
    ring = np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(a + b))
    assert len(set(zip(a.tolist(), b.tolist()))) == len(sites)  # distinct
    assert np.all(np.diff(ring) >= 0)  # ordered ring by ring
    np.testing.assert_array_equal(np.bincount(ring, minlength=rings + 1), [1] + [6 * j for j in range(1, rings + 1)])
    np.testing.assert_array_equal(sites[0], [0.0, 0.0])
    if rings:
        dist = np.hypot(*(sites[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(dist, np.inf)
        np.testing.assert_allclose(dist.min(axis=1), isd, rtol=1e-12)
    with pytest.raises(ValueError):
        _core.hex_grid_sites(-1)


def test_paper_sites():
    s = _core.paper_sites(500.0)
    e1, e2 = np.array([500.0, 0.0]), np.array([250.0, 250.0 * math.sqrt(3)])
    np.testing.assert_allclose(s, [[0, 0], e1, e2, e1 + e2], atol=1e-9)


LAYOUTS = {
    "paper": small(),
    "hex2": small(dataclasses.replace(PAPER, layout=dataclasses.replace(PAPER.layout, kind="hex", rings=2)), 2),
    "paper-isd300": small(dataclasses.replace(PAPER, layout=dataclasses.replace(PAPER.layout, isd_m=300.0)), 3),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1, 99])
def test_drop_in_home_sector(name, seed):
    sc = LAYOUTS[name]
    isd = sc.layout.isd_m
    sim = Simulator(sc, seed)
    sim.step(np.full((sim.n_cells, 4), 0.25))
    sim.reset()  # the drop of a reset equals the constructor's
    st_ = sim.state()
    sites = sim.site_positions()
    home = st_["home_cell"]
    np.testing.assert_array_equal(home, np.repeat(np.arange(sim.n_cells), 4 * sc.traffic.max_ues_per_slice))
    rel = st_["positions"] - sites[home // 3]
    dist = np.hypot(rel[:, 0], rel[:, 1])
    assert np.all(dist >= sc.radio.min_distance_m)
    angle = np.degrees(np.arctan2(rel[:, 1], rel[:, 0]))
    off = (angle - np.array(BORESIGHTS)[home % 3] + 180.0) % 360.0 - 180.0
    assert np.all(np.abs(off) <= 60.0 + 1e-9)
    u = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [-0.5, math.sqrt(3) / 2]])
    assert np.all(np.max(np.abs(rel @ u.T), axis=1) <= isd / 2 * (1 + 1e-9))
    # spread over the sector, not piled up (e.g. both halves of the rhombus are used)
    assert np.any(off > 20.0) and np.any(off < -20.0)
    # serving cell at the drop: the strongest cell
    np.testing.assert_array_equal(st_["serving"], np.argmax(sim.gains(), axis=0))


def ues_outside(sc: Scenario, seed: int, steps: int) -> int:
    sim = Simulator(sc, seed)
    outside = 0
    for _ in range(steps):
        sim.step(np.full((sim.n_cells, sim.n_slices), 1.0 / sim.n_slices))
        outside += sum(not sim._core.contains(x, y) for x, y in sim.state()["positions"])
    return outside


def test_contains_matches_hexagons():
    sim = Simulator(small(), 0)
    sites = sim.site_positions()
    rng = np.random.default_rng(0)
    pts = rng.uniform([-600, -600], [1400, 1100], size=(3000, 2))
    want = np.min(hexagon_excess(pts[:, None, :] - sites[None, :, :]), axis=1) <= 0
    got = np.array([sim._core.contains(x, y) for x, y in pts])
    np.testing.assert_array_equal(got, want)


def gauss_markov(sc: Scenario) -> Scenario:
    return dataclasses.replace(sc, slices=tuple(dataclasses.replace(s, mobility="gauss-markov") for s in sc.slices))


@pytest.mark.parametrize("name", ["gauss-markov-paper", "waypoint-one-site", "gauss-markov-hex1", "waypoint-hex2"])
def test_ues_stay_inside_network_area(name):
    sc = {
        "gauss-markov-paper": gauss_markov(small(ues=2)),
        "waypoint-one-site": tiny(),
        "gauss-markov-hex1": gauss_markov(small(dataclasses.replace(
            PAPER, layout=dataclasses.replace(PAPER.layout, kind="hex", rings=1)), 1)),
        "waypoint-hex2": LAYOUTS["hex2"],
    }[name]
    assert ues_outside(sc, 4, 600) == 0


def test_waypoint_ues_stay_inside_non_convex_area():
    # random-waypoint legs must not cut through the notches of the (non-convex) union of hexagons
    assert ues_outside(small(ues=2), 3, 600) == 0


def test_one_list_of_outputs():
    """The core's output table (cpp/outputs.hpp) is what StepResult, the batch buffers and the env's
    info hold: a field added in C++ shows up everywhere or this fails."""
    import dataclasses

    from pyslice.envs.slicing import INFO_FIELDS
    from pyslice.sim.simulator import BATCH_FIELDS, CORE_OUTPUTS

    assert [f.name for f in dataclasses.fields(StepResult)] == [*CORE_OUTPUTS, "iterations", "time"]
    batch = SimulatorBatch(Scenario.paper(), [0, 1])
    out = batch.step_policy("equal")
    assert tuple(out) == BATCH_FIELDS == INFO_FIELDS
    assert set(CORE_OUTPUTS) - set(BATCH_FIELDS) == {"sinr_db"}
    single = Simulator(Scenario.paper(), seed=1).step_policy("equal")
    for name in BATCH_FIELDS:
        np.testing.assert_array_equal(out[name][1], getattr(single, name), err_msg=name)
        assert out[name].dtype == np.asarray(getattr(single, name)).dtype or name == "iterations"


@pytest.mark.parametrize("delay_model", ["finite-buffer", "fluid-backlog"])
def test_dropped_traffic_is_a_core_output_of_the_delay_model(delay_model):
    """The core reports what the finite buffer drops (offered minus served); the fluid backlog drops
    nothing (it queues). Starving a slice makes the finite buffer drop."""
    sc = with_ues(8)
    sc = dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, delay_model=delay_model))
    sim = Simulator(sc, seed=3)
    shares = np.tile([0.97, 0.01, 0.01, 0.01], (sc.n_cells, 1))
    dropped_any = False
    for _ in range(5):
        r = sim.step(shares)
        assert r.dropped.shape == r.demand.shape and (r.dropped >= 0).all()
        if delay_model == "finite-buffer":
            np.testing.assert_array_equal(r.dropped, np.maximum(r.demand - r.served, 0.0))
            dropped_any |= bool((r.dropped > 0).any())
        else:
            np.testing.assert_array_equal(r.dropped, 0.0)
    assert dropped_any == (delay_model == "finite-buffer")
    state = sim.get_state()  # restored results carry the same drops (derived, not stored)
    again = Simulator(sc, seed=99)
    again.set_state(state)
    np.testing.assert_array_equal(_core_result(again)["dropped"], r.dropped)


def _core_result(sim: Simulator) -> dict:
    """The core's result dict of the simulator's last step (as restored by set_state)."""
    return sim._core.result()
