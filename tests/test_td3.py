"""Tests of the batched TD3 agents (pyslice.learn.td3) and the per-agent replay buffers (pyslice.learn.replay).

The batched implementation is compared with ``td3_reference.ReferenceTD3``, a plain per-agent TD3
built from ``torch.nn.Linear`` and ``torch.optim.Adam``.
"""
from __future__ import annotations

import io
from collections import deque

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyslice.learn.replay import Batch, ReplayBuffers
from pyslice.learn.td3 import BatchedTD3, TD3Config, project_to_simplex, project_to_simplex_np

from td3_reference import ReferenceTD3, simplex_projection_bruteforce  # noqa: E402

K, D, A, B = 3, 16, 4, 32  # paper sizes: obs 4N = 16, N = 4 slices, batch 32


def random_batch(g: torch.Generator, k=K, b=B, d=D, a=A) -> Batch:
    return Batch(
        torch.randn(k, b, d, generator=g),
        torch.softmax(2 * torch.randn(k, b, a, generator=g), -1),
        torch.rand(k, b, generator=g),
        torch.randn(k, b, d, generator=g),
    )


def batch_stream(seed: int, n: int, **kw) -> list[tuple[Batch, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        batch = random_batch(g, **kw)
        out.append((batch, torch.randn(batch.act.shape, generator=g)))
    return out


def full_state(agent: BatchedTD3) -> dict[str, torch.Tensor]:
    """Every per-agent tensor of the model (leading dim K)."""
    s = agent.state_dict()
    return {key: v for key, v in s.items() if isinstance(v, torch.Tensor)}


def agent_slices(agent: BatchedTD3, k: int) -> dict[str, torch.Tensor]:
    return {key: v[k].clone() for key, v in full_state(agent).items()}


def assert_bitwise(a: dict, b: dict, what=""):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{what}{key} differs"


# ------------------------------------------------------------------------------------------------
# Batched TD3 == K separate reference TD3 instances
# ------------------------------------------------------------------------------------------------
HEAD_CONFIGS = {"tanh": {}, "softmax": {"actor_head": "softmax", "exploration": "projected",
                                         "target_smoothing": "projected"}}


@pytest.mark.parametrize("head", list(HEAD_CONFIGS))
@pytest.mark.parametrize("freeze", [False, True])
def test_batched_equals_reference(freeze, head):
    cfg = TD3Config(seed=3, **HEAD_CONFIGS[head])
    agent = BatchedTD3(K, D, A, cfg)
    refs = [ReferenceTD3(D, A, head=head) for _ in range(K)]
    for k in range(K):
        refs[k].load(agent.agent_parameters(k))
    if freeze:  # feature-transfer semantics: frozen layers get no Adam steps in either model
        agent.freeze_layers(1, [0], parts="actor")
        agent.freeze_layers(1, [1], parts="critic")
        refs[1].freeze("actor", 0)
        refs[1].freeze("critic", 1)
    init = [{n: v.clone() for n, v in agent.agent_parameters(k).items()} for k in range(K)]
    n_actor_updates = 0
    for batch, noise in batch_stream(0, 50):
        out = agent.update(batch, noise=noise)
        n_actor_updates += int(np.isfinite(out["actor_loss"]).all())
        for k in range(K):
            ref_out = refs[k].update(batch.obs[k], batch.act[k], batch.rew[k], batch.next_obs[k], noise[k])
            for key in ("critic_loss", "actor_loss"):  # per-agent losses, NaN where no actor update
                np.testing.assert_allclose(out[key][k], ref_out[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert n_actor_updates == 25  # policy delay 2
    for k in range(K):
        mine, ref = agent.agent_parameters(k), refs[k].params()
        for name in mine:
            np.testing.assert_allclose(mine[name].numpy(), ref[name].numpy(), atol=1e-5, rtol=0, err_msg=name)
            moved = (mine[name] - init[k][name]).abs().max().item()
            frozen = freeze and k == 1 and name in ("actor.0.weight", "actor.0.bias", "actor_target.0.weight",
                                                    "actor_target.0.bias") or (
                freeze and k == 1 and name.startswith("critic") and ".1." in name)
            if frozen:
                assert moved == 0.0, name
            else:  # every net, targets included, has really been trained (the comparison is not vacuous)
                assert moved > (1e-4 if "target" in name else 1e-3), name


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 6), rows=st.sampled_from([1, 7, 32]),
    widths=st.lists(st.integers(1, 40), min_size=2, max_size=4), seed=st.integers(0, 2**31 - 1),
)
def test_hand_written_backward_is_autograd_bit_for_bit(batch, rows, widths, seed):
    """The update's back-propagation (td3._mlp_backward) gives exactly torch.autograd's gradients
    for the weights, the biases and the input, so the learner's arithmetic is autograd's."""
    from pyslice.learn.td3 import _mlp, _mlp_backward, _mlp_forward

    g = torch.Generator().manual_seed(seed)
    shapes = list(zip(widths[:-1], widths[1:]))
    Ws = [torch.randn(batch, i, o, generator=g).requires_grad_() for i, o in shapes]
    bs = [torch.randn(batch, 1, o, generator=g).requires_grad_() for _, o in shapes]
    x = torch.randn(batch, rows, widths[0], generator=g).requires_grad_()
    grad_out = torch.randn(batch, rows, widths[-1], generator=g)
    expected = torch.autograd.grad(_mlp(x, Ws, bs), [x, *Ws, *bs], grad_out)
    with torch.no_grad():
        Wd, bd = [w.detach() for w in Ws], [b.detach() for b in bs]
        gWs, gbs = [torch.full_like(w, np.nan) for w in Wd], [torch.full_like(b, np.nan) for b in bd]
        grad_x = _mlp_backward(_mlp_forward(x.detach(), Wd, bd), Wd, grad_out, gWs, gbs, input_grad=True)
    for mine, ref in zip([grad_x, *gWs, *gbs], expected):
        assert torch.equal(mine, ref)


def test_reference_projection_is_exact():
    """The reference's brute-force projection agrees with the KKT characterisation (sanity)."""
    y = torch.tensor([[0.5, 0.5, 0.5], [2.0, 0.0, -1.0], [0.2, 0.3, 0.1]])
    p = simplex_projection_bruteforce(y)
    expected = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [0.3333333, 0.4333333, 0.2333333]])
    torch.testing.assert_close(p, expected, atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------------
# Per-agent independence
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("j", [0, 2])
def test_agent_data_only_changes_that_agent(j):
    a1, a2 = BatchedTD3(K, D, A, TD3Config(seed=5)), BatchedTD3(K, D, A, TD3Config(seed=5))
    g = torch.Generator().manual_seed(99)
    for batch, noise in batch_stream(1, 12):
        other = random_batch(g)
        changed = Batch(*(x.clone() for x in batch))
        for x, o in zip(changed, other):
            x[j] = 1000 * o[j]  # wildly different data for agent j only
        noise2 = noise.clone()
        noise2[j] = torch.randn(noise[j].shape, generator=g)
        a1.update(batch, noise=noise)
        a2.update(changed, noise=noise2)
    for i in range(K):
        if i == j:
            assert not torch.equal(a1.actor[i], a2.actor[i])
            assert not torch.equal(a1.critic[i], a2.critic[i])
        else:
            assert_bitwise(agent_slices(a1, i), agent_slices(a2, i), f"agent {i}: ")


def trained(seed=7, n=10) -> BatchedTD3:
    agent = BatchedTD3(K, D, A, TD3Config(seed=seed))
    for batch, noise in batch_stream(seed, n):
        agent.update(batch, noise=noise)
    return agent


def test_reset_agent_touches_only_that_agent():
    agent = trained()
    before = [agent_slices(agent, k) for k in range(K)]
    agent.reset_agent(1)
    for k in (0, 2):
        assert_bitwise(agent_slices(agent, k), before[k])
    after = agent_slices(agent, 1)
    assert not torch.equal(after["actor"], before[1]["actor"])
    assert torch.equal(after["actor_target"], after["actor"])
    assert torch.equal(after["critic_target"], after["critic"])
    for part in ("actor", "critic"):
        assert after[f"{part}_adam_m"].abs().sum() == 0 and after[f"{part}_adam_v"].abs().sum() == 0
        assert after[f"{part}_adam_step"].abs().sum() == 0
        assert after[f"{part}_trainable"].all()
    # fresh but deterministic: a fresh init differs from the first one, and replays identically
    fresh = BatchedTD3(K, D, A, TD3Config(seed=7))
    assert not torch.equal(fresh.actor[1], after["actor"])
    twin = trained()
    twin.reset_agent(1)
    assert_bitwise(agent_slices(twin, 1), after)
    # initial weights follow the PyTorch nn.Linear default bounds
    for name, w in fresh.agent_parameters(0).items():
        fan_in = {"actor.0": D, "actor.1": 48, "actor.2": 24, "critic1.0": D + A, "critic1.1": 64, "critic1.2": 24}
        key = name.rsplit(".", 1)[0]
        if key in fan_in:
            assert w.abs().max() <= 1 / np.sqrt(fan_in[key])


@pytest.mark.parametrize("fresh_optimizer", [True, False])
def test_copy_agent(fresh_optimizer):
    agent = trained()
    before = [agent_slices(agent, k) for k in range(K)]
    agent.copy_agent(0, 2, fresh_optimizer=fresh_optimizer)
    for k in (0, 1):
        assert_bitwise(agent_slices(agent, k), before[k])
    after = agent_slices(agent, 2)
    for key in ("actor", "critic", "actor_target", "critic_target"):
        assert torch.equal(after[key], before[0][key])
    for key in ("actor_adam_m", "actor_adam_v", "actor_adam_step", "critic_adam_m", "critic_adam_step"):
        if fresh_optimizer:
            assert after[key].abs().sum() == 0
        else:
            assert torch.equal(after[key], before[0][key])
    named = agent.agent_parameters(2), agent.agent_parameters(0)  # the named views agree too
    assert all(torch.equal(named[0][n], named[1][n]) for n in named[0])


def test_copy_agent_parts_layers_and_other_model():
    src_model = trained(seed=11)
    agent = trained(seed=7)
    before = [agent_slices(agent, k) for k in range(K)]
    agent.copy_agent(2, 1, parts="actor", layers=[0], source=src_model)
    p, s = agent.agent_parameters(1), src_model.agent_parameters(2)
    old = {n: v for n, v in before[1].items()}
    for name in p:
        if name.startswith("actor") and ".0." in name:
            assert torch.equal(p[name], s[name]), name
        elif name.startswith("actor"):
            assert not torch.equal(p[name], s[name]), name
    assert torch.equal(agent.critic[1], old["critic"]) and torch.equal(agent.critic_target[1], old["critic_target"])
    for k in (0, 2):
        assert_bitwise(agent_slices(agent, k), before[k])


def test_freeze_layers():
    plain, frozen = trained(), trained()
    frozen.freeze_layers(1, [0, 2], parts="actor")
    frozen.freeze_layers(1, [1], parts="critic")
    assert frozen.frozen_layers(1) == {"actor": [0, 2], "critic": [1]}
    assert frozen.frozen_layers(0) == {"actor": [], "critic": []}
    start = {n: v.clone() for n, v in frozen.agent_parameters(1).items()}
    for batch, noise in batch_stream(123, 12):
        plain.update(batch, noise=noise)
        frozen.update(batch, noise=noise)
    end = frozen.agent_parameters(1)
    for name in end:
        is_frozen = (name.startswith("actor.") and name[6] in "02") or (name.startswith("critic") and ".1." in name
                                                                         and "target" not in name)
        if is_frozen:
            assert torch.equal(end[name], start[name]), name
        elif "target" not in name:
            assert not torch.equal(end[name], start[name]), name
    for k in (0, 2):  # other agents behave exactly as if nobody were frozen
        assert_bitwise(agent_slices(frozen, k), agent_slices(plain, k), f"agent {k}: ")
    frozen.freeze_layers(1, [0, 2], parts="actor", frozen=False)
    for batch, noise in batch_stream(5, 2):  # two updates: one of them updates the actor
        frozen.update(batch, noise=noise)
    assert not torch.equal(frozen.agent_parameters(1)["actor.0.weight"], start["actor.0.weight"])


# ------------------------------------------------------------------------------------------------
# Simplex actions and projection
# ------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    obs=hnp.arrays(np.float32, (K, D), elements=st.floats(-1e4, 1e4, width=32)),
    explore=st.booleans(),
    noise=st.sampled_from([0.0, 0.1, 3.0, 1e5]),
    seed=st.integers(0, 2**32 - 1),
    head=st.sampled_from(list(HEAD_CONFIGS)),
)
def test_actions_on_simplex(obs, explore, noise, seed, head):
    agent = BatchedTD3(K, D, A, TD3Config(seed=seed % 7, exploration_noise=noise, **HEAD_CONFIGS[head]))
    a = agent.act(obs, explore=explore, rng=np.random.default_rng(seed))
    assert a.shape == (K, A) and np.isfinite(a).all()
    assert (a >= 0).all()
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-9)
    batch = agent.act(np.stack([obs, obs], 1), explore=explore, rng=np.random.default_rng(seed))
    assert batch.shape == (K, 2, A) and (batch >= 0).all()
    np.testing.assert_allclose(batch.sum(-1), 1.0, atol=1e-9)
    raw = agent.policy_actions(obs, explore=explore, rng=np.random.default_rng(seed))
    if head == "tanh":  # the agent's own action stays in its Box [-1, 1]^A
        assert (np.abs(raw) <= 1).all()
    np.testing.assert_array_equal(agent.to_shares(raw), a)


