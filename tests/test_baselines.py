"""Baseline policies (equal, traffic-aware, max-min reference) and the policy runner."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario
from pyslice.envs.baselines import (
    EqualShares,
    MaxMinReference,
    Policy,
    TrafficAware,
    make_policy,
    proportional_shares,
    run_policy_in_env,
)
from pyslice.envs.slicing import SlicingEnv

PAPER = Scenario.paper()
SMALL = dataclasses.replace(PAPER, traffic=dataclasses.replace(PAPER.traffic, max_ues_per_slice=4))
K, N = 12, 4
D = np.array([s.demand_bps for s in PAPER.slices])
L = np.array([s.flow_size_bits for s in PAPER.slices])
REQ_T, REQ_D = PAPER.requirement_matrices()


def test_policies_satisfy_the_protocol():
    for policy in (EqualShares(), TrafficAware(PAPER), MaxMinReference(PAPER)):
        assert isinstance(policy, Policy)
        assert policy.builtin == policy.name
        assert make_policy(policy.name, PAPER).__class__ is policy.__class__
    with pytest.raises(ValueError, match="policy name"):
        make_policy("random", PAPER)


def test_equal_shares_any_batch_shape():
    for shape in ((K, 4 * N), (3, K, 4 * N)):
        a = EqualShares().act(np.zeros(shape, np.float32))
        assert a.shape == shape[:-1] + (N,)
        np.testing.assert_array_equal(a, 0.25)
    with pytest.raises(ValueError, match="obs"):
        EqualShares().act(np.zeros((K, 4 * N + 1)))


def test_traffic_aware_from_info_and_from_obs():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 5, size=(K, N))
    users[3] = 0
    obs = np.zeros((K, 4 * N), np.float32)
    obs[:, 2 * N:3 * N] = users / 4.0  # the observation's users block (G = 4)
    policy = TrafficAware(SMALL)
    for info in ({"users": users}, None):
        a = policy.act(obs, info)
        for k in range(K):
            w = users[k] * D
            expect = np.full(N, 0.25) if w.sum() == 0 else w / w.sum()
            np.testing.assert_allclose(a[k], expect, rtol=1e-6)


def maxmin_by_hand(x, demand, users, k):
    """docs/model.md §5 with mean(1/se) = x·M·B/D: a_n = x_n + s·c_n, spare over slices with users."""
    c = np.array([x[n] / demand[n] * max(REQ_T[k, n], L[n] / REQ_D[k, n]) if demand[n] > 0 else 0.0
                  for n in range(N)])
    if x.sum() >= 1.0:
        return x / x.sum()
    s = min(1.0, (1.0 - x.sum()) / c.sum()) if c.sum() > 0 else 1.0
    a = x + s * c
    with_users = users > 0 if (users > 0).any() else np.ones(N, bool)
    a = a + (1.0 - a.sum()) * with_users / with_users.sum()
    return a / a.sum()


def test_maxmin_by_hand_cases():
    policy = MaxMinReference(PAPER)
    obs = np.zeros((K, 4 * N))
    x = np.zeros((K, N))
    demand = np.zeros((K, N))
    users = np.zeros((K, N), int)
    # cell 0: room to spare -> every slice gets x + c (s* capped at 1), the rest to slices with users
    x[0], demand[0], users[0] = [0.1, 0.05, 0.02, 0.0], [1e6, 5e5, 2e5, 0.0], [4, 3, 2, 1]
    # cell 1: tight -> s* < 1 equalises the satisfaction estimate
    x[1], demand[1], users[1] = [0.4, 0.3, 0.1, 0.05], [1e6, 6e5, 3e5, 1e5], [4, 4, 3, 2]
    # cell 2: overloaded -> shares proportional to x
    x[2], demand[2], users[2] = [0.9, 0.4, 0.1, 0.1], [1e6, 1e6, 1e5, 1e5], [4, 4, 4, 4]
    # cell 3: no users -> equal shares
    # cell 4: spare share only to the slices with users; cell 5: slice 3's users all in outage (D = 0)
    x[4], demand[4], users[4] = [0.1, 0.0, 0.05, 0.0], [1e6, 0.0, 2e5, 0.0], [3, 0, 2, 0]
    x[5], demand[5], users[5] = [0.1, 0.0, 0.0, 0.0], [5e5, 0.0, 0.0, 0.0], [2, 0, 0, 3]
    a = policy.act(obs, {"load": x, "demand": demand, "users": users})
    for k in range(K):
        np.testing.assert_allclose(a[k], maxmin_by_hand(x[k], demand[k], users[k], k), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a[2], x[2] / x[2].sum())
    np.testing.assert_allclose(a[3], 0.25)
    assert a[4, 1] == a[4, 3] == 0.0 and a[5, 1] == a[5, 2] == 0.0 and a[5, 3] == pytest.approx(0.15)
    # cell 1: the satisfaction estimate (a - x)/c is the same for every slice
    c1 = x[1] / demand[1] * np.maximum(REQ_T[1], L / REQ_D[1])
    s = (a[1] - x[1]) / c1
    np.testing.assert_allclose(s, s[0], rtol=1e-9)
    assert 0 < s[0] < 1
    # without info it falls back to traffic-aware from the observation
    obs[:, 2 * N:3 * N] = users / 4.0
    np.testing.assert_allclose(policy.act(obs), TrafficAware(PAPER).act(obs), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.01, 0.3, 1.0, 3.0]))
def test_baseline_shares_on_simplex(seed, scale):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 6, size=(2, K, N)) * (rng.random((2, K, N)) < 0.7)
    demand = users * D * (rng.random((2, K, N)) < 0.9)  # some slices fully in outage
    x = np.where(demand > 0, rng.random((2, K, N)) * scale, 0.0)
    info = {"load": x, "demand": demand, "users": users}
    obs = rng.random((2, K, 4 * N))
    for policy in (EqualShares(), TrafficAware(PAPER), MaxMinReference(PAPER)):
        a = policy.act(obs, info)
        assert a.shape == (2, K, N) and np.all(np.isfinite(a)) and np.all(a >= 0.0)
        np.testing.assert_allclose(a.sum(axis=-1), 1.0, atol=1e-12)


def test_proportional_shares():
    np.testing.assert_allclose(proportional_shares([[1.0, 3.0], [0.0, 0.0]]), [[0.25, 0.75], [0.5, 0.5]])


def test_runner_routes_builtins_through_the_simulator():
    env, twin = SlicingEnv(SMALL, seed=3), SlicingEnv(SMALL, seed=3)
    out = run_policy_in_env(env, TrafficAware(SMALL), 20)
    twin.reset()
    expect = np.stack([twin.step_policy("traffic-aware")[1] for _ in range(20)])
    np.testing.assert_array_equal(out["reward"], expect)
    assert out["reward"].shape == out["min_throughput_satisfaction"].shape == (20, K)
    assert out["shares"].shape == (20, K, N) and out["policy"] == "traffic-aware"
    assert np.all(out["reward"] <= out["min_throughput_satisfaction"] + 1e-12)
    assert out["mean_reward"] == pytest.approx(expect.mean())
    # string names work too, and use_builtin=False runs the Python version (previous-step demand)
    py = run_policy_in_env(env, "traffic-aware", 20, use_builtin=False)
    assert not np.array_equal(py["shares"], out["shares"])


def test_runner_with_one_policy_per_replica_equals_single_runs():
    """A sequence of policies runs one per replica of a shared world (env.step_mixed): each
    replica's KPIs are those of a single env running that policy alone (built-in or act())."""
    class EqualByAct:
        name = "equal by act"

        def act(self, obs, info=None):
            return np.full((obs.shape[0], N), 1.0 / N)

    env = SlicingEnv(SMALL, seed=5, replicas=2, same_seed=True, shared_world=True)
    ticks = []
    out = run_policy_in_env(env, ["traffic-aware", EqualByAct()], 12, seed=5, progress=ticks.append)
    assert ticks == list(range(1, 13)) and out["policy"] == "traffic-aware | equal by act"
    assert out["reward"].shape == (12, 2, K) and out["drop_rate"].shape == (12, 2, K, N)
    for r, name in enumerate(["traffic-aware", "equal"]):
        single = run_policy_in_env(SlicingEnv(SMALL, seed=5), name, 12, seed=5)
        for key in ("reward", "min_throughput_satisfaction", "max_slice_delay", "shares", "drop_rate"):
            np.testing.assert_array_equal(out[key][:, r], single[key], err_msg=f"{name} {key}")
    with pytest.raises(ValueError, match="one per replica"):
        run_policy_in_env(env, ["equal"], 1)


