"""pyslice through the clients users reach for: SuperSuit's PettingZoo -> Stable-Baselines3
vectorisation, TorchRL's PettingZooWrapper and GymEnv, RLlib's PPO on the parallel env and gymnasium's
async vector env. Each needs pyslice's envs to pickle (copies per sub-env or per worker process)."""
from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

import pyslice.envs  # noqa: F401  (registers pyslice/SingleCell-v0)
from pyslice.envs.adapters import SlicingParallelEnv
from helpers import with_ues

SC = with_ues(4)


def test_supersuit_vectorisation_trains_stable_baselines3_ppo():
    ss = pytest.importorskip("supersuit", reason="SuperSuit is in the test extra")
    sb3 = pytest.importorskip("stable_baselines3", reason="Stable-Baselines3 is in the test extra")
    env = SlicingParallelEnv(SC, seed=1, max_steps=32)
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, 2, num_cpus=1, base_class="stable_baselines3")  # copies the env by pickle
    assert vec.num_envs == 2 * SC.n_cells
    # seed=None: SuperSuit's ConcatVecEnv has no seed() for SB3 to call
    model = sb3.PPO("MlpPolicy", vec, n_steps=32, batch_size=128, n_epochs=1, device="cpu")
    model.learn(total_timesteps=2 * vec.num_envs * 32)
    assert model.num_timesteps == 2 * vec.num_envs * 32
    obs = vec.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (vec.num_envs, SC.n_slices)
    assert np.all(np.isfinite(action))
    vec.close()


def test_torchrl_wrappers_pass_their_spec_check():
    torchrl_envs = pytest.importorskip("torchrl.envs", reason="TorchRL is in the test extra")
    from torchrl.envs.utils import check_env_specs

    parallel = torchrl_envs.PettingZooWrapper(env=SlicingParallelEnv(SC, seed=1, max_steps=16), use_mask=False)
    check_env_specs(parallel)  # raises on any mismatch between the specs and a real rollout
    single = torchrl_envs.GymEnv("pyslice/SingleCell-v0", scenario=SC)
    check_env_specs(single)
    rollout = single.rollout(5)
    assert rollout["next", "observation"].shape == (5, 4 * SC.n_slices)
    assert bool(rollout["next", "reward"].isfinite().all())


def test_gymnasium_async_vector_env_equals_the_sync_one():
    for context in ("spawn", "fork"):
        asynchronous = gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=2, vectorization_mode="async",
                                          vector_kwargs={"context": context}, scenario=SC)
        synchronous = gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=2, vectorization_mode="sync", scenario=SC)
        try:
            np.testing.assert_array_equal(asynchronous.reset(seed=3)[0], synchronous.reset(seed=3)[0])
            asynchronous.action_space.seed(0)
            for _ in range(4):
                action = asynchronous.action_space.sample()
                a, s = asynchronous.step(action), synchronous.step(action)
                for i in range(4):
                    np.testing.assert_array_equal(a[i], s[i], err_msg=f"{context}: step output {i}")
        finally:
            asynchronous.close()
            synchronous.close()


def _parallel_env(_config):
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    return ParallelPettingZooEnv(SlicingParallelEnv(SC, seed=1, max_steps=16))


def _shared_policy(agent_id, *args, **kwargs):
    return "shared"


@pytest.mark.slow
def test_rllib_ppo_trains_one_iteration_on_the_parallel_env():
    ray = pytest.importorskip("ray", reason="Ray is in the test extra")
    pytest.importorskip("ray.rllib", reason="RLlib (ray[rllib]) is in the test extra")
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    register_env("pyslice-parallel", _parallel_env)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = (PPOConfig().environment("pyslice-parallel")
                  .multi_agent(policies={"shared"}, policy_mapping_fn=_shared_policy)
                  .env_runners(num_env_runners=0)
                  .training(train_batch_size_per_learner=192, minibatch_size=64, num_epochs=1))
        algo = config.build_algo()
        result = algo.train()
        algo.stop()
    finally:
        ray.shutdown()
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 192
    losses = result["learners"]["shared"]
    assert math.isfinite(float(losses["total_loss"]))