@settings(max_examples=30, deadline=None)
@given(
    obs=hnp.arrays(np.float32, (K, D), elements=st.floats(0, 4, width=32)),
    seed=st.integers(0, 2**32 - 1),
    head=st.sampled_from(list(HEAD_CONFIGS)),
)
def test_greedy_shares_have_full_support(obs, seed, head):
    """Inside the observation Box every head gives every slice a positive share (no slice starved
    by construction), and the shares sum to 1."""
    agent = BatchedTD3(K, D, A, TD3Config(seed=seed % 11, **HEAD_CONFIGS[head]))
    a = agent.act(obs)
    assert (a > 0).all()
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("head", list(HEAD_CONFIGS))
@pytest.mark.parametrize("warmup", ["box-uniform", "dirichlet"])
def test_warmup_actions(head, warmup):
    """Warm-up actions are valid agent actions from the named distribution: box-uniform shares have
    the normalised-uniform law (mean 1/A, every share > 0, fewer near-zero shares than Dirichlet(1))."""
    agent = BatchedTD3(K, D, A, TD3Config(warmup=warmup, **HEAD_CONFIGS[head]))
    raw = agent.random_actions(np.random.default_rng(0), (4000,))
    assert raw.shape == (4000, A)
    if head == "tanh":
        assert (np.abs(raw) <= 1).all()
    shares = agent.to_shares(raw)
    np.testing.assert_allclose(shares.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(shares.mean(0), 1 / A, atol=0.02)
    small = (shares.min(-1) < 0.02).mean()
    # P(min share < 0.02), A = 4: Dirichlet(1) 1 - (1 - 4 * 0.02)^3 = 0.221 (closed form); normalised
    # uniform 0.120 (10^6-draw Monte Carlo). 4000 draws: std <= 0.007.
    assert (0.19 < small < 0.25) if warmup == "dirichlet" else (0.095 < small < 0.145), small
    np.testing.assert_array_equal(agent.random_actions(np.random.default_rng(0), (4000,)), raw)  # seeded


def test_box_head_maps_like_the_env_box():
    """The tanh-box head's share map is the env's documented Box map applied to (u + 1) / 2."""
    from pyslice.envs.slicing import box_to_simplex

    agent = BatchedTD3(K, D, A)
    u = np.random.default_rng(1).uniform(-1, 1, (50, A))
    u[0] = -1.0  # the zero Box vector: equal shares
    np.testing.assert_allclose(agent.to_shares(u), box_to_simplex((u + 1) / 2), rtol=0, atol=1e-15)


def check_kkt(y: np.ndarray, p: np.ndarray, tol: float):
    """p is the Euclidean projection of y iff p on the simplex and p = max(y - theta, 0) for one theta."""
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=tol * y.shape[-1])
    for yr, pr in zip(y.reshape(-1, y.shape[-1]), p.reshape(-1, p.shape[-1])):
        pos = pr > 0
        assert pos.any()
        theta = (yr[pos] - pr[pos]).mean()
        np.testing.assert_allclose(yr[pos] - pr[pos], theta, atol=tol)  # common shift on the support
        assert (yr[~pos] <= theta + tol).all()  # clipped coordinates lie below the threshold