def test_runner_calls_act_with_previous_info():
    class Spy:
        name = "spy"

        def __init__(self):
            self.seen = []

        def act(self, obs, info=None):
            self.seen.append((obs.copy(), info["time"]))
            return np.tile([0.7, 0.1, 0.1, 0.1], (obs.shape[0], 1))

    env = SlicingEnv(SMALL, seed=1)
    spy = Spy()
    out = run_policy_in_env(env, spy, 5, seed=2)
    assert [t for _, t in spy.seen] == [1, 2, 3, 4, 5]  # info of the previous step (1 = warm-up)
    np.testing.assert_array_equal(spy.seen[0][0], SlicingEnv(SMALL, seed=2).reset())
    np.testing.assert_allclose(out["shares"], np.tile([0.7, 0.1, 0.1, 0.1], (5, K, 1)))
    more = run_policy_in_env(env, spy, 2, reset=False)
    assert more["reward"].shape == (2, K) and [t for _, t in spy.seen[-2:]] == [6, 7]
    with pytest.raises(ValueError, match="steps"):
        run_policy_in_env(env, spy, -1)


def test_runner_with_replicas():
    env = SlicingEnv(SMALL, seed=0, replicas=2)
    out = run_policy_in_env(env, MaxMinReference(SMALL), 4, use_builtin=False)
    assert out["reward"].shape == (4, 2, K) and out["shares"].shape == (4, 2, K, N)


def test_baseline_ordering_at_paper_scale():
    """Equal shares < traffic-aware < max-min reference (mean eq. 2 satisfaction, paper scale)."""
    env = SlicingEnv(PAPER, seed=0)
    means = {name: run_policy_in_env(env, name, 150)["mean_reward"]
             for name in ("equal", "traffic-aware", "max-min")}
    assert means["equal"] < means["traffic-aware"] < means["max-min"]
    python_maxmin = run_policy_in_env(env, "max-min", 150, use_builtin=False)["mean_reward"]
    assert python_maxmin > means["traffic-aware"]


def test_every_layer_reads_the_cores_policy_names():
    from pyslice import _core
    from pyslice.commands.common import POLICIES
    from pyslice.envs.baselines import _POLICIES
    from pyslice.envs.slicing import BUILTIN_POLICIES
    from pyslice.sim.simulator import POLICY_CODES

    assert _core.POLICIES == ("given", "equal", "traffic-aware", "max-min")
    assert tuple(POLICY_CODES) == _core.POLICIES and list(POLICY_CODES.values()) == [0, 1, 2, 3]
    assert BUILTIN_POLICIES == POLICIES == _core.POLICIES[1:]
    assert set(_POLICIES) == set(BUILTIN_POLICIES)
