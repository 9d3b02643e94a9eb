"""SimulatorBatch(shared_world=True): replicas of one seed share the shares-independent half of a step
(mask, mobility, links, handover) and still give the bits of independent replicas."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario, SlicingEnv
from pyslice.sim.simulator import SimulatorBatch
from helpers import with_ues


def small(**traffic) -> Scenario:
    return with_ues(4, **traffic)


SCENARIOS = {
    "finite-buffer": small(),
    "fluid-backlog": small(delay_model="fluid-backlog"),
    "lazy links, network roaming": dataclasses.replace(
        small(roaming="network"), radio=dataclasses.replace(Scenario.paper().radio, link_update_distance_m=5.0)),
    # 21 cells on wrap-around: every UE linked to every site through its nearest image
    "wrap-around hexagon": dataclasses.replace(
        small(), layout=dataclasses.replace(Scenario.paper().layout, kind="hex", rings=1, wrap_around=True)),
}


@settings(max_examples=16, deadline=None)
@given(name=st.sampled_from(sorted(SCENARIOS)), seed=st.integers(0, 2**32), replicas=st.integers(1, 9),
       threads=st.integers(1, 3),
       policies=st.lists(st.sampled_from(["given", "equal", "traffic-aware", "max-min"]), min_size=3, max_size=12))
def test_shared_world_equals_independent_replicas(name, seed, replicas, threads, policies):
    # Each thread solves its run of replicas' load couplings together (groups of 4, 2 and 1 replicas
    # over every interferer block): a replica's bits must not depend on its run or group.
    sc = SCENARIOS[name]
    K = sc.n_cells
    rng = np.random.default_rng(seed % 1000)
    independent = SimulatorBatch(sc, [seed] * replicas)
    shared = SimulatorBatch(sc, [seed] * replicas, threads=threads, shared_world=True)
    for policy in policies:
        if policy == "given":
            shares = rng.dirichlet(np.ones(4), size=(replicas, K))
            a = {k: v.copy() for k, v in independent.step(shares).items()}
            b = shared.step(shares)
        else:
            a = {k: v.copy() for k, v in independent.step_policy(policy).items()}
            b = shared.step_policy(policy)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {policy} {key}")
        # the per-UE SINR, derived on request, is each replica's own (on the leader's world)
        for r in range(replicas):
            np.testing.assert_array_equal(independent.result(r).sinr_db, shared.result(r).sinr_db)
    np.testing.assert_array_equal(independent.state(0)["positions"], shared.state(0)["positions"])
    # a reset draws the world again (the followers', freed at construction, stay freed) and the
    # replicas go on giving the same bits
    independent.reset([seed + 1] * replicas)
    shared.reset([seed + 1] * replicas)
    for _ in range(2):
        shares = rng.dirichlet(np.ones(4), size=(replicas, K))
        a = {k: v.copy() for k, v in independent.step(shares).items()}
        b = shared.step(shares)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} after reset {key}")


def test_shared_world_refuses_what_it_cannot_do():
    sc = small()
    with pytest.raises(ValueError, match="same seed"):
        SimulatorBatch(sc, [1, 2], shared_world=True)
    with pytest.raises(TypeError, match="shared_world"):
        SimulatorBatch(sc, [1, 1], shared_world=1)
    batch = SimulatorBatch(sc, [3, 3], shared_world=True)
    batch.step(np.full((2, 12, 4), 0.25))
    states = batch.get_state()
    with pytest.raises(ValueError, match="replica 1: not a shared-world follower"):
        batch.set_state([states[0], states[0]])  # a leader's state where a follower's belongs
    with pytest.raises(ValueError, match="replica 0: not a pyslice simulator state"):
        batch.set_state([states[1], states[1]])
    independent = SimulatorBatch(sc, [3, 3])
    with pytest.raises(ValueError, match="replica 1: not a pyslice simulator state"):
        independent.set_state(states)
    with pytest.raises(ValueError, match="state\\(0\\)"):
        batch.state(1)
    with pytest.raises(ValueError, match="same seed"):
        batch.reset([3, 4])
    with pytest.raises(ValueError, match="same_seed"):
        SlicingEnv(sc, replicas=2, shared_world=True)
    env = SlicingEnv(sc, seed=5, replicas=3, same_seed=True, shared_world=True)
    ref = SlicingEnv(sc, seed=5, replicas=3, same_seed=True)
    obs_a, obs_b = env.reset(), ref.reset()
    np.testing.assert_array_equal(obs_a, obs_b)
    rng = np.random.default_rng(0)
    for _ in range(5):
        shares = rng.dirichlet(np.ones(4), size=(3, 12))
        (oa, ra, _), (ob, rb, _) = env.step(shares), ref.step(shares)
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ra, rb)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32), shared=st.booleans(),
       policies=st.lists(st.sampled_from(["given", "equal", "traffic-aware", "max-min"]), min_size=2, max_size=4))
def test_mixed_policies_equal_one_simulator_per_policy(seed, shared, policies):
    sc = SCENARIOS["finite-buffer"]
    R = len(policies)
    rng = np.random.default_rng(seed % 1000)
    batch = SimulatorBatch(sc, [seed] * R, threads=2, shared_world=shared)
    singles = [SimulatorBatch(sc, [seed]) for _ in range(R)]
    for _ in range(4):
        shares = rng.dirichlet(np.ones(4), size=(R, 12))
        got = {k: v.copy() for k, v in batch.step_mixed(policies, shares).items()}
        for r, (policy, single) in enumerate(zip(policies, singles)):
            want = single.step(shares[r:r + 1]) if policy == "given" else single.step_policy(policy)
            for key in want:
                np.testing.assert_array_equal(got[key][r], want[key][0], err_msg=f"{policy} {key}")


def test_mixed_policies_check_their_arguments():
    batch = SimulatorBatch(small(), [2, 2], shared_world=True)
    with pytest.raises(ValueError, match="one per replica"):
        batch.step_mixed(["equal"])
    with pytest.raises(ValueError, match="policy names"):
        batch.step_mixed(["equal", "magic"])
    with pytest.raises(ValueError, match="shares must be given"):
        batch.step_mixed(["equal", "given"])
    with pytest.raises(ValueError, match="shape"):
        batch.step_mixed(["equal", "given"], np.full((1, 12, 4), 0.25))
    bad = np.full((2, 12, 4), 0.25)
    bad[1, 0] = [0.5, 0.5, 0.5, -0.5]
    with pytest.raises(ValueError):
        batch.step_mixed(["equal", "given"], bad)
