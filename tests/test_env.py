"""SlicingEnv: observation layout and normalisation, eq. 2 reward, coordination feature, neighbours,
replicas, input validation, and the PettingZoo / Gymnasium wrappers."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pettingzoo.test import parallel_api_test, parallel_seed_test

from pyslice import Scenario, Simulator
from pyslice.sim import radio
from pyslice.envs.adapters import SingleCellEnv, SlicingParallelEnv
from pyslice.envs.slicing import OBS_CLIP, OBS_LOG_HIGH, SlicingEnv, box_to_simplex, observation
from pyslice.envs.neighbours import coupling_matrix, interference_neighbours, neighbours_from_coupling
from helpers import with_ues

PAPER = Scenario.paper()
G = 4  # UEs per (cell, slice) group in the small scenarios


def small(sc: Scenario = PAPER, ues: int = G) -> Scenario:
    return with_ues(ues, sc)


def with_layout(sc: Scenario = PAPER, **kw) -> Scenario:
    return dataclasses.replace(sc, layout=dataclasses.replace(sc.layout, **kw))


SMALL = small()
ONE_SITE = small(with_layout(kind="sites", sites_m=((0.0, 0.0),)))
K, N = 12, 4


def random_simplex(rng: np.random.Generator, shape: tuple[int, ...], p_zero: float = 0.3) -> np.ndarray:
    a = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    a[rng.random(shape) < p_zero] = 0.0
    empty = a.sum(axis=-1) == 0.0
    a[empty, 0] = 1.0
    return a / a.sum(axis=-1, keepdims=True)


def eq2_by_hand(info: dict, req_t: np.ndarray, req_d: np.ndarray) -> np.ndarray:
    """Paper eq. 2 written out: min over slices of min(φ/φ*, d*/d, 1); no users -> 1."""
    k_cells, n_slices = info["throughput"].shape
    out = np.empty(k_cells)
    for k in range(k_cells):
        worst = 1.0
        for n in range(n_slices):
            if info["users"][k, n] == 0:
                continue
            phi, d = info["throughput"][k, n], info["delay"][k, n]
            delay_term = req_d[k, n] / d if d > 0 else 0.0
            worst = min(worst, phi / req_t[k, n], delay_term, 1.0)
        out[k] = worst
    return out


# ------------------------------------------------------------------------------ array API


def test_shapes_attributes_and_reset_convention():
    env = SlicingEnv(SMALL, seed=3)
    assert (env.n_agents, env.n_slices, env.obs_dim) == (K, N, 4 * N)
    assert env.neighbours.shape == (K, 6) and env.neighbours.dtype.kind == "i"
    req_t, req_d = env.requirements
    np.testing.assert_array_equal(req_t, PAPER.requirement_matrices()[0])
    np.testing.assert_array_equal(env.requirements.delay_s, req_d)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.full((K, N), 0.25))
    obs = env.reset()
    assert obs.shape == (K, 4 * N) and obs.dtype == np.float32
    # reset = simulator reset + one warm-up step with equal shares
    assert env.time == 1 and env.last_info["time"] == 1
    ref = Simulator(SMALL, seed=3).step(np.full((K, N), 0.25))
    info = env.last_info
    for name in ("throughput", "delay", "load", "users", "shares"):
        np.testing.assert_array_equal(info[name], getattr(ref, name), err_msg=name)
    np.testing.assert_allclose(obs[:, :N], np.clip(ref.throughput / req_t, 0, 2), rtol=1e-6)
    obs2, reward, info2 = env.step(np.full((K, N), 0.25))
    assert reward.shape == (K,) and env.time == 2 and info2["time"] == 2
    for name in ("throughput", "delay", "load", "demand", "shares", "throughput_term", "delay_term",
                 "coordination", "served", "backlog", "dropped"):
        assert info2[name].shape == (K, N), name
    # the default finite buffer drops what it cannot serve and carries nothing over
    np.testing.assert_allclose(info2["dropped"], info2["demand"] - info2["served"], rtol=0, atol=1e-6)
    assert (info2["backlog"] == 0).all() and (info2["dropped"] >= 0).all()
    assert info2["users"].shape == info2["outage"].shape == (K, N)
    assert info2["cell_load"].shape == (K,) and info2["mask"].shape == (N,)
    assert isinstance(info2["iterations"], int)


@pytest.mark.parametrize("mode", ["log", "clipped"])
def test_obs_layout_normalisation_and_coordination(mode):
    env = SlicingEnv(SMALL, seed=5, observation=mode)
    req_t = env.requirements.throughput_bps
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(40):
        obs, _, info = env.step(random_simplex(rng, (K, N)))
        users = np.clip(info["users"] / G, 0.0, 4.0)
        if mode == "log":  # log2(1 + ·) of the raw ratio, load and eq. 5 mean: nothing clipped
            tput = np.log2(1 + info["throughput"] / req_t)
            load = np.log2(1 + info["load"])
            coord = np.log2(1 + np.stack([info["load"][env.neighbours[k]].mean(axis=0) for k in range(K)]))
        else:
            tput = np.clip(info["throughput"] / req_t, 0.0, 2.0)
            load = np.clip(info["load"], 0.0, 2.0)
            coord = np.stack([load[env.neighbours[k]].mean(axis=0) for k in range(K)])
        np.testing.assert_allclose(obs[:, 0:N], tput, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(obs[:, N:2 * N], load, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(obs[:, 2 * N:3 * N], users, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(obs[:, 3 * N:], coord, rtol=1e-6, atol=1e-7)
        raw = np.stack([info["load"][env.neighbours[k]].mean(axis=0) for k in range(K)])
        np.testing.assert_allclose(info["coordination"], raw, rtol=1e-12)


def test_observation_clipping_rule():
    req = np.array([[4e6, 1e6], [2e6, 2e6], [1e6, 1e6]])
    tput = np.array([[12e6, 0.5e6], [1e6, 0.0], [3e6, 1e6]])
    load = np.array([[5.0, 0.5], [1.0, 0.0], [3.0, 0.25]])
    users = np.array([[100, 2], [0, 8], [1, 4]])
    nb = np.array([[1, 2], [0, 2], [0, 1]])
    obs = observation(tput, load, users, req, 4, nb, "clipped")
    assert obs.dtype == np.float32 and obs.shape == (3, 8)
    np.testing.assert_allclose(obs[:, 0:2], [[2.0, 0.5], [0.5, 0.0], [2.0, 1.0]])
    np.testing.assert_allclose(obs[:, 2:4], [[2.0, 0.5], [1.0, 0.0], [2.0, 0.25]])
    np.testing.assert_allclose(obs[:, 4:6], [[4.0, 0.5], [0.0, 2.0], [0.25, 1.0]])
    # coordination: neighbour mean of the clipped loads (cell 1: (2 + 2)/2, not (5 + 3)/2)
    np.testing.assert_allclose(obs[:, 6:8], [[1.5, 0.125], [2.0, 0.375], [1.5, 0.25]])
    np.testing.assert_array_equal(observation(tput, load, users, req, 0, nb, "clipped")[:, 4:6],
                                  [[4, 2], [0, 4], [1, 4]])
    # the default log observation keeps what the clip erased: 12 Mbit/s against 4 Mbit/s is log2(4) = 2,
    # and a 3 Mbit/s slice in the same group gives log2(1 + 3/4), both distinct and unsaturated
    log = observation(tput, load, users, req, 4, nb, "log")
    np.testing.assert_allclose(log[:, 0:2], np.log2(1 + tput / req), rtol=1e-6)
    np.testing.assert_allclose(log[:, 2:4], np.log2(1 + load), rtol=1e-6)
    np.testing.assert_allclose(log[:, 6:8], np.log2(1 + np.array([[2.0, 0.125], [4.0, 0.375], [3.0, 0.25]])),
                               rtol=1e-6)  # eq. 5 on the raw loads, then log2(1 + ·)
    with pytest.raises(ValueError, match="observation"):
        observation(tput, load, users, req, 4, nb, "sqrt")
    with pytest.raises(ValueError, match="observation"):
        SlicingEnv(SMALL, observation="raw")


@pytest.mark.parametrize("mode", ["used-prb", "raw-throughput"])
def test_state_ablations_change_one_block_only(mode):
    """Each ablation is the clipped state with one change: the used PRB share min(x, a) in the load
    and coordination blocks, or φ over the scenario's largest requirement in the throughput block."""
    heavy = dataclasses.replace(SMALL, slices=tuple(dataclasses.replace(s, demand_bps=20 * s.demand_bps)
                                                    for s in SMALL.slices))
    base, ablated = SlicingEnv(heavy, seed=3, observation="clipped"), SlicingEnv(heavy, seed=3, observation=mode)
    base.reset(), ablated.reset()
    rng = np.random.default_rng(0)
    req_t = heavy.requirement_matrices()[0]
    differs = 0
    for _ in range(20):
        a = rng.dirichlet(np.ones(N), size=K)
        obs, reward, info = base.step(a)
        obs_ab, reward_ab, info_ab = ablated.step(a)
        np.testing.assert_array_equal(reward, reward_ab)  # the same world: only the state differs
        if mode == "used-prb":
            used = np.minimum(np.minimum(info["load"], a), 2.0)
            np.testing.assert_allclose(obs_ab[:, N:2 * N], used, rtol=1e-6)
            coord = np.stack([used[base.neighbours[k]].mean(axis=0) for k in range(K)])
            np.testing.assert_allclose(obs_ab[:, 3 * N:], coord, rtol=1e-6)
            np.testing.assert_array_equal(obs_ab[:, :N], obs[:, :N])
            assert np.all(obs_ab[:, N:2 * N].sum(axis=1) <= 1 + 1e-6)  # used shares never exceed the carrier
        else:
            np.testing.assert_allclose(obs_ab[:, :N], np.minimum(info["throughput"] / req_t.max(), 2.0), rtol=1e-6)
            np.testing.assert_array_equal(obs_ab[:, N:], obs[:, N:])
        differs += int(np.any(obs_ab != obs))
    assert differs > 0