@settings(max_examples=60, deadline=None)
@given(
    y=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(-100, 100),
    )
)
def test_projection_kkt(y):
    p_np = project_to_simplex_np(y)
    check_kkt(y, p_np, 1e-9)
    p_t = project_to_simplex(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(p_t, p_np, atol=1e-12)
    p32 = project_to_simplex(torch.from_numpy(y).float()).double().numpy()
    check_kkt(y, p32, 2e-4)
    brute = simplex_projection_bruteforce(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(p_np, brute, atol=1e-9)
    np.testing.assert_allclose(project_to_simplex_np(p_np), p_np, atol=1e-12)  # idempotent


def test_projection_examples():
    y = np.array([[0.2, 0.3, 0.5], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, -3.0]])
    expected = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [1 / 3] * 3, [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(project_to_simplex_np(y), expected, atol=1e-12)
    np.testing.assert_allclose(project_to_simplex(torch.tensor(y)).numpy(), expected, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# TD3 learns a contextual simplex task with a known optimum
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("head", list(HEAD_CONFIGS))
def test_td3_learns_contextual_simplex_task(one_thread, head):
    """3 agents, 3 contexts (one-hot obs), reward -||a - a*(agent, context)||_1 (optimum 0, random
    policy about -0.6); contexts i.i.d., gamma 0.1. The greedy policy must reach -0.05 everywhere."""
    n_ctx, n_act = 3, 3
    astar = np.array([
        [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.5, 0.4]],
        [[0.3, 0.3, 0.4], [0.7, 0.1, 0.2], [0.25, 0.5, 0.25]],
        [[0.1, 0.1, 0.8], [0.4, 0.4, 0.2], [0.5, 0.2, 0.3]],
    ])  # [agent, context, share]
    agents = np.arange(K)

    def reward(ctx, a):
        return -np.abs(a - astar[agents, ctx]).sum(-1)

    cfg = TD3Config(seed=0, actor_hidden=(32,), critic_hidden=(64, 32), actor_lr=1e-3, critic_lr=2e-3, batch_size=64,
                    **HEAD_CONFIGS[head])
    agent = BatchedTD3(K, n_ctx, n_act, cfg)
    buf = ReplayBuffers(K, 10_000, n_ctx, n_act, seed=0)
    rng = np.random.default_rng(0)
    eye = np.eye(n_ctx, dtype=np.float32)

    def greedy_rewards():
        return np.stack([reward(np.full(K, c), agent.act(np.tile(eye[c], (K, 1)))) for c in range(n_ctx)])

    start = greedy_rewards()
    ctx = rng.integers(0, n_ctx, K)
    for t in range(2500):
        obs = eye[ctx]
        raw = agent.random_actions(rng) if t < 300 else agent.policy_actions(obs, explore=True, rng=rng)
        nxt = rng.integers(0, n_ctx, K)
        buf.add(obs, raw, reward(ctx, agent.to_shares(raw)), eye[nxt])
        ctx = nxt
        if t >= 100:
            agent.update(buf.sample(cfg.batch_size, rng))
    final = greedy_rewards()
    assert start.min() < -0.2  # the task is not solved at initialisation
    assert final.min() >= -0.05, final


# ------------------------------------------------------------------------------------------------
# Determinism and checkpoints
# ------------------------------------------------------------------------------------------------
def test_seeded_determinism_with_internal_noise():
    a, b, c = (BatchedTD3(K, D, A, TD3Config(seed=s)) for s in (1, 1, 2))
    for batch, _ in batch_stream(3, 6):
        for m in (a, b, c):
            m.update(batch)  # target noise from the model's own generator
    assert_bitwise(full_state(a), full_state(b))
    assert not torch.equal(a.actor, c.actor)
    obs = np.zeros((K, D), np.float32)
    np.testing.assert_array_equal(a.act(obs, explore=True), b.act(obs, explore=True))


def test_state_dict_round_trip():
    cfg = TD3Config(seed=4)
    a = BatchedTD3(K, D, A, cfg)
    a.freeze_layers(2, [1], parts="critic")
    stream = batch_stream(8, 25)
    for batch, _ in stream[:11]:  # odd count: the policy-delay phase must survive the round trip
        a.update(batch)
    a.act(np.zeros((K, D)), explore=True)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = BatchedTD3(K, D, A, TD3Config(seed=4))
    b.reset_agent(0)  # different state before loading
    b.load_state_dict(torch.load(buf, weights_only=True))
    assert_bitwise(full_state(a), full_state(b))
    for batch, _ in stream[11:]:
        oa, ob = a.update(batch), b.update(batch)
        np.testing.assert_array_equal(oa["critic_loss"], ob["critic_loss"])
        np.testing.assert_array_equal(oa["actor_loss"], ob["actor_loss"])
    assert_bitwise(full_state(a), full_state(b))
    assert a.n_updates == b.n_updates == 25
    obs = np.ones((K, D), np.float32)
    np.testing.assert_array_equal(a.act(obs, explore=True), b.act(obs, explore=True))
    with pytest.raises(ValueError):
        BatchedTD3(K + 1, D, A, cfg).load_state_dict(a.state_dict())


def test_config_validation_and_defaults():
    cfg = TD3Config()
    assert (cfg.actor_hidden, cfg.critic_hidden) == ((48, 24), (64, 24))
    assert (cfg.actor_lr, cfg.critic_lr, cfg.batch_size, cfg.gamma, cfg.tau) == (5e-4, 1e-3, 32, 0.1, 0.005)
    assert (cfg.policy_noise, cfg.noise_clip, cfg.exploration_noise, cfg.policy_delay) == (0.2, 0.5, 0.1, 2)
    assert (cfg.actor_head, cfg.exploration, cfg.target_smoothing, cfg.warmup) == ("tanh-box", "box", "box", "box-uniform")
    for bad in ({"gamma": 1.0}, {"tau": 0.0}, {"policy_delay": 0}, {"actor_lr": -1.0}, {"actor_hidden": (0,)}):
        with pytest.raises(ValueError):
            TD3Config(**bad)
    # the learner's choices: unknown names and head/noise mismatches name the option
    for bad, field in (({"actor_head": "sigmoid"}, "actor_head"), ({"warmup": "gaussian"}, "warmup"),
                       ({"exploration": "logit"}, "exploration"), ({"target_smoothing": "projected"}, "target_smoothing"),
                       ({"actor_head": "softmax", "exploration": "box", "target_smoothing": "logit"}, "exploration"),
                       ({"actor_head": "softmax", "exploration": "logit"}, "target_smoothing")):
        with pytest.raises(ValueError, match=field):
            TD3Config(**bad)
    agent = BatchedTD3(K, D, A)
    with pytest.raises(ValueError):
        agent.act(np.zeros((K + 1, D)))
    with pytest.raises(ValueError):
        agent.update(random_batch(torch.Generator().manual_seed(0), d=D + 1))
    with pytest.raises(ValueError):
        agent.freeze_layers(0, [3], parts="actor")
    with pytest.raises(ValueError):
        agent.reset_agent(K)


# ------------------------------------------------------------------------------------------------
# Replay buffers
# ------------------------------------------------------------------------------------------------
def transitions(rng, n, d=3, a=2):
    return (rng.normal(size=(n, d)), rng.dirichlet(np.ones(a), n), rng.normal(size=n), rng.normal(size=(n, d)))


def test_replay_add_sample_shapes_and_ring():
    buf = ReplayBuffers(2, 5, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        buf.sample(4, rng)
    history = []
    for _ in range(7):
        o, a, r, n = transitions(rng, 2)
        buf.add(o, a, r, n)
        history.append((o, a, r, n))
    assert buf.size.tolist() == [5, 5] and buf.ptr.tolist() == [2, 2] and len(buf) == 5
    for k in range(2):
        data = buf.agent_data(k)
        expect_obs = np.stack([h[0][k] for h in history[-5:]]).astype(np.float32)
        np.testing.assert_array_equal(data["obs"], expect_obs)  # oldest two overwritten, order kept
        np.testing.assert_array_equal(data["rew"], np.array([h[2][k] for h in history[-5:]], np.float32))
    batch = buf.sample(8, np.random.default_rng(1))
    assert isinstance(batch, Batch)
    assert [tuple(x.shape) for x in batch] == [(2, 8, 3), (2, 8, 2), (2, 8), (2, 8, 3)]
    assert all(x.dtype == torch.float32 for x in batch)
    for k in range(2):  # every sampled row is a stored transition of that agent, fields kept together
        stored = {tuple(row) for row in buf.obs[k]}
        for i in range(8):
            assert tuple(batch.obs[k, i].numpy()) in stored
            j = np.flatnonzero((buf.obs[k] == batch.obs[k, i].numpy()).all(-1))[0]
            assert torch.equal(batch.next_obs[k, i], torch.from_numpy(buf.next_obs[k, j]))
            assert batch.rew[k, i].item() == buf.rew[k, j]
    again = buf.sample(8, np.random.default_rng(1))
    assert all(torch.equal(x, y) for x, y in zip(batch, again))  # deterministic given the generator
    with pytest.raises(ValueError):
        buf.add(*transitions(rng, 3))


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 9)), min_size=1, max_size=12),
    capacity=st.integers(1, 7),
)
def test_replay_add_agent_matches_fifo_model(chunks, capacity):
    """Bulk inserts behave like sequential appends to a bounded FIFO, agent by agent."""
    buf = ReplayBuffers(3, capacity, 3, 2, seed=0)
    model = [deque(maxlen=capacity) for _ in range(3)]
    rng = np.random.default_rng(len(chunks))
    for k, n in chunks:
        o, a, r, nx = transitions(rng, n)
        buf.add_agent(k, o, a, r, nx)
        model[k].extend(zip(o.astype(np.float32), a.astype(np.float32), r.astype(np.float32), nx.astype(np.float32)))
        if rng.random() < 0.3:  # mix in all-agent adds
            o, a, r, nx = transitions(rng, 3)
            buf.add(o, a, r, nx)
            for kk in range(3):
                model[kk].append((o[kk].astype(np.float32), a[kk].astype(np.float32), np.float32(r[kk]),
                                  nx[kk].astype(np.float32)))
    for k in range(3):
        data = buf.agent_data(k)
        assert buf.size[k] == len(model[k])
        for f, key in enumerate(("obs", "act", "rew", "next_obs")):
            expect = np.array([t[f] for t in model[k]], np.float32).reshape(data[key].shape)
            np.testing.assert_array_equal(data[key], expect)


