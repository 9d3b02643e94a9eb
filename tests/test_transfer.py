"""Transfer strategies on batched agents and the transfer experiment (pyslice.study.transfer)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pyslice import Scenario
from pyslice.learn.replay import Batch, ReplayBuffers
from pyslice.learn.td3 import BatchedTD3, TD3Config
from pyslice.learn.train import Trainer
from helpers import TINY_PRETRAIN, with_ues
from pyslice.envs.slicing import SlicingEnv
from pyslice.study.transfer import RESULT_JSON, RESULT_NPZ, STRATEGIES, TransferResult, transfer
from pyslice.study.transfer_runs import load_run, run_transfer

K, D, A, CAP = 4, 16, 4, 50


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def trained_agents(seed: int, n_updates: int = 6) -> tuple[BatchedTD3, ReplayBuffers]:
    """K agents with non-trivial weights and Adam state, and buffers of different fill levels."""
    agent = BatchedTD3(K, D, A, TD3Config(seed=seed, batch_size=8))
    replay = ReplayBuffers(K, CAP, D, A, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        replay.add(rng.random((K, D)), rng.dirichlet(np.ones(A), K), rng.random(K), rng.random((K, D)))
    replay.add_agent(1, rng.random((7, D)), rng.dirichlet(np.ones(A), 7), rng.random(7), rng.random((7, D)))
    for _ in range(n_updates):
        agent.update(replay.sample(8, rng))
    return agent, replay


def agent_snapshot(agent: BatchedTD3, k: int) -> dict[str, torch.Tensor]:
    snap = {name: t.clone() for name, t in agent.agent_parameters(k).items()}
    for part in ("actor", "critic"):
        st = agent.opt[part]
        snap[f"{part}.m"], snap[f"{part}.v"] = st.m[k].clone(), st.v[k].clone()
        snap[f"{part}.step"], snap[f"{part}.trainable"] = st.step[k].clone(), st.trainable[k].clone()
    return snap


def buffer_snapshot(replay: ReplayBuffers, k: int) -> dict[str, np.ndarray]:
    return {"obs": replay.obs[k].copy(), "act": replay.act[k].copy(), "rew": replay.rew[k].copy(),
            "next_obs": replay.next_obs[k].copy(), "ptr": replay.ptr[k].copy(), "size": replay.size[k].copy()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def everything(agent: BatchedTD3, replay: ReplayBuffers) -> list[dict]:
    return [agent_snapshot(agent, k) for k in range(agent.n_agents)] + [
        buffer_snapshot(replay, k) for k in range(replay.n_agents)]


def assert_fresh_optimizer(agent: BatchedTD3, k: int) -> None:
    for part in ("actor", "critic"):
        st = agent.opt[part]
        assert not st.m[k].any() and not st.v[k].any() and not st.step[k].any(), part


def layer_keys(agent: BatchedTD3, layers) -> list[str]:
    nets = ("actor", "critic1", "critic2", "actor_target", "critic1_target", "critic2_target")
    return [f"{n}.{l}.{w}" for n in nets for l in layers for w in ("weight", "bias")]


def random_batches(seed: int, n: int, k: int = K, b: int = 8):
    g = torch.Generator().manual_seed(seed)
    return [Batch(torch.rand(k, b, D, generator=g), torch.softmax(torch.randn(k, b, A, generator=g), -1),
                  torch.rand(k, b, generator=g), torch.rand(k, b, D, generator=g)) for _ in range(n)]


# ------------------------------------------------------------------------------------------------
# transfer(): the strategies
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("external", [False, True])
def test_other_agents_bit_identical(strategy, external):
    agent, replay = trained_agents(0)
    src_agent, src_replay = trained_agents(1) if external else (None, None)
    before = everything(agent, replay)
    src_before = everything(src_agent, src_replay) if external else None
    target = 2
    transfer(agent, replay, 0, target, strategy, source_agent=src_agent, source_replay=src_replay)
    after = everything(agent, replay)
    for i, (b, a) in enumerate(zip(before, after)):
        if i % K != target:
            assert_same(b, a)
    if external:  # the source model is read only
        for b, a in zip(src_before, everything(src_agent, src_replay)):
            assert_same(b, a)


def test_model_transfer_copies_weights_and_fresh_optimizer():
    agent, replay = trained_agents(0)
    src, _ = trained_agents(1)
    agent.freeze_layers(3, [0])  # leftovers of a previous life of agent 3 must go
    rep = transfer(agent, replay, 1, 3, "model", source_agent=src)
    assert_same(dict(src.agent_parameters(1)), dict(agent.agent_parameters(3)))
    assert_fresh_optimizer(agent, 3)
    assert agent.frozen_layers(3) == {"actor": [], "critic": []}
    assert replay.size[3] == 0 and rep.n_instances == 0  # a new cell has no experience yet
    # the transferred policy acts exactly like the source on the same observation
    obs = np.random.default_rng(3).random((K, D)).astype(np.float32)
    obs_src = obs.copy()
    obs_src[1] = obs[3]
    np.testing.assert_array_equal(agent.act(obs)[3], src.act(obs_src)[1])
    # within one model
    transfer(agent, replay, 0, 3, "model")
    assert_same(dict(agent.agent_parameters(0)), dict(agent.agent_parameters(3)))


def test_feature_transfer_freezes_lower_layers_and_trains_the_rest():
    agent, replay = trained_agents(0)
    src, _ = trained_agents(1)
    template = BatchedTD3(1, D, A, TD3Config(seed=9))
    rep = transfer(agent, replay, 0, 2, "feature", source_agent=src, fresh_from=(template, 0))
    assert rep.frozen == {"actor": [0], "critic": [0]}
    p, s, f = agent.agent_parameters(2), src.agent_parameters(0), template.agent_parameters(0)
    for key in layer_keys(agent, [0]):  # the source's online weights, in the target copies too
        assert torch.equal(p[key], s[key.replace("_target", "")]), key
    for key in layer_keys(agent, [1, 2]):  # random init (the template), not the source
        assert torch.equal(p[key], f[key]) and not torch.equal(p[key], s[key]), key
    assert_fresh_optimizer(agent, 2)
    before = {k: v.clone() for k, v in agent.agent_parameters(2).items()}
    for batch in random_batches(5, 6):
        agent.update(batch)
    after = agent.agent_parameters(2)
    for key in layer_keys(agent, [0]):
        assert torch.equal(before[key], after[key]), key
    for key in [k for k in layer_keys(agent, [1, 2]) if not k.endswith("target")]:
        assert not torch.equal(before[key], after[key]), key
    assert not agent.opt["actor"].m[2, : agent.layouts["actor"].layer_slices[0].stop].any()
    # the default re-initialisation is the model's own reset (fresh weights, not the old ones)
    agent2, replay2 = trained_agents(0)
    old = {k: v.clone() for k, v in agent2.agent_parameters(2).items()}
    transfer(agent2, replay2, 0, 2, "feature", source_agent=src, feature_layers=(0, 1))
    assert agent2.frozen_layers(2) == {"actor": [0, 1], "critic": [0, 1]}
    for key in layer_keys(agent2, [2]):
        assert not torch.equal(agent2.agent_parameters(2)[key], old[key]), key


@pytest.mark.parametrize("n_instances", [None, 5, 0, 1000])
def test_instance_transfer_moves_exactly_the_source_samples(n_instances):
    agent, replay = trained_agents(0)
    src, src_replay = trained_agents(1)
    data = src_replay.agent_data(1)  # 37 transitions
    expect = data if n_instances is None else {k: v[len(v) - min(n_instances, len(v)):] for k, v in data.items()}
    reference = BatchedTD3(K, D, A, agent.cfg)
    reference.load_state_dict(agent.state_dict())
    reference.reset_agent(0)
    rep = transfer(agent, replay, 1, 0, "instance", source_agent=src, source_replay=src_replay,
                   n_instances=n_instances)
    assert rep.n_instances == len(expect["rew"])
    assert_same(expect, replay.agent_data(0))
    # fresh random networks: exactly what reset_agent gives, nothing of the source or the old agent
    assert_same(dict(reference.agent_parameters(0)), dict(agent.agent_parameters(0)))
    assert not torch.equal(agent.agent_parameters(0)["actor.0.weight"], src.agent_parameters(1)["actor.0.weight"])
    assert_fresh_optimizer(agent, 0)


def test_integrated_is_model_plus_instance():
    agent, replay = trained_agents(0)
    src, src_replay = trained_agents(1)
    transfer(agent, replay, 2, 1, "integrated", source_agent=src, source_replay=src_replay)
    assert_same(dict(src.agent_parameters(2)), dict(agent.agent_parameters(1)))
    assert_same(src_replay.agent_data(2), replay.agent_data(1))
    assert_fresh_optimizer(agent, 1)
    assert agent.frozen_layers(1) == {"actor": [], "critic": []}
    # within one model and buffer (source 3 -> target 0)
    data = replay.agent_data(3)
    transfer(agent, replay, 3, 0, "integrated", n_instances=4)
    assert_same({k: v[-4:] for k, v in data.items()}, replay.agent_data(0))


def test_none_is_a_newly_deployed_agent():
    agent, replay = trained_agents(0)
    template = BatchedTD3(1, D, A, TD3Config(seed=3))
    rep = transfer(agent, replay, None, 1, "none", fresh_from=(template, 0))
    assert rep.source is None and rep.n_instances == 0
    assert_same(dict(template.agent_parameters(0)), dict(agent.agent_parameters(1)))
    assert replay.size[1] == 0 and not replay.obs[1].any()
    assert_fresh_optimizer(agent, 1)


def test_same_index_allowed_across_models():
    agent, replay = trained_agents(0)
    src, src_replay = trained_agents(1)
    transfer(agent, replay, 2, 2, "integrated", source_agent=src, source_replay=src_replay)
    assert_same(src_replay.agent_data(2), replay.agent_data(2))


@pytest.mark.parametrize("kwargs", [
    dict(source=1, target=1, strategy="model"),
    dict(source=1, target=1, strategy="instance"),
    dict(source=0, target=1, strategy="fine-tune"),
    dict(source=0, target=K, strategy="model"),
    dict(source=-1, target=1, strategy="model"),
    dict(source=K, target=1, strategy="integrated"),
    dict(source=0, target=1, strategy="feature", feature_layers=(3,)),
    dict(source=0, target=1, strategy="feature", feature_layers=()),
    dict(source=0, target=1, strategy="instance", n_instances=-1),
    dict(source=0, target=1, strategy="instance", replay=None),
    dict(source=0, target=1, strategy="integrated", source_agent="other model without buffers"),
    dict(source=0, target=1, strategy="model", fresh_from="bad"),
])
def test_bad_input_changes_nothing(kwargs):
    agent, replay = trained_agents(0)
    before = everything(agent, replay)
    kwargs = dict(kwargs)
    if kwargs.get("source_agent") == "other model without buffers":
        kwargs["source_agent"] = trained_agents(1)[0]
    if kwargs.get("fresh_from") == "bad":
        kwargs["fresh_from"] = (BatchedTD3(1, D, A, TD3Config(actor_hidden=(8,))), 0)
    rep_arg = kwargs.pop("replay", replay)
    with pytest.raises(ValueError):
        transfer(agent, rep_arg, kwargs.pop("source"), kwargs.pop("target"), kwargs.pop("strategy"), **kwargs)
    for b, a in zip(before, everything(agent, replay)):
        assert_same(b, a)


def test_mismatched_source_sizes_rejected():
    agent, replay = trained_agents(0)
    other = BatchedTD3(K, D, A, TD3Config(critic_hidden=(32, 24)))
    before = everything(agent, replay)
    with pytest.raises(ValueError, match="sizes"):
        transfer(agent, replay, 0, 1, "model", source_agent=other)
    for b, a in zip(before, everything(agent, replay)):
        assert_same(b, a)


# ------------------------------------------------------------------------------------------------
# run_transfer(): the experiment on a tiny pretrained run
# ------------------------------------------------------------------------------------------------
def small() -> Scenario:
    return with_ues(3)


@pytest.fixture(scope="module")
def run_dir(pretrained_run):
    return pretrained_run


def test_sweep_equals_single_source_runs(run_dir, tmp_path):
    kw = dict(steps=25, eval_steps=5, seed=11)
    sweep = run_transfer(run_dir, 4, [0, 7, 9], out_dir=tmp_path / "out", **kw)
    assert sweep.target_reward.shape == (4, 30) and sweep.reward.shape == (3, 30)
    assert sweep.n_instances == [90, 90, 90]  # all the source's transitions (explore + train)
    alone = run_transfer(run_dir, 4, [7], include_scratch=False, **kw)
    np.testing.assert_array_equal(sweep.reward[1], alone.reward[0])
    np.testing.assert_array_equal(sweep.network_reward[1], alone.network_reward[0])
    scratch = run_transfer(run_dir, 4, [], **kw)
    np.testing.assert_array_equal(sweep.scratch_reward, scratch.scratch_reward)
    assert scratch.reward.shape == (0, 30)
    # the sources act differently (they transferred different knowledge); the small scenario's
    # rewards may all saturate at 1, its delays do not
    assert not np.array_equal(sweep.max_delay_ms[0], sweep.max_delay_ms[1])
    # results on disk round-trip
    loaded = TransferResult.load(tmp_path / "out")
    for name in TransferResult._ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sweep, name))
    assert loaded.sources == [0, 7, 9] and loaded.strategy == "integrated"
    with pytest.raises(FileExistsError):
        run_transfer(run_dir, 4, [0], out_dir=tmp_path / "out", **kw)
    gain = sweep.gain_over_scratch(10)
    np.testing.assert_allclose(gain, sweep.reward[:, :10].mean(1) / sweep.scratch_reward[:10].mean() - 1)
    assert sweep.best_source((0, 25)) in (0, 7, 9)


def test_scratch_learner_is_the_pretraining_learner(run_dir):
    """The TL exploration-noise override changes the TL learners only: DRL from scratch keeps the
    run's own learner settings, so its curve is the same with or without the override."""
    kw = dict(steps=40, eval_steps=5, seed=3)
    plain = run_transfer(run_dir, 2, [1], **kw)
    quiet = run_transfer(run_dir, 2, [1], exploration_noise=0.0, **kw)
    np.testing.assert_array_equal(plain.scratch_reward, quiet.scratch_reward)
    np.testing.assert_array_equal(plain.max_delay_ms[1], quiet.max_delay_ms[1])
    assert not np.array_equal(plain.max_delay_ms[0], quiet.max_delay_ms[0])  # the TL learner did change