def test_coordination_uses_clipped_loads_in_an_overloaded_network():
    heavy = dataclasses.replace(SMALL, slices=tuple(dataclasses.replace(s, demand_bps=100 * s.demand_bps)
                                                    for s in SMALL.slices))
    env = SlicingEnv(heavy, seed=0, observation="clipped")
    env.reset()
    over = 0
    for _ in range(5):
        obs, _, info = env.step_policy("equal")
        over += (info["load"] > 2.0).sum()
        clipped = np.minimum(info["load"], 2.0)
        coord = np.stack([clipped[env.neighbours[k]].mean(axis=0) for k in range(K)])
        np.testing.assert_allclose(obs[:, 3 * N:], coord, rtol=1e-6)
        np.testing.assert_allclose(obs[:, N:2 * N], clipped, rtol=1e-6)
    assert over > 0


@pytest.mark.parametrize("mode", ["log", "clipped"])
def test_obs_within_bounds_over_300_random_steps(mode):
    env = SlicingEnv(small(ues=8), seed=11, observation=mode)
    obs = env.reset()
    high = np.repeat(np.array(OBS_CLIP if mode == "clipped" else OBS_LOG_HIGH, dtype=np.float32), N)
    np.testing.assert_array_equal(env.observation_high, high)
    rng = np.random.default_rng(1)
    seen_max = np.zeros(4 * N)
    for _ in range(300):
        assert np.all(np.isfinite(obs)) and np.all(obs >= 0.0) and np.all(obs <= high)
        seen_max = np.maximum(seen_max, obs.max(axis=0))
        # one-hot rows starve slices: loads above the share, long delays
        shares = np.eye(N)[rng.integers(N, size=K)] if rng.random() < 0.3 else random_simplex(rng, (K, N))
        obs, reward, _ = env.step(shares)
        assert np.all((reward >= 0.0) & (reward <= 1.0))
    assert seen_max[:N].max() > 0.5  # the features are not trivially zero


