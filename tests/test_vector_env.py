"""Gymnasium registry ids and the vectorised single-cell env (pyslice.envs.registration, pyslice.envs.vector_env).

The reference for every sub-env i is a separately stepped SingleCellEnv with seed ``seed + i``: the
two must agree bit for bit (observations, rewards, terminations, truncations, info fields) over
several episodes, autoresets included.
"""
from __future__ import annotations

import dataclasses
import importlib
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, VectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st

import pyslice
import pyslice.envs.registration
from pyslice import Scenario
from pyslice.envs.baselines import TrafficAware
from pyslice.envs.adapters import SingleCellEnv
from pyslice.envs.registration import SINGLE_CELL_ID, register_envs
from pyslice.envs.vector_env import SingleCellVectorEnv

PAPER = Scenario.paper()
SC = dataclasses.replace(PAPER, traffic=dataclasses.replace(PAPER.traffic, max_ues_per_slice=4))
N = SC.n_slices
K = 3 * SC.layout.n_sites


class TimedPolicy:
    """A user policy object that reads its info (users and the clock): exercises the per-sub-env path."""

    def act(self, obs, info):
        w = np.asarray(info["users"], dtype=float) + 1.0 + (info["time"] % 3) * np.arange(N)
        return w / w.sum(axis=-1, keepdims=True)


def equal_callable(obs):
    return np.full((obs.shape[0], N), 1.0 / N)


OTHERS = {"equal": "equal", "traffic-aware": "traffic-aware", "max-min": "max-min",
          "builtin-object": TrafficAware(SC), "policy-object": TimedPolicy(), "callable": equal_callable}


def make_vec(num_envs=3, others="traffic-aware", **kw):
    kw = {"cell": 3, "scenario": SC, "seed": 5, "max_steps": 3, **kw}
    return gymnasium.make_vec(SINGLE_CELL_ID, num_envs=num_envs, vectorization_mode="vector_entry_point",
                              others=others, **kw)


def singles(num_envs=3, others="traffic-aware", cell=3, seed=5, max_steps=3, **kw):
    return [SingleCellEnv(cell, others=others, scenario=SC, seed=seed + i, max_steps=max_steps, **kw)
            for i in range(num_envs)]


def assert_info_row(infos, i, info, mask=True):
    for key, value in info.items():
        assert infos["_" + key][i] == mask, key
        assert np.array_equal(infos[key][i], value), (key, i)
        assert np.asarray(infos[key][i]).shape == np.shape(value), key


class Mirror:
    """Steps a list of SingleCellEnvs the way a NEXT_STEP vector env steps its sub-envs."""

    def __init__(self, envs):
        self.envs = envs
        self.autoreset = [False] * len(envs)

    def reset(self, seeds=None, mask=None):
        out = []
        for i, env in enumerate(self.envs):
            if mask is None or mask[i]:
                out.append(env.reset(seed=None if seeds is None else seeds[i]))
                self.autoreset[i] = False
            else:
                out.append(None)
        return out

    def step(self, actions):
        out = []
        for i, env in enumerate(self.envs):
            if self.autoreset[i]:
                obs, info = env.reset()
                out.append((obs, 0.0, False, False, info))
            else:
                out.append(env.step(actions[i]))
            self.autoreset[i] = out[-1][2] or out[-1][3]
        return out


def assert_step_equal(vec_out, ref_out):
    obs, rewards, terminated, truncated, infos = vec_out
    assert obs.dtype == np.float32 and rewards.dtype == np.float64
    for i, (o, r, te, tr, info) in enumerate(ref_out):
        assert np.array_equal(obs[i], o), i
        assert rewards[i] == r and terminated[i] == te and truncated[i] == tr, (i, rewards[i], r, truncated[i], tr)
        assert infos["_reward_all"][i] == ("reward_all" in info)
        if "reward_all" not in info:
            assert not infos["reward_all"][i].any()
        assert_info_row(infos, i, info)


def assert_reset_equal(vec_out, ref_out, mask=None):
    obs, infos = vec_out
    for i, ref in enumerate(ref_out):
        if ref is None:
            assert not infos["_throughput"][i]
            continue
        assert np.array_equal(obs[i], ref[0]), i
        assert_info_row(infos, i, ref[1])


def run_together(vec, mirror, steps, rng):
    for _ in range(steps):
        actions = rng.random((vec.num_envs, N)).astype(np.float32)
        assert_step_equal(vec.step(actions), mirror.step(actions))