def test_model_transfer_acts_like_the_source_in_the_target_cell(run_dir):
    """With no training, the transferred agent is the source's policy acting in the target cell:
    the curve equals a network where cell `target` is driven by the pretrained agent `source`."""
    target, source, T, seed = 5, 1, 12, 4
    res = run_transfer(run_dir, target, [source], strategy="model", steps=0, eval_steps=T, seed=seed,
                       include_scratch=False)
    scenario, config, pre, _ = load_run(run_dir)
    env = SlicingEnv(scenario, seed=seed, n_neighbours=config.n_neighbours, same_seed=True)
    obs = env.reset(seed)
    rewards = []
    for _ in range(T):
        shifted = obs.copy()
        shifted[source] = obs[target]
        actions = pre.act(obs)
        actions[target] = pre.act(shifted)[source]
        obs, reward, _ = env.step(actions)
        rewards.append(reward[target])
    np.testing.assert_array_equal(res.reward[0], rewards)


def test_replicas_share_one_seed(run_dir):
    env = SlicingEnv(small(), seed=8, replicas=3, same_seed=True)
    obs = env.reset()
    assert env._sim.seeds == [8, 8, 8]
    for _ in range(3):
        obs, reward, info = env.step(np.full(env.action_shape, 0.25))
        assert (obs == obs[0]).all() and (reward == reward[0]).all() and (info["users"] == info["users"][0]).all()