def test_replay_add_agent_exact_samples_and_agent_ops():
    buf = ReplayBuffers(3, 6, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(4):
        buf.add(*transitions(rng, 3))
    before = buf.state_dict()
    o, a, r, n = transitions(rng, 5)
    buf.add_agent(1, o, a, r, n)
    assert buf.size.tolist() == [4, 6, 4]
    tail = buf.agent_data(1)
    np.testing.assert_array_equal(tail["obs"][-5:], o.astype(np.float32))
    np.testing.assert_array_equal(tail["act"][-5:], a.astype(np.float32))
    np.testing.assert_array_equal(tail["rew"][-5:], r.astype(np.float32))
    np.testing.assert_array_equal(tail["next_obs"][-5:], n.astype(np.float32))
    for k in (0, 2):
        np.testing.assert_array_equal(buf.obs[k], before["obs"][k])
    # state round trip, including the buffer's own generator
    state = buf.state_dict()
    other = ReplayBuffers(3, 6, 3, 2, seed=123)
    other.load_state_dict(state)
    s1, s2 = buf.sample(5), other.sample(5)
    assert all(torch.equal(x, y) for x, y in zip(s1, s2))
    for key in ("obs", "act", "rew", "next_obs", "ptr", "size"):
        np.testing.assert_array_equal(getattr(buf, key), getattr(other, key))
    with pytest.raises(ValueError):
        ReplayBuffers(3, 7, 3, 2).load_state_dict(state)
    # copy / reset touch only the destination
    buf.copy_agent(1, 0)
    for key in ("obs", "act", "rew", "next_obs"):
        np.testing.assert_array_equal(getattr(buf, key)[0], getattr(buf, key)[1])
    assert buf.size[0] == buf.size[1] and buf.ptr[0] == buf.ptr[1]
    obs2 = buf.obs[2].copy()
    buf.reset_agent(1)
    assert buf.size.tolist() == [6, 0, 4] and not buf.obs[1].any()
    np.testing.assert_array_equal(buf.obs[2], obs2)
    with pytest.raises(ValueError):
        buf.sample(2)  # agent 1 is empty


def test_logit_exploration_keeps_every_share_positive():
    from pyslice.learn.td3 import BatchedTD3, TD3Config

    agent = BatchedTD3(3, 5, 4, TD3Config(actor_head="softmax", exploration="logit", target_smoothing="logit",
                                          exploration_noise=2.0, seed=1))
    obs = np.random.default_rng(0).normal(size=(3, 5))
    rng = np.random.default_rng(2)
    greedy = agent.act(obs)
    acts = np.stack([agent.act(obs, explore=True, rng=rng) for _ in range(200)])
    assert (acts > 0).all()
    np.testing.assert_allclose(acts.sum(-1), 1.0, atol=1e-12)
    assert np.abs(acts - greedy).max() > 0.05  # it does explore
    with pytest.raises(ValueError, match="exploration"):
        TD3Config(exploration="dirichlet")


@pytest.mark.parametrize("head", list(HEAD_CONFIGS))
@pytest.mark.parametrize("copies", [1, 3])
def test_actor_copies_act_as_the_agents_bit_for_bit(head, copies):
    """Inference-only copies: row r*K + k gives agent k's greedy shares, whatever the number of copies."""
    from pyslice.learn.td3 import ActorCopies
    agent = BatchedTD3(4, 6, 3, TD3Config(seed=2, **HEAD_CONFIGS[head]))
    obs = np.random.default_rng(1).random((copies, 4, 6)).astype(np.float32)
    bank = ActorCopies(agent, copies)
    shares = bank.act(obs.reshape(copies * 4, 6)).reshape(copies, 4, 3)
    for r in range(copies):
        np.testing.assert_array_equal(shares[r], agent.act(obs[r]))
    assert np.allclose(shares.sum(-1), 1.0)
    with pytest.raises(ValueError, match="obs"):
        bank.act(obs.reshape(copies * 4, 6)[:-1])
    with pytest.raises(ValueError, match="copies"):
        ActorCopies(agent, 0)