def test_reward_is_eq2_by_hand():
    env = SlicingEnv(SMALL, seed=2)
    req_t, req_d = env.requirements
    env.reset()
    rng = np.random.default_rng(2)
    empty_seen = unsatisfied_seen = 0
    for t in range(60):
        if t % 3 == 0:
            _, reward, info = env.step_policy(("equal", "traffic-aware", "max-min")[t % 9 // 3])
        else:
            _, reward, info = env.step(random_simplex(rng, (K, N), p_zero=0.5))
        np.testing.assert_allclose(reward, eq2_by_hand(info, req_t, req_d), rtol=1e-12, atol=0)
        empty = info["users"] == 0
        empty_seen += empty.sum()
        np.testing.assert_array_equal(info["throughput_term"][empty], 1.0)
        np.testing.assert_array_equal(info["delay_term"][empty], 1.0)
        unsatisfied_seen += (reward < 1.0).sum()
    assert empty_seen > 0 and unsatisfied_seen > 0  # both branches exercised


def test_slice_without_users_is_satisfied():
    env = SlicingEnv(small(ues=0), seed=0, n_neighbours=3)
    env.reset()
    obs, reward, info = env.step(np.full((K, N), 0.25))
    np.testing.assert_array_equal(reward, 1.0)
    np.testing.assert_array_equal(obs, 0.0)


def test_traffic_aware_shares_proportional_to_demand():
    env = SlicingEnv(SMALL, seed=4)
    d = np.array([s.demand_bps for s in SMALL.slices])
    env.reset()
    zero_seen = 0
    for _ in range(30):
        _, _, info = env.step_policy("traffic-aware")
        for k in range(K):
            w = info["users"][k] * d
            if w.sum() == 0:
                zero_seen += 1
                np.testing.assert_allclose(info["shares"][k], 1.0 / N)
            else:
                np.testing.assert_allclose(info["shares"][k], w / w.sum(), rtol=1e-9, atol=1e-12)
    env0 = SlicingEnv(small(ues=0), seed=0, n_neighbours=2)
    env0.reset()
    np.testing.assert_allclose(env0.step_policy("traffic-aware")[2]["shares"], 1.0 / N)
    with pytest.raises(ValueError, match="name"):
        env.step_policy("greedy")


def test_replicas_equal_single_envs_seeded_seed_plus_r():
    batch = SlicingEnv(SMALL, seed=7, replicas=3, threads=2)
    singles = [SlicingEnv(SMALL, seed=7 + r) for r in range(3)]
    obs = batch.reset()
    assert obs.shape == (3, K, 4 * N) and batch.action_shape == (3, K, N)
    for r, env in enumerate(singles):
        np.testing.assert_array_equal(obs[r], env.reset())
    rng = np.random.default_rng(0)
    for t in range(25):
        if t % 5 == 4:
            obs, reward, info = batch.step_policy("max-min")
            outs = [env.step_policy("max-min") for env in singles]
        else:
            a = random_simplex(rng, (3, K, N))
            obs, reward, info = batch.step(a)
            outs = [env.step(a[r]) for r, env in enumerate(singles)]
        assert reward.shape == (3, K) and info["throughput"].shape == (3, K, N) and info["mask"].shape == (3, N)
        for r, (o, rw, inf) in enumerate(outs):
            np.testing.assert_array_equal(obs[r], o)
            np.testing.assert_array_equal(reward[r], rw)
            for key in ("throughput", "delay", "load", "users", "shares", "coordination", "cell_load"):
                np.testing.assert_array_equal(info[key][r], inf[key], err_msg=key)
    # reset(seed) re-seeds every replica (seed + r); reset() replays
    first = batch.reset(seed=100)
    np.testing.assert_array_equal(first[2], SlicingEnv(SMALL, seed=102).reset())
    np.testing.assert_array_equal(batch.reset(), first)
    with pytest.raises(ValueError, match="actions"):
        batch.step(np.full((K, N), 0.25))  # missing the replica axis


def test_same_seed_same_run_different_seed_differs():
    a, b, c = SlicingEnv(SMALL, seed=1), SlicingEnv(SMALL, seed=1), SlicingEnv(SMALL, seed=2)
    oa, ob, oc = a.reset(), b.reset(), c.reset()
    np.testing.assert_array_equal(oa, ob)
    assert not np.array_equal(oa, oc)
    for _ in range(10):
        np.testing.assert_array_equal(a.step_policy("traffic-aware")[0], b.step_policy("traffic-aware")[0])


BAD_ACTIONS = {
    "shape": (np.full((K, N - 1), 1.0 / (N - 1)), ValueError),
    "transposed": (np.full((N, K), 1.0 / K), ValueError),
    "flat": (np.full(K * N, 0.25), ValueError),
    "nan": (np.where(np.arange(K * N).reshape(K, N) == 5, np.nan, 0.25), ValueError),
    "inf": (np.where(np.arange(K * N).reshape(K, N) == 5, np.inf, 0.25), ValueError),
    "off-simplex": (np.full((K, N), 0.3), ValueError),
    "negative": (np.tile([0.75, 0.5, -0.25, 0.0], (K, 1)), ValueError),
    "one bad row": (np.vstack([np.full((K - 1, N), 0.25), [[0.5, 0.5, 0.5, 0.0]]]), ValueError),
    "strings": ([["a"] * N] * K, TypeError),
}


@pytest.mark.parametrize("label", list(BAD_ACTIONS))
def test_bad_actions_raise_and_leave_state_unchanged(label):
    actions, exc = BAD_ACTIONS[label]
    env, twin = SlicingEnv(SMALL, seed=9), SlicingEnv(SMALL, seed=9)
    env.reset(), twin.reset()
    env.step(np.full((K, N), 0.25)), twin.step(np.full((K, N), 0.25))
    before = env.last_obs.copy()
    with pytest.raises(exc, match="actions"):
        env.step(actions)
    assert env.time == twin.time
    np.testing.assert_array_equal(env.last_obs, before)
    good = np.tile([0.4, 0.3, 0.2, 0.1], (K, 1))
    o1, r1, i1 = env.step(good)
    o2, r2, i2 = twin.step(good)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(r1, r2)
    assert i1["time"] == i2["time"]


def test_constructor_validation():
    with pytest.raises(TypeError, match="scenario"):
        SlicingEnv("paper")
    with pytest.raises(ValueError, match="replicas"):
        SlicingEnv(SMALL, replicas=0)
    with pytest.raises(ValueError, match="threads"):
        SlicingEnv(SMALL, threads=0)
    with pytest.raises(ValueError, match="n_neighbours"):
        SlicingEnv(SMALL, n_neighbours=-1)
    with pytest.raises(ValueError, match="seed"):
        SlicingEnv(SMALL, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        SlicingEnv(SMALL, seed=2**64 - 2, replicas=3)


def test_neighbour_count_clipped_and_zero_means_no_coordination():
    env = SlicingEnv(ONE_SITE)  # K = 3, default 6 neighbours -> 2
    assert env.n_neighbours == 2 and env.neighbours.shape == (3, 2)
    assert sorted(env.neighbours[0]) == [1, 2]
    none = SlicingEnv(SMALL, n_neighbours=0)
    none.reset()
    obs, _, info = none.step(np.full((K, N), 0.25))
    assert none.neighbours.shape == (K, 0) and obs.shape == (K, 4 * N)
    np.testing.assert_array_equal(obs[:, 3 * N:], 0.0)
    np.testing.assert_array_equal(info["coordination"], 0.0)
    assert info["load"].max() > 0.0


# ------------------------------------------------------------------------------ neighbours


def test_paper_neighbours_exclude_self_unique_sorted_deterministic():
    nb = interference_neighbours(PAPER)
    c = coupling_matrix(PAPER)
    assert nb.shape == (K, 6) and c.shape == (K, K)
    np.testing.assert_array_equal(np.diag(c), 0.0)
    assert np.all(c >= 0.0) and np.all(np.isfinite(c))
    for k in range(K):
        assert k not in nb[k] and len(set(nb[k].tolist())) == 6
        values = c[k, nb[k]]
        assert np.all(np.diff(values) <= 1e-12 * values[0])
        rest = [i for i in range(K) if i != k and i not in nb[k]]
        assert c[k, rest].max() <= values[-1] * (1 + 1e-9)  # the top 6
    np.testing.assert_array_equal(nb, interference_neighbours(PAPER))
    np.testing.assert_array_equal(c, coupling_matrix(PAPER))
    # the sector of each neighbouring site facing cell 0 (site 0, boresight 30°) couples the most
    assert set(nb[0, :2].tolist()) == {4, 8}


def test_coupling_matches_grid_quadrature():
    """C[k, i] against a deterministic grid over cell k's rhombus (independent implementation)."""
    isd = 500.0
    r_cell = isd / math.sqrt(3.0)
    sites = np.array([[0.0, 0.0], [isd, 0.0], [isd / 2, isd * math.sqrt(3) / 2], [1.5 * isd, isd * math.sqrt(3) / 2]])
    bores = (30.0, 150.0, 270.0)

    def mean_gain_db(k, x, y):
        sx, sy = sites[k // 3]
        d = np.hypot(x - sx, y - sy)
        p = radio.los_probability(d)
        pl = p * radio.pathloss_db(d, True) + (1 - p) * radio.pathloss_db(d, False)
        return radio.antenna_gain_db(np.degrees(np.arctan2(y - sy, x - sx)) - bores[k % 3]) - pl

    c = coupling_matrix(PAPER, samples_per_cell=4000)
    g = (np.arange(60) + 0.5) / 60
    a, cc = np.meshgrid(g, g)
    for k in (0, 4, 11):
        b = math.radians(bores[k % 3])
        x = sites[k // 3, 0] + r_cell * (a * math.cos(b - math.pi / 3) + cc * math.cos(b + math.pi / 3))
        y = sites[k // 3, 1] + r_cell * (a * math.sin(b - math.pi / 3) + cc * math.sin(b + math.pi / 3))
        keep = np.hypot(x - sites[k // 3, 0], y - sites[k // 3, 1]) >= 35.0
        own = mean_gain_db(k, x[keep], y[keep])
        for i in range(K):
            if i == k:
                continue
            ref = np.mean(10 ** ((mean_gain_db(i, x[keep], y[keep]) - own) / 10))
            assert c[k, i] == pytest.approx(ref, rel=0.03, abs=1e-5), (k, i)


def test_symmetric_layouts_give_symmetric_coupling():
    # one site: all three sectors couple equally (rotation and mirror symmetry); ties -> lowest index
    c1 = coupling_matrix(ONE_SITE)
    off = c1[~np.eye(3, dtype=bool)]
    np.testing.assert_allclose(off, off[0], rtol=1e-9)
    np.testing.assert_array_equal(interference_neighbours(ONE_SITE, 1), [[1], [0], [0]])
    np.testing.assert_array_equal(interference_neighbours(ONE_SITE, 2), [[1, 2], [0, 2], [0, 1]])
    # the paper rhombus is mirror symmetric about the 30° line: sites 1 <-> 2, sectors 1 <-> 2
    c = coupling_matrix(PAPER)
    perm = np.array([3 * s + t for s in (0, 2, 1, 3) for t in (0, 2, 1)])
    np.testing.assert_allclose(c[np.ix_(perm, perm)], c, rtol=1e-9, atol=1e-15)


def test_neighbour_arguments_validated():
    with pytest.raises(ValueError, match="n_neighbours"):
        interference_neighbours(PAPER, 0)
    with pytest.raises(ValueError, match="n_neighbours"):
        interference_neighbours(PAPER, K)
    with pytest.raises(ValueError, match="samples_per_cell"):
        coupling_matrix(PAPER, samples_per_cell=0)
    with pytest.raises(ValueError, match="square"):
        neighbours_from_coupling(np.zeros((3, 4)), 1)
    assert interference_neighbours(PAPER, K - 1).shape == (K, K - 1)


def test_wrap_around_and_culling_change_coupling_consistently():
    wrapped = coupling_matrix(with_layout(wrap_around=True))
    plain = coupling_matrix(PAPER)
    assert np.all(wrapped.sum(axis=1) >= plain.sum(axis=1) - 1e-12)  # images are never farther
    culled = coupling_matrix(dataclasses.replace(PAPER, radio=dataclasses.replace(PAPER.radio,
                                                                                  interference_radius_m=400.0)))
    assert np.all(culled <= plain + 1e-15) and np.any(culled < plain)
    np.testing.assert_allclose(culled[0, [1, 2]], plain[0, [1, 2]])  # co-sited sectors are never culled


# ------------------------------------------------------------------------------ Box -> simplex


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 6)),
                  elements=st.floats(0.0, 1.0, width=32)))
def test_box_to_simplex_on_simplex(a):
    s = box_to_simplex(a)
    assert s.shape == a.shape and s.dtype == np.float64
    assert np.all(s >= 0.0)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, atol=1e-12)
    for row_a, row_s in zip(a.astype(np.float64), s):
        if row_a.sum() < 1e-12:
            np.testing.assert_array_equal(row_s, 1.0 / a.shape[-1])
        else:
            np.testing.assert_allclose(row_s, row_a / row_a.sum(), rtol=1e-12)


def test_box_to_simplex_edge_cases():
    np.testing.assert_array_equal(box_to_simplex(np.zeros(4)), 0.25)
    np.testing.assert_array_equal(box_to_simplex([0, 1, 0, 0]), [0, 1, 0, 0])
    for bad in ([0.5, np.nan, 0, 0], [0.5, -0.1, 0, 0], [1.5, 0, 0, 0], [np.inf, 0, 0, 0]):
        with pytest.raises(ValueError, match="actions"):
            box_to_simplex(bad)


# ------------------------------------------------------------------------------ PettingZoo


def test_parallel_api_and_seed_tests():
    env = SlicingEnv.parallel_env(SMALL, max_steps=6)
    assert isinstance(env, SlicingParallelEnv)
    assert env.metadata["name"] == "pyslice_slicing_v0" and env.render_mode is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any API warning (missing keys, revived agents) fails
        parallel_api_test(env, num_cycles=10)
    parallel_seed_test(lambda: SlicingEnv.parallel_env(SMALL, max_steps=20), num_cycles=20)


def test_parallel_env_semantics():
    env = SlicingEnv.parallel_env(SMALL, seed=3, max_steps=3)
    assert env.possible_agents == [f"cell_{k}" for k in range(K)]
    space = env.observation_space("cell_0")
    np.testing.assert_array_equal(space.high, np.repeat(np.array(OBS_CLIP, np.float32), N))
    log_space = SlicingEnv.parallel_env(SMALL, seed=3, observation="log").observation_space("cell_0")
    np.testing.assert_array_equal(log_space.high, np.repeat(np.array(OBS_LOG_HIGH, np.float32), N))
    assert env.action_space("cell_5").shape == (N,)
    obs, infos = env.reset()
    # the first unseeded reset uses the constructor seed: same as the array API
    np.testing.assert_array_equal(np.stack([obs[a] for a in env.agents]), SlicingEnv(SMALL, seed=3).reset())
    zero = {a: np.zeros(N, np.float32) for a in env.agents}
    obs, rew, term, trunc, infos = env.step(zero)
    for a in env.possible_agents:
        np.testing.assert_allclose(infos[a]["shares"], 0.25)  # zero vector -> equal shares
        assert obs[a] in env.observation_space(a) and 0.0 <= rew[a] <= 1.0
    half = dict(zero, cell_0=np.array([0.5, 0.5, 0, 0], np.float32))
    _, _, term, trunc, infos = env.step(half)
    np.testing.assert_allclose(infos["cell_0"]["shares"], [0.5, 0.5, 0, 0])
    assert not any(term.values()) and not any(trunc.values())
    bad = dict(zero, cell_2=np.array([1.2, 0, 0, 0], np.float32))
    for actions, pattern in ((bad, "cell_2"), (dict(zero, cell_1=np.full(N, np.nan)), "cell_1"),
                             ({a: zero[a] for a in env.agents[1:]}, "missing"),
                             (dict(zero, cell_1=np.zeros(N + 1)), "cell_1")):
        with pytest.raises(ValueError, match=pattern):
            env.step(actions)
    _, _, term, trunc, _ = env.step(zero)  # third step: truncated, state unchanged by the bad calls
    assert all(trunc.values()) and not any(term.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    # reset(seed) reproducible; reset() after it draws a new but reproducible episode
    o1, _ = env.reset(seed=8)
    o2, _ = env.reset()
    o3, _ = env.reset(seed=8)
    o4, _ = env.reset()
    assert all(np.array_equal(o1[a], o3[a]) and np.array_equal(o2[a], o4[a]) for a in env.possible_agents)
    assert not all(np.array_equal(o1[a], o2[a]) for a in env.possible_agents)


def test_factories_on_instance_inherit_configuration():
    base = SlicingEnv(ONE_SITE, seed=4, n_neighbours=1)
    par = base.parallel_env(max_steps=2)
    assert par.env.scenario is ONE_SITE and par.env.seed == 4 and par.env.n_neighbours == 1
    single = base.single_cell_env(2)
    assert single.env.scenario is ONE_SITE and single.k == 2
    other = base.single_cell_env(0, "traffic-aware", SMALL)
    assert other.env.scenario is SMALL and other.env.n_agents == K


# ------------------------------------------------------------------------------ Gymnasium


@pytest.mark.parametrize("others", ["equal", "traffic-aware", "max-min", "callable"])
def test_single_cell_env_check_env(others):
    if others == "callable":
        others = lambda obs: np.full((obs.shape[0], N), 1.0 / N)  # noqa: E731
    env = SlicingEnv.single_cell_env(3, others=others, scenario=SMALL, max_steps=5)
    assert isinstance(env, SingleCellEnv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the [0, 1] action Box is deliberate (not [-1, 1])
        check_env(env, skip_render_check=True)


def test_single_cell_env_others_and_truncation():
    d = np.array([s.demand_bps for s in SMALL.slices])
    env = SlicingEnv.single_cell_env(5, others="traffic-aware", scenario=SMALL, seed=1, max_steps=4)
    obs, info = env.reset()
    assert obs.shape == (4 * N,) and obs in env.observation_space
    prev_users = env.env.last_info["users"].copy()
    action = np.array([0.0, 0.2, 0.2, 0.0], np.float32)
    obs, reward, term, trunc, info = env.step(action)
    shares = env.env.last_info["shares"]
    np.testing.assert_allclose(shares[5], [0, 0.5, 0.5, 0])
    for k in range(K):
        if k != 5:
            w = prev_users[k] * d  # the previous step's offered demand
            expect = w / w.sum() if w.sum() > 0 else np.full(N, 1.0 / N)
            np.testing.assert_allclose(shares[k], expect, rtol=1e-12)
    assert reward == info["reward_all"][5] and not term and not trunc
    for _ in range(3):
        *_, trunc, _ = env.step(env.action_space.sample())
    assert trunc
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([0.5, 0.5, 2.0, 0.0], np.float32))
    with pytest.raises(ValueError, match="k"):
        SlicingEnv.single_cell_env(K, scenario=SMALL)
    bad_others = SlicingEnv.single_cell_env(0, others=lambda obs: np.full((K, N), 0.3), scenario=SMALL)
    bad_others.reset()
    with pytest.raises(ValueError, match="other cells"):
        bad_others.step(np.full(N, 0.25, np.float32))