@pytest.mark.parametrize("strategy", ["model", "feature", "instance"])
def test_other_strategies_run(run_dir, strategy):
    res = run_transfer(run_dir, 0, "auto", strategy=strategy, steps=12, eval_steps=3,
                       distance=np.arange(12.0)[::-1], include_scratch=False)
    assert res.sources == list(range(11, 0, -1))  # ordered by increasing distance
    np.testing.assert_array_equal(res.distance, np.arange(11.0))  # d[k] = 11 - k for the sources 11..1
    assert res.reward.shape == (11, 15) and np.all((res.reward >= 0) & (res.reward <= 1))
    assert res.n_instances == ([90] * 11 if strategy == "instance" else [0] * 11)
    assert res.feature_layers == ([0] if strategy == "feature" else [])


def test_scratch_explores_then_trains(run_dir):
    res = run_transfer(run_dir, 2, [], steps=20, eval_steps=4, scratch_exploration_steps=5)
    assert res.scratch_exploration_steps == 5 and res.scratch_reward.shape == (24,)
    assert run_transfer(run_dir, 2, [], steps=20, eval_steps=0).scratch_exploration_steps == 20  # min(30, steps)


@pytest.mark.parametrize("kwargs, error", [
    (dict(target=3, sources=[1, 3]), ValueError),
    (dict(target=3, sources=[1], strategy="fine-tune"), ValueError),
    (dict(target=3, sources=[1], strategy="none"), ValueError),
    (dict(target=12, sources=[1]), ValueError),
    (dict(target=-1, sources=[1]), ValueError),
    (dict(target=3, sources=[12]), ValueError),
    (dict(target=3, sources="nearest"), ValueError),
    (dict(target=3, sources=[1], steps=-1), ValueError),
    (dict(target=3, sources=[1], steps=10, scratch_exploration_steps=11), ValueError),
    (dict(target=3, sources=[1], strategy="feature", feature_layers=(5,)), ValueError),
    (dict(target=3, sources=[], include_scratch=False), ValueError),
    (dict(target=3, distance=np.ones(5)), ValueError),
    (dict(target=3, sources=[1], exploration_noise=-0.1), ValueError),
])
def test_run_transfer_bad_input_writes_nothing(run_dir, tmp_path, kwargs, error):
    out = tmp_path / "out"
    with pytest.raises(error):
        run_transfer(run_dir, out_dir=out, **kwargs)
    assert not out.exists()