# ------------------------------------------------------------------------------ registry


def test_registration_is_idempotent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_envs()
        importlib.reload(pyslice)
        importlib.reload(pyslice.envs.registration)
        pyslice.envs.registration.register_envs()
    assert SINGLE_CELL_ID in gymnasium.registry
    spec = gymnasium.spec(SINGLE_CELL_ID)
    assert spec.vector_entry_point == "pyslice.envs.vector_env:SingleCellVectorEnv"


def test_make_equals_direct_construction():
    kw = dict(scenario=SC, seed=2, n_neighbours=4, max_steps=5, observation="log")
    env = gymnasium.make(SINGLE_CELL_ID, cell=3, others="traffic-aware", **kw)
    direct = SingleCellEnv(3, others="traffic-aware", **kw)
    base = env.unwrapped
    assert isinstance(base, SingleCellEnv) and base.k == 3 and base.max_steps == 5
    assert base.env.n_neighbours == 4 and base.env.observation == "log" and base.env.scenario is SC
    assert env.observation_space == direct.observation_space and env.action_space == direct.action_space
    o1, i1 = env.reset()
    o2, i2 = direct.reset()
    assert np.array_equal(o1, o2) and i1.keys() == i2.keys()
    rng = np.random.default_rng(0)
    for _ in range(7):
        a = rng.random(N).astype(np.float32)
        out1, out2 = env.step(a), direct.step(a)
        assert np.array_equal(out1[0], out2[0]) and out1[1:4] == out2[1:4]
        assert all(np.array_equal(out1[4][key], out2[4][key]) for key in out2[4])
        if out1[3]:
            env.reset(), direct.reset()


