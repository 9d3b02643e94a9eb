"""Instance relabelling (issue 12 item 6): the replay keeps raw KPIs, and transferred transitions
are recomputed under the target's requirements exactly as the env would have computed them."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario, SlicingEnv
from pyslice.envs.slicing import OBSERVATIONS
from pyslice.envs.relabel import KPI_FIELDS, kpi_dim, kpi_record, relabel_instances
from pyslice.learn.replay import ReplayBuffers
from pyslice.study.transfer import TransferResult
from pyslice.study.transfer_runs import load_run, run_transfer
from helpers import with_ues


def small() -> Scenario:
    return with_ues(3)


def _walk(mode: str, steps: int = 12, seed: int = 2):
    """Transitions of a random-share walk with their KPI records."""
    env = SlicingEnv(small(), seed=seed, observation=mode)
    rng = np.random.default_rng(seed)
    obs = env.reset()
    rows = []
    for _ in range(steps):
        prev = env.last_info
        a = rng.dirichlet(np.ones(env.n_slices), size=env.n_agents)
        nxt, rew, info = env.step(a)
        rows.append((obs, a, rew, nxt, kpi_record(prev, info)))
        obs = nxt
    return env, rows


@pytest.mark.parametrize("mode", OBSERVATIONS)
def test_relabel_under_own_requirements_is_the_identity(mode):
    env, rows = _walk(mode)
    req_t, req_d = env.requirements
    for k in (0, 4):
        data = {"obs": np.stack([r[0][k] for r in rows]), "act": np.stack([r[1][k] for r in rows]).astype(np.float32),
                "rew": np.array([r[2][k] for r in rows], np.float32), "next_obs": np.stack([r[3][k] for r in rows]),
                "kpi": np.stack([r[4][k] for r in rows]).astype(np.float32)}
        out = relabel_instances(data, req_t[k], req_d[k], mode)
        np.testing.assert_allclose(out["rew"], data["rew"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["obs"], data["obs"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["next_obs"], data["next_obs"], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["act"], data["act"])


@pytest.mark.parametrize("mode", OBSERVATIONS)
def test_relabel_to_another_cell_equals_the_env_under_those_requirements(mode):
    """Cell 0 (profile 0) relabelled with cell 3's requirements (profile 1) gives what an env whose
    cell 0 had profile 1 computes: same simulator, only the requirement-dependent terms change."""
    env, rows = _walk(mode)
    req_t, req_d = env.requirements
    sc = small()
    swapped = dataclasses.replace(sc, requirements=dataclasses.replace(sc.requirements, site_profile=(1, 0)))
    other = SlicingEnv(swapped, seed=2, observation=mode)
    rng = np.random.default_rng(2)
    other.reset()
    data = {"obs": [], "act": [], "rew": [], "next_obs": [], "kpi": []}
    obs2 = other.last_obs
    want_rew, want_obs, want_next = [], [], []
    for r in rows:
        a = rng.dirichlet(np.ones(other.n_slices), size=other.n_agents)
        np.testing.assert_array_equal(a, r[1])  # the same walk
        nxt2, rew2, _ = other.step(a)
        want_rew.append(rew2[0]), want_obs.append(obs2[0]), want_next.append(nxt2[0])
        obs2 = nxt2
        for key, v in zip(("obs", "act", "rew", "next_obs", "kpi"), r):
            data[key].append(v[0])
    data = {k: np.asarray(v, np.float32) for k, v in data.items()}
    assert not np.allclose(req_t[0], req_t[3])
    out = relabel_instances(data, req_t[3], req_d[3], mode)
    np.testing.assert_allclose(out["rew"], want_rew, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["obs"], np.asarray(want_obs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["next_obs"], np.asarray(want_next), rtol=1e-5, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 20), scale=st.floats(0.1, 10.0), seed=st.integers(0, 1000))
def test_relabel_reward_monotone_in_requirement(n, scale, seed):
    """Raising every requirement can only lower the reward (eq. 2 is monotone), and the reward
    stays in [0, 1]."""
    rng = np.random.default_rng(seed)
    N = 4
    kpi = np.concatenate([rng.uniform(0, 5e6, (n, N)), rng.uniform(0, 5e6, (n, N)), rng.uniform(1e-4, 5e-3, (n, N)),
                          rng.integers(0, 5, (n, N))], axis=1).astype(np.float32)
    data = {"obs": np.zeros((n, 4 * N), np.float32), "act": np.zeros((n, N), np.float32),
            "rew": np.zeros(n, np.float32), "next_obs": np.zeros((n, 4 * N), np.float32), "kpi": kpi}
    base_t, base_d = np.array([2e6, 1.5e6, 1e6, 5e5]), np.array([2e-3, 2e-3, 1e-3, 1e-3])
    low = relabel_instances(data, base_t, base_d, "log")["rew"]
    high = relabel_instances(data, base_t * (1 + scale), base_d / (1 + scale), "log")["rew"]
    assert np.all(high <= low + 1e-6) and np.all((0 <= low) & (low <= 1))


def test_relabel_errors_name_the_problem():
    n, N = 3, 4
    data = {"obs": np.zeros((n, 16), np.float32), "act": np.zeros((n, N), np.float32), "rew": np.zeros(n, np.float32),
            "next_obs": np.zeros((n, 16), np.float32)}
    with pytest.raises(ValueError, match="raw KPIs"):
        relabel_instances(data, np.ones(N), np.ones(N), "log")
    data["kpi"] = np.zeros((n, kpi_dim(N)), np.float32)
    with pytest.raises(ValueError, match="observation"):
        relabel_instances(data, np.ones(N), np.ones(N), "raw")
    with pytest.raises(ValueError, match="finite and > 0"):
        relabel_instances(data, np.array([1.0, 0.0, 1.0, 1.0]), np.ones(N), "log")
    with pytest.raises(ValueError, match="shape"):
        relabel_instances(data, np.ones(N), np.ones(N - 1), "log")
    with pytest.raises(ValueError, match="kpi"):
        relabel_instances({**data, "kpi": np.zeros((n, 5), np.float32)}, np.ones(N), np.ones(N), "log")
    assert len(KPI_FIELDS) * N == kpi_dim(N)


def test_replay_keeps_kpis_only_when_asked():
    buf = ReplayBuffers(2, 4, 3, 2, kpi_dim=5)
    z = np.zeros
    with pytest.raises(ValueError, match="kpi"):
        buf.add(z((2, 3)), z((2, 2)), z(2), z((2, 3)))
    for i in range(6):
        buf.add(z((2, 3)) + i, z((2, 2)), z(2) + i, z((2, 3)), np.full((2, 5), i))
    data = buf.agent_data(1)
    np.testing.assert_array_equal(data["kpi"][:, 0], [2, 3, 4, 5])  # ring order, oldest first
    np.testing.assert_array_equal(data["rew"], data["kpi"][:, 0])
    plain = ReplayBuffers(2, 4, 3, 2)
    with pytest.raises(ValueError, match="no KPIs"):
        plain.add(z((2, 3)), z((2, 2)), z(2), z((2, 3)), z((2, 5)))
    assert "kpi" not in plain.agent_data(0)
    with pytest.raises(ValueError, match="kpi_dim"):
        plain.load_state_dict(buf.state_dict())
    copy = ReplayBuffers(2, 4, 3, 2, kpi_dim=5)
    copy.load_state_dict(buf.state_dict())
    np.testing.assert_array_equal(copy.kpi, buf.kpi)


@pytest.fixture(scope="module")
def run_dir(pretrained_run):
    return pretrained_run


def test_trainer_stores_the_kpis_behind_each_transition(run_dir):
    """The stored reward is eq. 2 of the stored KPIs under the cell's own requirements."""
    scenario, config, _, replay = load_run(run_dir)
    assert replay.kpi_dim == kpi_dim(len(scenario.slices))
    req_t, req_d = scenario.requirement_matrices()
    for k in (0, 7):
        data = replay.agent_data(k)
        assert len(data["rew"]) == 90  # 30 exploration + 60 training steps
        out = relabel_instances(data, req_t[k], req_d[k], config.observation)
        np.testing.assert_allclose(out["rew"], data["rew"], atol=1e-6)
        np.testing.assert_allclose(out["obs"], data["obs"], atol=1e-6)


def test_run_transfer_relabels_only_when_asked(run_dir, tmp_path):
    kw = dict(steps=12, eval_steps=3, seed=4, include_scratch=False)
    plain = run_transfer(run_dir, 3, [0], "instance", **kw)
    same = run_transfer(run_dir, 3, [0], "instance", instance_rewards="source", **kw)
    relabelled = run_transfer(run_dir, 3, [0], "instance", instance_rewards="target", out_dir=tmp_path / "r", **kw)
    np.testing.assert_array_equal(plain.target_reward, same.target_reward)
    assert plain.instance_rewards == "source" and relabelled.instance_rewards == "target"
    assert TransferResult.load(tmp_path / "r").instance_rewards == "target"
    # model transfer moves no instances: relabelling changes nothing
    m1 = run_transfer(run_dir, 3, [0], "model", **kw)
    m2 = run_transfer(run_dir, 3, [0], "model", instance_rewards="target", **kw)
    np.testing.assert_array_equal(m1.target_reward, m2.target_reward)
    with pytest.raises(ValueError, match="instance_rewards"):
        run_transfer(run_dir, 3, [0], "instance", instance_rewards="mine", **kw)