def test_run_without_checkpoint(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        run_transfer(tmp_path / "run", 3, [1], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == []


def test_unfinished_run_rejected(tmp_path):
    # a checkpoint written before the end of the schedule
    tr = Trainer(small(), dataclasses.replace(TINY_PRETRAIN, checkpoint_every=5), tmp_path / "run2")
    tr.run(stop_after=12)
    with pytest.raises(ValueError, match="not finished"):
        run_transfer(tmp_path / "run2", 3, [1], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(RESULT_JSON) or p.name.startswith(RESULT_NPZ)
                   for p in (tmp_path / "run2").iterdir())


def test_batch_of_experiments_equals_each_alone(run_dir):
    """run_transfers: specs of different targets and strategies in one batch give bit for bit the
    results of running each spec alone (learners with and without transferred instances update on
    their own schedules; every learner's generators depend only on the seed and its target)."""
    from pyslice.study.transfer_runs import TransferSpec, run_transfers

    kw = dict(steps=30, eval_steps=4, seed=11)
    specs = [TransferSpec(4, (0, 7)), TransferSpec(2, (1,), "model", include_scratch=False), TransferSpec(9, ()),
             TransferSpec(4, (7,), "feature", include_scratch=False), TransferSpec(5, (3,), "instance")]
    batch = run_transfers(run_dir, specs, **kw)
    assert [r.target for r in batch] == [4, 2, 9, 4, 5] and [r.strategy for r in batch][1] == "model"
    for spec, res in zip(specs, batch):
        alone = run_transfers(run_dir, [spec], **kw)[0]
        for name in (*TransferResult._ARRAYS, "drop_rate"):
            np.testing.assert_array_equal(getattr(res, name), getattr(alone, name), err_msg=f"{spec} {name}")
        assert res.n_instances == alone.n_instances and res.sources == list(spec.sources)
    assert batch[0].target_reward.shape == (3, 34) and batch[2].target_reward.shape == (1, 34)


def test_batch_validates_every_spec_first(run_dir, tmp_path):
    from pyslice.study.transfer_runs import TransferSpec, run_transfers

    for bad, match in (([TransferSpec(12, (0,))], "target"), ([TransferSpec(3, (3,))], "target cell itself"),
                       ([TransferSpec(3, (), include_scratch=False)], "nothing to run"),
                       ([TransferSpec(3, (1,), "none")], "strategy"), ([], "at least one"),
                       (["3"], "TransferSpec")):
        with pytest.raises(ValueError, match=match):
            run_transfers(run_dir, bad, steps=5, eval_steps=1)
