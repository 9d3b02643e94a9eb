"""FollowedEnv and Trainer(followers=...): built-in policies on a learner's own world change none of
the learner's bits, and each follower's KPIs are those of a separate env running that policy alone
(the study's baseline phase comes from pretraining this way)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario, SlicingEnv
from pyslice.envs.followers import FollowedEnv
from pyslice.learn.td3 import TD3Config
from pyslice.learn.train import FOLLOWERS, LOG, POLICY, Trainer, TrainConfig, read_followers
from pyslice.study.config import ReproduceConfig
from pyslice.study.experiment import baseline_from_followers, phase_baseline
from helpers import with_ues

SMALL = with_ues(3)
K, N = SMALL.n_cells, SMALL.n_slices
CFG = TrainConfig(exploration_steps=20, training_steps=25, evaluation_steps=5, checkpoint_every=15, seed=6,
                  buffer_capacity=64, td3=TD3Config(batch_size=8))


def assert_same_info(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        assert type(a[key]) is type(b[key]), key


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31), followers=st.lists(st.sampled_from(["equal", "traffic-aware", "max-min"]),
                                                       min_size=1, max_size=3),
       observation=st.sampled_from(["clipped", "log"]))
def test_the_learner_replica_and_each_follower_are_separate_envs_bit_for_bit(seed, followers, observation):
    rng = np.random.default_rng(seed % 1000)
    env = FollowedEnv(SMALL, seed, followers, observation=observation)
    alone = SlicingEnv(SMALL, seed=seed, observation=observation)
    beside = [SlicingEnv(SMALL, seed=seed, observation=observation) for _ in followers]
    np.testing.assert_array_equal(env.reset(), alone.reset())
    for b in beside:
        b.reset()
    assert_same_info(env.last_info, alone.last_info)
    for _ in range(6):
        shares = rng.dirichlet(np.ones(N), size=K)
        obs, reward, info = env.step(shares)
        obs_a, reward_a, info_a = alone.step(shares)
        np.testing.assert_array_equal(obs, obs_a)
        np.testing.assert_array_equal(reward, reward_a)
        assert_same_info(info, info_a)
        assert env.follower_reward.shape == (len(followers), K)
        for f, (name, b) in enumerate(zip(followers, beside)):
            _, reward_f, info_f = b.step_policy(name)
            np.testing.assert_array_equal(env.follower_reward[f], reward_f)
            assert_same_info(env.follower_info[f], info_f)
    # a snapshot continues bit for bit
    state = env.get_state()
    shares = rng.dirichlet(np.ones(N), size=K)
    first = env.step(shares)
    env.set_state(state)
    np.testing.assert_array_equal(env.last_obs, alone.last_obs)
    again = env.step(shares)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


@pytest.mark.parametrize("followers, error, match", [
    ((), ValueError, "at least one"),
    (("greedy",), ValueError, "followers: each must be one of"),
    ("traffic-aware", TypeError, "sequence of policy names"),
])
def test_bad_followers_are_refused(followers, error, match):
    with pytest.raises(error, match=match):
        FollowedEnv(SMALL, 0, followers)


def test_bad_shares_are_refused_before_any_change():
    env = FollowedEnv(SMALL, 2, ("traffic-aware",))
    env.reset()
    before = env.get_state()
    for bad, match in ((np.full((2, K, N), 1.0 / N), r"shape \(12, 4\)"), (np.full((K, N), 0.3), "sum to 1"),
                       (np.full((K, N), np.nan), "finite")):
        with pytest.raises(ValueError, match=match):
            env.step(bad)
    after = env.get_state()
    assert after["time"] == before["time"] and after["simulators"] == before["simulators"]


def test_trainer_with_followers_learns_the_same_bits_and_keeps_the_baseline(tmp_path):
    Trainer(SMALL, CFG, tmp_path / "alone").run()
    Trainer(SMALL, CFG, tmp_path / "followed", followers=("traffic-aware", "max-min")).run()
    assert (tmp_path / "alone" / LOG).read_text() == (tmp_path / "followed" / LOG).read_text()
    a = torch.load(tmp_path / "alone" / POLICY)["agent"]
    b = torch.load(tmp_path / "followed" / POLICY)["agent"]
    for key in ("actor", "critic", "actor_target", "critic_target", "actor_adam_m", "critic_adam_v"):
        assert torch.equal(a[key], b[key]), key
    assert not (tmp_path / "alone" / FOLLOWERS).exists()
    followers = read_followers(tmp_path / "followed")
    assert list(followers["names"]) == ["traffic-aware", "max-min"]
    T = CFG.total_steps
    assert followers["reward"].shape == (T, 2, K) and followers["mask"].shape == (T, N)
    # the study's baseline phase on its own gives the follower's bits
    cfg = dataclasses.replace(ReproduceConfig(), train=CFG)
    (tmp_path / "baseline").mkdir()
    phase_baseline(SMALL, cfg, CFG.seed, tmp_path / "baseline")
    alone = np.load(tmp_path / "baseline" / "baseline.npz")
    np.testing.assert_array_equal(alone["reward"], followers["reward"][:, 0])
    np.testing.assert_array_equal(alone["mask"], followers["mask"])
    # and the phase written from the follower holds the same arrays
    assert baseline_from_followers(tmp_path / "followed", tmp_path / "from_pretrain")
    kept = np.load(tmp_path / "from_pretrain" / "baseline.npz")
    np.testing.assert_array_equal(kept["reward"], alone["reward"])
    np.testing.assert_array_equal(kept["mask"], alone["mask"])
    assert not baseline_from_followers(tmp_path / "followed", tmp_path / "from_pretrain")  # done: kept
    assert not baseline_from_followers(tmp_path / "alone", tmp_path / "none")  # no follower: nothing


def test_an_interrupted_followed_run_resumes_to_the_same_followers(tmp_path):
    Trainer(SMALL, CFG, tmp_path / "whole", followers=("traffic-aware",)).run()
    Trainer(SMALL, CFG, tmp_path / "cut", followers=("traffic-aware",)).run(stop_after=22)  # checkpoint at 15
    with pytest.raises(ValueError, match="followers"):
        Trainer(SMALL, CFG, tmp_path / "cut", resume=True)
    Trainer(SMALL, CFG, tmp_path / "cut", resume=True, followers=("traffic-aware",)).run()
    whole, cut = read_followers(tmp_path / "whole"), read_followers(tmp_path / "cut")
    for key in ("reward", "mask"):
        np.testing.assert_array_equal(whole[key], cut[key])
    assert (tmp_path / "whole" / LOG).read_text() == (tmp_path / "cut" / LOG).read_text()


def test_followers_must_be_names():
    with pytest.raises(TypeError, match="sequence of policy names"):
        Trainer(Scenario.paper(), CFG, "unused", followers="traffic-aware")