def test_check_env_on_registered_env():
    env = gymnasium.make(SINGLE_CELL_ID, cell=1, others="max-min", scenario=SC, max_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the [0, 1] action Box is deliberate (not [-1, 1])
        check_env(env.unwrapped, skip_render_check=True)


# ------------------------------------------------------------------------------ make_vec


def test_make_vec_returns_vector_env():
    vec = make_vec(num_envs=4, others="equal", threads=2)
    assert isinstance(vec, VectorEnv) and isinstance(vec, SingleCellVectorEnv)
    assert vec.num_envs == 4 and vec.env.replicas == 4 and vec.env.threads == 2
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert vec.spec.id == SINGLE_CELL_ID
    assert vec.single_observation_space.shape == (4 * N,) and vec.observation_space.shape == (4, 4 * N)
    assert vec.single_action_space.shape == (N,) and vec.action_space.shape == (4, N)
    obs, infos = vec.reset()
    assert obs in vec.observation_space
    obs, rewards, term, trunc, infos = vec.step(vec.action_space.sample())
    assert obs in vec.observation_space and rewards.shape == term.shape == trunc.shape == (4,)
    assert infos["reward_all"].shape == (4, K) and infos["throughput"].shape == (4, N)
    assert infos["cell_load"].shape == (4,) and infos["_cell_load"].all()
    vec.close()
    assert vec.closed


@pytest.mark.parametrize("name", list(OTHERS))
def test_sub_envs_equal_single_envs_over_episodes(name):
    others = OTHERS[name]
    vec, mirror = make_vec(3, others), Mirror(singles(3, others))
    assert_reset_equal(vec.reset(), mirror.reset())
    run_together(vec, mirror, 10, np.random.default_rng(1))  # 3-step episodes: three autoresets
    assert_reset_equal(vec.reset(seed=11), mirror.reset(seeds=[11, 12, 13]))  # reseeded
    run_together(vec, mirror, 5, np.random.default_rng(2))
    assert_reset_equal(vec.reset(seed=[None, 7, None]), mirror.reset(seeds=[None, 7, None]))
    run_together(vec, mirror, 5, np.random.default_rng(3))


def test_one_sub_env_and_single_thread():
    vec, mirror = make_vec(1, "max-min", threads=1, seed=9), Mirror(singles(1, "max-min", seed=9))
    assert_reset_equal(vec.reset(), mirror.reset())
    run_together(vec, mirror, 7, np.random.default_rng(4))


def test_reset_mask_resets_some_sub_envs_and_autoresets_stay_exact():
    vec, mirror = make_vec(3, TimedPolicy()), Mirror(singles(3, TimedPolicy()))
    assert_reset_equal(vec.reset(), mirror.reset())
    run_together(vec, mirror, 1, np.random.default_rng(5))
    before = vec.env.replica_states()
    mask = np.array([False, True, False])
    assert_reset_equal(vec.reset(seed=20, options={"reset_mask": mask}), mirror.reset([None, 21, None], mask))
    after = vec.env.replica_states()
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    # sub-env 1 is now a step behind: its truncations and autoresets fall on other steps
    run_together(vec, mirror, 9, np.random.default_rng(6))


# ------------------------------------------------------------------------------ invalid input


@pytest.mark.parametrize("bad, match", [
    (np.full((2, N), 0.5), r"actions must have shape \(3, 4\)"),
    (np.full((3, N + 1), 0.5), r"actions must have shape"),
    (np.full(N, 0.5), r"actions must have shape"),
    ([["a"] * N] * 3, r"actions must be an array of numbers"),
    (np.array([[0.5] * N, [0.5, np.nan, 0.5, 0.5], [0.5] * N]), r"actions\[1\] must be finite"),
    (np.array([[0.5] * N, [0.5] * N, [np.inf, 0.5, 0.5, 0.5]]), r"actions\[2\] must be finite"),
    (np.array([[1.5, 0.5, 0.5, 0.5], [0.5] * N, [0.5] * N]), r"actions\[0\] must lie in the Box"),
    (np.array([[0.5] * N, [0.5, -0.1, 0.5, 0.5], [0.5] * N]), r"actions\[1\] must lie in the Box"),
])
def test_bad_actions_raise_before_any_change(bad, match):
    vec, mirror = make_vec(3, "traffic-aware"), Mirror(singles(3, "traffic-aware"))
    assert_reset_equal(vec.reset(), mirror.reset())
    state = vec.env.replica_states()
    with pytest.raises(ValueError, match=match):
        vec.step(bad)
    assert vec.env.replica_states() == state
    run_together(vec, mirror, 4, np.random.default_rng(7))  # still equal: nothing changed


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_envs must be an int >= 1"):
        make_vec(num_envs=0)
    with pytest.raises(ValueError, match="cell must be a cell index"):
        make_vec(cell=K)
    with pytest.raises(TypeError, match="others must be"):
        make_vec(others=3)
    vec = make_vec(2)
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(np.full((2, N), 0.5))
    with pytest.raises(ValueError, match="first reset must reset every sub-env"):
        vec.reset(options={"reset_mask": np.array([True, False])})
    with pytest.raises(ValueError, match="list of 2 seeds"):
        vec.reset(seed=[1, 2, 3])
    vec.reset()
    with pytest.raises(ValueError, match="reset_mask"):
        vec.reset(options={"reset_mask": np.array([1, 0])})
    with pytest.raises(ValueError, match="at least one"):
        vec.reset(options={"reset_mask": np.zeros(2, dtype=bool)})

    class BadPolicy:
        def act(self, obs, info):
            return np.full((K, N), 0.5)

    vec = make_vec(2, BadPolicy())
    vec.reset()
    with pytest.raises(ValueError, match=r"shares of the other cells \(sub-env 0\)"):
        vec.step(np.full((2, N), 0.5))


# ------------------------------------------------------------------------------ properties


@settings(max_examples=6, deadline=None)
@given(num_envs=st.integers(1, 4), seed=st.integers(0, 2**32), cell=st.integers(0, K - 1),
       others=st.sampled_from(["equal", "traffic-aware", "max-min", "callable"]), actions_seed=st.integers(0, 1000))
def test_random_actions_rewards_in_unit_interval_and_sub_envs_exact(num_envs, seed, cell, others, actions_seed):
    others = OTHERS[others]
    vec = make_vec(num_envs, others, cell=cell, seed=seed, max_steps=2)
    mirror = Mirror(singles(num_envs, others, cell=cell, seed=seed, max_steps=2))
    assert_reset_equal(vec.reset(), mirror.reset())
    rng = np.random.default_rng(actions_seed)
    for _ in range(5):
        actions = rng.random((num_envs, N)).astype(np.float32)
        actions[rng.random((num_envs, N)) < 0.2] = 0.0  # zero rows map to equal shares
        out = vec.step(actions)
        assert np.all((out[1] >= 0.0) & (out[1] <= 1.0))
        assert np.all((out[4]["reward_all"] >= 0.0) & (out[4]["reward_all"] <= 1.0))
        assert_step_equal(out, mirror.step(actions))
