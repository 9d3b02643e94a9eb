"""Batched TD3 for K cell agents (paper §IV-A and §V-2; Fujimoto et al. 2018; docs/learning.md).

Read top to bottom: the config, the simplex projection, the parameter layout, the networks, the
update (critic, delayed actor, soft target update), the batched Adam, then the per-agent
management used by transfer learning (reset, copy, freeze) and checkpoints. (Longer than ~600
lines on purpose: the batched networks, their hand-written back-propagation and their per-agent
Adam share one parameter layout and are only correct together.)

One network for all agents
--------------------------
Every agent has its own actor, twin critics and target copies, but they are stored together: a
network's parameters are one flat tensor ``[K, P]`` (the critics ``[K, 2, P]``, twin 0 and twin 1)
whose segments are viewed as weights ``[K, in, out]`` and biases ``[K, 1, out]`` and evaluated with
``torch.baddbmm`` — one kernel per layer for all agents (both twins in the same call). The loss is
the SUM over agents of each agent's own loss (a mean over that agent's minibatch), so the gradient
of agent k's parameters is exactly agent k's gradient. Adam is implemented here over the flat
tensors with per-agent (and per-layer) step counts and moments, so resetting, copying or freezing
one agent never touches another.

Action heads
------------
The action is a PRB share vector on the probability simplex (paper eq. 1). How the actor reaches the
simplex is ``TD3Config.actor_head`` (the paper is silent; chosen by the controlled ablation in
``bench/learning_ablation.py``, numbers in docs/learning.md):

* ``"tanh-box"`` (default): standard TD3 on the Box action space [0, 1]^N, exactly as TD3's
  reference implementation and Stable-Baselines3 treat a Box: the actor ends in tanh, its output
  ``u ∈ [-1, 1]^N`` is the agent's action (what the critic sees and the replay buffer stores), and the
  environment's documented Box map turns it into shares, ``b = (u + 1) / 2``, ``a = b / Σb`` (equal
  shares if Σb = 0; :func:`pyslice.envs.slicing.box_to_simplex`). Exploration noise (std ``exploration_noise``)
  and target-policy smoothing noise (std ``policy_noise`` clipped at ``noise_clip``) are added in
  u-space and clipped to [-1, 1]; the warm-up phase draws u uniformly from the Box.
* ``"softmax"`` (the earlier learner, kept for the ablation): the actor ends in a softmax and
  its action is the share vector itself. Noise is put back on the simplex either by Euclidean
  projection (``"projected"``) or multiplicatively through the logits (``"logit"``).

Both heads give every slice a positive greedy share while the actor's pre-activations stay finite
in float32 terms: tanh rounds to -1 only below about -9, softmax underflows only for logit gaps
above about 100. No slice is starved by construction.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from pyslice.learn.replay import Batch

__all__ = [
    "ACTOR_HEADS",
    "LEGACY_TD3",
    "TD3Config",
    "BatchedTD3",
    "ActorCopies",
    "project_to_simplex",
    "project_to_simplex_np",
    "use_one_thread",
]


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TD3Config:
    """TD3 hyper-parameters; defaults are the paper's (§V-2; docs/learning.md)."""

    actor_hidden: tuple[int, ...] = (48, 24)
    """Hidden layer widths of the actor MLP (ReLU), followed by a linear layer and a softmax."""
    critic_hidden: tuple[int, ...] = (64, 24)
    """Hidden layer widths of each twin critic MLP (ReLU) on ``[obs, action]``, linear scalar output."""
    actor_lr: float = 5e-4
    """Adam learning rate of the actor."""
    critic_lr: float = 1e-3
    """Adam learning rate of the twin critics (one optimiser over both)."""
    adam_betas: tuple[float, float] = (0.9, 0.999)
    """Adam (beta1, beta2), PyTorch defaults."""
    adam_eps: float = 1e-8
    """Adam epsilon, PyTorch default."""
    batch_size: int = 32
    """Minibatch size per agent (used by callers that sample the replay buffer)."""
    gamma: float = 0.1
    """Discount factor; small because the action mostly drives the instant reward (paper §V-2)."""
    tau: float = 0.005
    """Polyak rate of the target networks: target <- target + tau * (online - target)."""
    policy_noise: float = 0.2
    """Std of the Gaussian target-policy smoothing noise added to the target action (in the units of
    ``target_smoothing``)."""
    noise_clip: float = 0.5
    """The smoothing noise is clipped to [-noise_clip, noise_clip] before it is applied."""
    exploration_noise: float = 0.1
    """Std of the Gaussian exploration noise of training steps (paper §V-2: 0.1), in the units of
    ``exploration``: Box units of u ∈ [-1, 1] for ``"box"``, share units for ``"projected"``,
    log-share units for ``"logit"``."""
    actor_head: str = "tanh-box"
    """How the actor's output reaches the simplex: ``"tanh-box"`` (default) or ``"softmax"``; see the
    module docstring."""
    exploration: str = "box"
    """How exploration noise is applied: ``"box"`` (tanh-box head: add to u, clip to [-1, 1]);
    ``"projected"`` (softmax head: add to the shares, Euclidean projection onto the simplex; small
    shares become exactly 0) or ``"logit"`` (softmax head: add to the log-shares, softmax)."""
    target_smoothing: str = "box"
    """How target-policy smoothing noise is applied, with the same choices and head rules as
    ``exploration``."""
    warmup: str = "box-uniform"
    """Action distribution of the warm-up (exploration-phase) steps: ``"box-uniform"`` (uniform in
    the Box [0, 1]^N, then the Box map: the standard TD3 warm-up) or ``"dirichlet"`` (uniform on the
    simplex, Dirichlet(1): a slice often gets ~0 share and the eq. 2 reward is then 0)."""
    policy_delay: int = 2
    """Actor and target networks are updated once every ``policy_delay`` critic updates."""
    seed: int = 0
    """Seeds the initial weights (per agent), the target-noise generator and the default
    exploration generator."""

    def __post_init__(self):
        for name in ("actor_lr", "critic_lr", "adam_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("policy_noise", "noise_clip", "exploration_noise"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 <= self.gamma < 1:
            raise ValueError("gamma must be in [0, 1)")
        if not 0 < self.tau <= 1:
            raise ValueError("tau must be in (0, 1]")
        _check_choice("actor_head", self.actor_head, ACTOR_HEADS)
        _check_choice("warmup", self.warmup, WARMUPS)
        allowed = NOISE_MODES[self.actor_head]
        for name in ("exploration", "target_smoothing"):
            _check_choice(name, getattr(self, name), allowed, f" with actor_head={self.actor_head!r}")
        if self.policy_delay < 1 or self.batch_size < 1:
            raise ValueError("policy_delay and batch_size must be >= 1")
        if any(h < 1 for h in (*self.actor_hidden, *self.critic_hidden)):
            raise ValueError("hidden widths must be >= 1")
        object.__setattr__(self, "actor_hidden", tuple(int(h) for h in self.actor_hidden))
        object.__setattr__(self, "critic_hidden", tuple(int(h) for h in self.critic_hidden))
        object.__setattr__(self, "adam_betas", tuple(float(b) for b in self.adam_betas))


def _check_choice(name: str, value: object, allowed: Sequence[str], context: str = "") -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}{context}, got {value!r}")


ACTOR_HEADS = ("tanh-box", "softmax")
#: Noise modes each head supports (exploration and target smoothing).
NOISE_MODES = {"tanh-box": ("box",), "softmax": ("projected", "logit")}
WARMUPS = ("box-uniform", "dirichlet")
#: The earlier learner's settings (softmax head, logit exploration 0.3, projected target
#: smoothing, Dirichlet warm-up): configs saved without ``actor_head`` are read with these.
LEGACY_TD3 = {"actor_head": "softmax", "exploration": "logit", "exploration_noise": 0.3,
              "target_smoothing": "projected", "warmup": "dirichlet"}


def use_one_thread() -> int:
    """Run torch on one intra-op thread unless the caller chose a count through the environment
    (``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``TORCH_NUM_THREADS``). Tiny per-agent networks gain
    nothing from threads. Returns the thread count in effect. Not called at import."""
    if not any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS")):
        torch.set_num_threads(1)
    return torch.get_num_threads()


# ------------------------------------------------------------------------------------------------
# Euclidean projection onto the probability simplex (sort-based; Held et al. 1974, Duchi et al. 2008)
# ------------------------------------------------------------------------------------------------
def project_to_simplex(y: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row ``y[..., :]`` onto ``{p >= 0, sum p = 1}``.

    ``p = max(y - theta, 0)`` with ``theta = (sum_{j<=rho} u_j - 1) / rho``, ``u`` = y sorted
    descending and ``rho`` the largest j with ``u_j - (sum_{i<=j} u_i - 1) / j > 0``.
    """
    n = y.shape[-1]
    u = torch.sort(y, dim=-1, descending=True).values
    css = u.cumsum(-1) - 1
    j = torch.arange(1, n + 1, dtype=y.dtype, device=y.device)
    rho = torch.where(u * j > css, j, torch.zeros_like(j)).amax(-1, keepdim=True)  # >= 1 always
    theta = css.gather(-1, rho.long() - 1) / rho
    return (y - theta).clamp_min(0)


def project_to_simplex_np(y: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`project_to_simplex` (same algorithm, any float dtype, leading dims)."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float64)
    n = y.shape[-1]
    u = -np.sort(-y, axis=-1)
    css = np.cumsum(u, axis=-1) - 1
    j = np.arange(1, n + 1, dtype=y.dtype)
    rho = np.where(u * j > css, j, 0).max(-1, keepdims=True)
    theta = np.take_along_axis(css, rho.astype(np.int64) - 1, -1) / rho
    return np.maximum(y - theta, 0)


# ------------------------------------------------------------------------------------------------
# Parameter layout: a network is a flat tensor [..., P]; layer l is the segment W_l (in*out) then b_l
# ------------------------------------------------------------------------------------------------
class _Layout:
    """Segment sizes of an MLP with widths ``sizes = (in, h1, ..., out)`` in a flat vector."""

    def __init__(self, sizes: Sequence[int]):
        self.sizes = tuple(sizes)
        self.shapes = list(zip(self.sizes[:-1], self.sizes[1:]))  # (in, out) per layer
        self.n_layers = len(self.shapes)
        self.split = [n for i, o in self.shapes for n in (i * o, o)]
        self.numel = sum(self.split)
        offsets = np.concatenate([[0], np.cumsum(self.split)])
        self.layer_slices = [slice(int(offsets[2 * l]), int(offsets[2 * l + 2])) for l in range(self.n_layers)]
        self.layer_numel = [i * o + o for i, o in self.shapes]
        self.element_layer = torch.repeat_interleave(torch.arange(self.n_layers), torch.tensor(self.layer_numel))

    def expand(self, per_layer: torch.Tensor) -> torch.Tensor:
        """``[K, L] -> [K, P]``: each layer's value repeated over that layer's elements."""
        return per_layer[:, self.element_layer]

    def views(self, flat: torch.Tensor, batch: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Weights ``[batch, in, out]`` and biases ``[batch, 1, out]`` viewing ``flat [..., P]``
        (leading dims merged into ``batch``; no copy, differentiable)."""
        parts = flat.split(self.split, dim=-1)
        Ws = [parts[2 * l].view(batch, i, o) for l, (i, o) in enumerate(self.shapes)]
        bs = [parts[2 * l + 1].view(batch, 1, o) for l, (i, o) in enumerate(self.shapes)]
        return Ws, bs


def _mlp(x: torch.Tensor, Ws: list[torch.Tensor], bs: list[torch.Tensor]) -> torch.Tensor:
    """Batched MLP: ReLU between layers, linear output. ``x [batch, B, in] -> [batch, B, out]``."""
    return _mlp_forward(x, Ws, bs)[-1]


def _mlp_forward(x: torch.Tensor, Ws: list[torch.Tensor], bs: list[torch.Tensor]) -> list[torch.Tensor]:
    """:func:`_mlp` keeping every layer's input for :func:`_mlp_backward`: ``[x, h_1, ..., out]``
    (``h_l`` after its ReLU)."""
    acts = [x]
    last = len(Ws) - 1
    for l, (W, b) in enumerate(zip(Ws, bs)):
        x = torch.baddbmm(b, x, W)
        if l < last:
            x = x.relu_()  # in place on the fresh baddbmm output
        acts.append(x)
    return acts


def _mlp_backward(
    acts: list[torch.Tensor],
    Ws: list[torch.Tensor],
    grad_out: torch.Tensor,
    gWs: list[torch.Tensor] | None = None,
    gbs: list[torch.Tensor] | None = None,
    input_grad: bool = False,
) -> torch.Tensor | None:
    """Back-propagation through :func:`_mlp_forward`, written out (the autograd engine costs more
    than the arithmetic at these sizes). ``grad_out [batch, B, out]`` is d(loss)/d(output); the
    weight and bias gradients are written into ``gWs``/``gbs`` (views of a flat gradient buffer;
    ``None``: not wanted) and d(loss)/d(input) is returned when ``input_grad``.

    The operations are autograd's own for ``baddbmm`` and ``relu`` (``grad_W = x^T grad``,
    ``grad_b = sum_B grad``, ``grad_x = grad W^T``, ``threshold_backward``), so the gradients are
    bit-identical to ``torch.autograd.grad`` of the same forward (tested)."""
    g = grad_out
    for l in range(len(Ws) - 1, -1, -1):
        if gWs is not None:
            gWs[l].copy_(torch.bmm(acts[l].transpose(1, 2), g))
            gbs[l].copy_(g.sum(1, keepdim=True))
        if l == 0 and not input_grad:
            return None
        g = torch.bmm(g, Ws[l].transpose(1, 2))
        if l > 0:
            g = torch.ops.aten.threshold_backward(g, acts[l], 0)
    return g


def _init_flat(layout: _Layout, rng: np.random.Generator) -> np.ndarray:
    """PyTorch ``nn.Linear`` default init: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in))."""
    out = np.empty(layout.numel, np.float64)
    pos = 0
    for i, o in layout.shapes:
        bound = 1.0 / math.sqrt(i)
        out[pos : pos + i * o + o] = rng.uniform(-bound, bound, i * o + o)
        pos += i * o + o
    return out.astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Batched Adam state for one network of K agents
# ------------------------------------------------------------------------------------------------
class _AdamState:
    """Adam moments ``m, v`` shaped like the network's flat parameters, and per-agent, per-layer
    step counts ``step [K, L]`` (float64) and trainable flags ``trainable [K, L]`` (freeze masks)."""

    def __init__(self, param: torch.Tensor, n_layers: int):
        K = param.shape[0]
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.step = torch.zeros(K, n_layers, dtype=torch.float64)
        self.trainable = torch.ones(K, n_layers, dtype=torch.bool)


# ------------------------------------------------------------------------------------------------
# The agents
# ------------------------------------------------------------------------------------------------
_PARTS = ("actor", "critic")


class BatchedTD3:
    """K independent TD3 agents evaluated and trained as one batched network.

    Args:
        n_agents: K.
        obs_dim: observation length D (16 in the paper: 4N for N = 4 slices).
        act_dim: action length A (N slices; actions live on the simplex).
        config: :class:`TD3Config`.

    Public tensors (float32, CPU): ``actor``/``actor_target`` ``[K, P_actor]`` and
    ``critic``/``critic_target`` ``[K, 2, P_critic]``; use :meth:`agent_parameters` for named views.
    """

    def __init__(self, n_agents: int, obs_dim: int, act_dim: int, config: TD3Config | None = None):
        self.cfg = config = config if config is not None else TD3Config()
        self._box = config.actor_head == "tanh-box"
        if n_agents < 1 or obs_dim < 1 or act_dim < 2:
            raise ValueError("need n_agents >= 1, obs_dim >= 1, act_dim >= 2")
        self.n_agents, self.obs_dim, self.act_dim = K, D, A = int(n_agents), int(obs_dim), int(act_dim)
        self.layouts = {
            "actor": _Layout((D, *config.actor_hidden, A)),
            "critic": _Layout((D + A, *config.critic_hidden, 1)),
        }
        self.actor = torch.zeros(K, self.layouts["actor"].numel)
        self.critic = torch.zeros(K, 2, self.layouts["critic"].numel)
        self.actor_target = torch.zeros_like(self.actor)
        self.critic_target = torch.zeros_like(self.critic)
        # gradient buffers, written by the hand-written back-propagation (_mlp_backward)
        self.grad = {"actor": torch.zeros_like(self.actor), "critic": torch.zeros_like(self.critic)}
        self._constants: dict[tuple[str, int], torch.Tensor] = {}
        self.opt = {p: _AdamState(self._online(p), self.layouts[p].n_layers) for p in _PARTS}
        self.lr = {"actor": config.actor_lr, "critic": config.critic_lr}
        self.n_updates = 0  # critic updates so far (all agents update together)
        self.init_count = np.zeros(K, np.int64)  # fresh initialisations per agent (reset_agent)
        self.torch_gen = torch.Generator().manual_seed(config.seed)  # target-smoothing noise
        self.np_rng = np.random.default_rng(config.seed)  # default exploration noise
        # non-differentiable views, valid for the object's lifetime (all writes are in place)
        La, Lc = self.layouts["actor"], self.layouts["critic"]
        self._actor_v = La.views(self.actor, K)
        self._critic_v = Lc.views(self.critic, 2 * K)
        self._actor_target_v = La.views(self.actor_target, K)
        self._critic_target_v = Lc.views(self.critic_target, 2 * K)
        self._q1_v = Lc.views(self.critic[:, 0], K)
        self._grad_v = {"actor": La.views(self.grad["actor"], K), "critic": Lc.views(self.grad["critic"], 2 * K)}
        with torch.no_grad():
            for k in range(K):
                self._init_agent(k)

    # -- networks --------------------------------------------------------------------------------
    def _online(self, part: str) -> torch.Tensor:
        return self.actor if part == "actor" else self.critic

    def _target(self, part: str) -> torch.Tensor:
        return self.actor_target if part == "actor" else self.critic_target

    def _policy(self, obs: torch.Tensor, views) -> torch.Tensor:
        """Actor: MLP then the head. ``obs [K, B, D] -> action [K, B, A]`` in the agent's action
        space (u ∈ [-1, 1]^A for ``tanh-box``, shares for ``softmax``)."""
        z = _mlp(obs, *views)
        return torch.tanh(z) if self._box else torch.softmax(z, dim=-1)

    def _twin_q(self, obs: torch.Tensor, act: torch.Tensor, views) -> torch.Tensor:
        """Both critics in one pass: ``[K, B, D], [K, B, A] -> [K, 2, B]``."""
        return _mlp(self._twin_input(obs, act), *views).view(obs.shape[0], 2, obs.shape[1])

    @staticmethod
    def _twin_input(obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """``[obs, act]`` once per twin: ``[2K, B, D + A]`` (agent k's twins at rows 2k, 2k + 1)."""
        K, B = obs.shape[0], obs.shape[1]
        x = torch.cat([obs, act], dim=-1)
        return x.unsqueeze(1).expand(K, 2, B, x.shape[-1]).reshape(2 * K, B, x.shape[-1])

    def _obs(self, obs) -> tuple[torch.Tensor, bool]:
        obs = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        squeeze = obs.dim() == 2
        if squeeze:
            obs = obs.unsqueeze(1)
        if obs.shape[0] != self.n_agents or obs.shape[-1] != self.obs_dim or obs.dim() != 3:
            raise ValueError(f"obs: expected [{self.n_agents}, {self.obs_dim}], got {tuple(obs.shape)}")
        return obs, squeeze

    @torch.no_grad()
    def policy_actions(self, obs, explore: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """The agents' actions in their own action space (what the replay buffer stores):
        ``obs [K, D]`` (or ``[K, B, D]``) -> float64 ``[K, A]`` (``[K, B, A]``). ``explore=True``
        applies exploration noise drawn from ``rng`` (default: the agent's own generator) by
        :meth:`perturb`. Map them to PRB shares with :meth:`to_shares`."""
        obs, squeeze = self._obs(obs)
        a = self._policy(obs, self._actor_v).numpy().astype(np.float64)
        if squeeze:
            a = a[:, 0]
        if explore and self.cfg.exploration_noise > 0:
            rng = self.np_rng if rng is None else rng
            a = self.perturb(a, rng.standard_normal(a.shape))
        return a

    def perturb(self, actions: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Exploration: actions (agent space) with ``exploration_noise * noise`` applied the
        ``exploration`` way (``noise`` standard normal, same shape); the result is a valid action."""
        a = np.asarray(actions, dtype=np.float64)
        eps = self.cfg.exploration_noise * np.asarray(noise, dtype=np.float64)
        if self.cfg.exploration == "box":
            return np.clip(a + eps, -1.0, 1.0)
        if self.cfg.exploration == "logit":
            z = np.log(np.maximum(a, 1e-30)) + eps
            z -= z.max(axis=-1, keepdims=True)
            a = np.exp(z)
            return a / a.sum(-1, keepdims=True)
        return project_to_simplex_np(a + eps)

    def random_actions(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> np.ndarray:
        """Warm-up actions (agent space) from the ``warmup`` distribution: float64 ``[*size, A]``
        (default size: one per agent, ``[K, A]``)."""
        size = (self.n_agents,) if size is None else ((size,) if isinstance(size, int) else tuple(size))
        A = self.act_dim
        box = rng.uniform(0.0, 1.0, (*size, A)) if self.cfg.warmup == "box-uniform" else rng.dirichlet(np.ones(A), size)
        if self._box:
            return 2.0 * box - 1.0
        total = box.sum(-1, keepdims=True)
        return np.where(total > 1e-12, box / np.where(total > 1e-12, total, 1.0), 1.0 / A)

    def to_shares(self, actions: np.ndarray) -> np.ndarray:
        """PRB shares (float64, rows on the simplex) of agent-space actions ``[..., A]``: the Box map
        ``b = (u + 1) / 2``, ``b / Σb`` (equal shares if Σb < 1e-12) for ``tanh-box``; an exact
        float64 renormalisation for ``softmax``."""
        a = np.asarray(actions, dtype=np.float64)
        b = np.clip(0.5 * (a + 1.0), 0.0, 1.0) if self._box else a
        total = b.sum(-1, keepdims=True)
        small = total < 1e-12
        return np.where(small, 1.0 / self.act_dim, b / np.where(small, 1.0, total))

    def act(self, obs, explore: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """PRB shares for all agents: ``obs [K, D]`` (or ``[K, B, D]``) -> float64 ``[K, A]``
        (``[K, B, A]``) on the simplex; :meth:`policy_actions` mapped by :meth:`to_shares`."""
        return self.to_shares(self.policy_actions(obs, explore=explore, rng=rng))

    def _smooth(self, action: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Target-policy smoothing: clipped noise ``eps`` applied the ``target_smoothing`` way."""
        mode = self.cfg.target_smoothing
        if mode == "box":
            return (action + eps).clamp(-1.0, 1.0)
        if mode == "logit":
            return torch.softmax(torch.log(action.clamp_min(1e-30)) + eps, dim=-1)
        return project_to_simplex(action + eps)

    # -- the update ------------------------------------------------------------------------------
    @torch.no_grad()
    def update(self, batch: Batch | Mapping[str, Any], noise: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """One TD3 step for all agents on ``batch`` (tensors ``[K, B, ·]``, see :class:`Batch`).

        Critic: ``y = r + gamma * min_i Q_i'(s', smooth(pi'(s'), clip(policy_noise * eps, ±noise_clip)))``
        (``smooth``: the ``target_smoothing`` way, :meth:`_smooth`),
        loss ``mean_B (Q_1 - y)² + mean_B (Q_2 - y)²`` per agent. Every ``policy_delay``-th call also
        the actor (loss ``-mean_B Q_1(s, pi(s))``) and a Polyak update of all targets.

        ``noise``: optional standard-normal ``eps [K, B, A]`` for the target smoothing (tests inject
        it); by default drawn from the agent's ``torch.Generator``.

        Returns per-agent float64 arrays ``critic_loss [K]``, ``q [K]`` (mean Q_1 on the batch) and
        ``actor_loss [K]`` (NaN on calls without an actor update).
        """
        obs, act, rew, next_obs = self._batch(batch)
        cfg = self.cfg
        K, B = obs.shape[0], obs.shape[1]
        if noise is None:
            noise = torch.randn(K, B, self.act_dim, generator=self.torch_gen)
        else:
            noise = torch.as_tensor(noise, dtype=torch.float32)
        if tuple(noise.shape) != (K, B, self.act_dim):
            raise ValueError(f"noise: expected {(K, B, self.act_dim)}, got {tuple(noise.shape)}")

        # critic: clipped double-Q target with target-policy smoothing
        eps = (cfg.policy_noise * noise).clamp(-cfg.noise_clip, cfg.noise_clip)
        next_act = self._smooth(self._policy(next_obs, self._actor_target_v), eps)
        q_next = self._twin_q(next_obs, next_act, self._critic_target_v).amin(1)  # [K, B]
        y = (rew + cfg.gamma * q_next).unsqueeze(1)  # [K, 1, B]
        Wc = self._critic_v[0]
        acts = _mlp_forward(self._twin_input(obs, act), *self._critic_v)
        q = acts[-1].view(K, 2, B)
        err = q - y
        critic_loss = err.square().mean(-1).sum(-1)  # [K]: per agent, both twins
        # d(sum_k critic_loss_k)/dq = (1/B) * 2 (q - y), as autograd forms it
        grad_q = self._constant("inv_batch", B) * (2 * err)
        _mlp_backward(acts, Wc, grad_q.view(2 * K, B, 1), *self._grad_v["critic"])
        self._adam("critic", self.grad["critic"])
        out = {
            "critic_loss": critic_loss.numpy().astype(np.float64),
            "q": q[:, 0].mean(-1).numpy().astype(np.float64),
            "actor_loss": np.full(K, np.nan),
        }
        self.n_updates += 1

        # delayed actor and target updates
        if self.n_updates % cfg.policy_delay == 0:
            out["actor_loss"] = self._actor_step(obs)
            self.actor_target.lerp_(self.actor, cfg.tau)
            self.critic_target.lerp_(self.critic, cfg.tau)
        return out

    def _constant(self, name: str, B: int) -> torch.Tensor:
        """Read-only constants of the backward pass for batch size ``B``, made once: ``inv_batch``
        = 1/B (a 0-dim tensor) and ``actor_grad`` = -1/B as ``[K, B, 1]``, the values autograd forms."""
        key = (name, B)
        value = self._constants.get(key)
        if value is None:
            if name == "inv_batch":
                value = torch.ones(()) / B
            else:
                value = (-torch.ones(())) / B * torch.ones(self.n_agents, B, 1)
            self._constants[key] = value
        return value

    def _actor_step(self, obs: torch.Tensor) -> np.ndarray:
        """Deterministic policy gradient on ``-mean_B Q_1(s, pi(s))`` per agent, then Adam; returns
        the actor losses ``[K]``."""
        B, D = obs.shape[1], self.obs_dim
        actor_acts = _mlp_forward(obs, *self._actor_v)
        z = actor_acts[-1]
        pi = torch.tanh(z) if self._box else torch.softmax(z, dim=-1)
        q_acts = _mlp_forward(torch.cat([obs, pi], dim=-1), *self._q1_v)
        actor_loss = -q_acts[-1].squeeze(-1).mean(-1)  # [K]
        grad_q = self._constant("actor_grad", B)  # d(sum_k actor_loss_k)/dQ_1 = -1/B everywhere
        grad_x = _mlp_backward(q_acts, self._q1_v[0], grad_q, input_grad=True)
        grad_pi = grad_x[..., D:]
        if self._box:
            grad_z = torch.ops.aten.tanh_backward(grad_pi, pi)
        else:
            grad_z = torch.ops.aten._softmax_backward_data(grad_pi, pi, -1, pi.dtype)
        _mlp_backward(actor_acts, self._actor_v[0], grad_z, *self._grad_v["actor"])
        self._adam("actor", self.grad["actor"])
        return actor_loss.numpy().astype(np.float64)

    def _batch(self, batch) -> tuple[torch.Tensor, ...]:
        if isinstance(batch, Mapping):
            batch = Batch(batch["obs"], batch["act"], batch["rew"], batch["next_obs"])
        obs, act, rew, next_obs = (torch.as_tensor(x, dtype=torch.float32) for x in batch)
        K, D, A = self.n_agents, self.obs_dim, self.act_dim
        if obs.dim() != 3 or obs.shape[0] != K or obs.shape[2] != D:
            raise ValueError(f"batch.obs: expected [{K}, B, {D}], got {tuple(obs.shape)}")
        Bn = obs.shape[1]
        for name, x, shape in (("act", act, (K, Bn, A)), ("rew", rew, (K, Bn)), ("next_obs", next_obs, (K, Bn, D))):
            if tuple(x.shape) != shape:
                raise ValueError(f"batch.{name}: expected {shape}, got {tuple(x.shape)}")
        return obs, act, rew, next_obs

    # -- batched Adam (PyTorch's single-tensor Adam, per agent and per layer) --------------------
    @torch.no_grad()
    def _adam(self, part: str, grad: torch.Tensor) -> None:
        """``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`` with ``m, v`` the usual
        moment averages and ``t`` the step count of the (agent, layer) the element belongs to.

        The bias corrections are per (agent, layer) ``[K, L]``; when they are all equal (every
        agent and layer at the same step, the usual case) they are applied as scalars, otherwise
        spread over the elements. Either way each element sees the same float32 values, so an
        agent's arithmetic does not depend on the other agents."""
        st, layout, p = self.opt[part], self.layouts[part], self._online(part)
        b1, b2 = self.cfg.adam_betas
        live = st.trainable.numpy()  # [K, L]
        step = st.step.numpy()  # shares memory with the tensor (checkpoints see the update)
        frozen = not live.all()
        step += live
        t0 = step.flat[0]
        if not frozen and (step == t0).all():  # the usual case: one step count, scalars (same values)
            t = max(t0, 1.0)
            step_size_t = torch.tensor(np.float32(self.lr[part] / (1 - b1**t)))
            bc2_t = torch.tensor(np.float32(np.sqrt(1 - b2**t)))
        else:
            t = np.maximum(step, 1.0)  # frozen-from-start layers keep step 0; avoid 0/0 below
            step_size = (self.lr[part] / (1 - b1**t)).astype(np.float32)
            bc2_sqrt = np.sqrt(1 - b2**t).astype(np.float32)
            if (step_size == step_size.flat[0]).all() and (bc2_sqrt == bc2_sqrt.flat[0]).all():
                step_size_t, bc2_t = torch.tensor(step_size.flat[0]), torch.tensor(bc2_sqrt.flat[0])
            else:
                step_size_t = layout.expand(torch.from_numpy(step_size))
                bc2_t = layout.expand(torch.from_numpy(bc2_sqrt))
                if part == "critic":  # broadcast over the twin dimension
                    step_size_t, bc2_t = step_size_t.unsqueeze(1), bc2_t.unsqueeze(1)
        if frozen:
            old = (st.m.clone(), st.v.clone(), p.detach().clone())
        # in place; a live element's arithmetic is the same whether or not anything is frozen
        st.m.lerp_(grad, 1 - b1)
        st.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = st.v.sqrt().div_(bc2_t).add_(self.cfg.adam_eps).div_(step_size_t)
        p.addcdiv_(st.m, denom, value=-1.0)
        if frozen:  # frozen (agent, layer) pairs keep weights and moments bit-identical
            mask = layout.expand(torch.from_numpy(live))
            if part == "critic":
                mask = mask.unsqueeze(1)
            for now, before in zip((st.m, st.v, p), old):
                now.copy_(torch.where(mask, now, before))

    # -- per-agent management (transfer learning, docs/model.md §7) ----------------------------------
    def _agent(self, k: int) -> int:
        k = int(k)
        if not 0 <= k < self.n_agents:
            raise ValueError(f"agent index {k} out of range [0, {self.n_agents})")
        return k

    @staticmethod
    def _parts(parts: Iterable[str] | str) -> tuple[str, ...]:
        parts = (parts,) if isinstance(parts, str) else tuple(parts)
        bad = [p for p in parts if p not in _PARTS]
        if bad:
            raise ValueError(f"unknown parts {bad}; expected a subset of {_PARTS}")
        return parts

    def _layers(self, part: str, layers: Iterable[int] | None) -> list[int]:
        n = self.layouts[part].n_layers
        if layers is None:
            return list(range(n))
        layers = [int(l) for l in layers]
        bad = [l for l in layers if not -n <= l < n]
        if bad:
            raise ValueError(f"{part} has {n} layers; bad layer indices {bad}")
        return sorted({l % n for l in layers})

    @torch.no_grad()
    def _init_agent(self, k: int) -> None:
        """Fresh weights for agent k from ``(seed, k, init_count[k])`` (independent of K), targets
        equal to the online networks, zero Adam state, nothing frozen."""
        rng = np.random.default_rng([self.cfg.seed, k, int(self.init_count[k])])
        La, Lc = self.layouts["actor"], self.layouts["critic"]
        self.actor[k] = torch.from_numpy(_init_flat(La, rng))
        for twin in range(2):
            self.critic[k, twin] = torch.from_numpy(_init_flat(Lc, rng))
        self.actor_target[k] = self.actor[k]
        self.critic_target[k] = self.critic[k]
        for st in self.opt.values():
            st.m[k] = 0
            st.v[k] = 0
            st.step[k] = 0
            st.trainable[k] = True
        self.init_count[k] += 1

    def reset_agent(self, k: int) -> None:
        """Re-initialise agent k (actor, critics, targets, Adam state, freeze masks) with fresh
        random weights; no other agent is touched."""
        self._init_agent(self._agent(k))

    @torch.no_grad()
    def copy_agent(
        self,
        src: int,
        dst: int,
        parts: Iterable[str] | str = _PARTS,
        fresh_optimizer: bool = True,
        layers: Iterable[int] | None = None,
        source: "BatchedTD3 | None" = None,
    ) -> None:
        """Copy agent ``src``'s weights (online and target) into agent ``dst``.

        Args:
            parts: ``"actor"`` and/or ``"critic"`` (both twins).
            fresh_optimizer: True zeroes dst's Adam moments and step counts of the copied layers;
                False copies src's.
            layers: layer indices to copy (0 = first hidden layer; default all) — feature transfer
                copies the lower layers and then :meth:`freeze_layers` them.
            source: the model holding agent ``src`` (default: this one), e.g. a trained source
                model loaded from a checkpoint. Must have the same sizes.
        Only agent ``dst`` of this model changes; freeze masks are left as they are.
        """
        source = self if source is None else source
        if source is not self and (source.layouts["actor"].sizes, source.layouts["critic"].sizes) != (
            self.layouts["actor"].sizes,
            self.layouts["critic"].sizes,
        ):
            raise ValueError("source model has different network sizes")
        src, dst = source._agent(src), self._agent(dst)
        for part in self._parts(parts):
            layout = self.layouts[part]
            s_st, d_st = source.opt[part], self.opt[part]
            for l in self._layers(part, layers):
                sl = layout.layer_slices[l]
                self._online(part)[dst, ..., sl] = source._online(part)[src, ..., sl]
                self._target(part)[dst, ..., sl] = source._target(part)[src, ..., sl]
                if fresh_optimizer:
                    d_st.m[dst, ..., sl] = 0
                    d_st.v[dst, ..., sl] = 0
                    d_st.step[dst, l] = 0
                else:
                    d_st.m[dst, ..., sl] = s_st.m[src, ..., sl]
                    d_st.v[dst, ..., sl] = s_st.v[src, ..., sl]
                    d_st.step[dst, l] = s_st.step[src, l]

    def freeze_layers(
        self, k: int, layer_indices: Iterable[int], parts: Iterable[str] | str = _PARTS, frozen: bool = True
    ) -> None:
        """Freeze (or with ``frozen=False`` unfreeze) layers of agent k: a frozen layer's weights,
        Adam moments and step count stay bit-identical through updates (gradients still flow
        through it to the layers below). Layer 0 is the first hidden layer; for the critic the
        index applies to both twins. Other agents are untouched."""
        k = self._agent(k)
        for part in self._parts(parts):
            for l in self._layers(part, layer_indices):
                self.opt[part].trainable[k, l] = not frozen

    def frozen_layers(self, k: int) -> dict[str, list[int]]:
        """The frozen layer indices of agent k per part."""
        k = self._agent(k)
        return {p: torch.nonzero(~self.opt[p].trainable[k]).flatten().tolist() for p in _PARTS}

    def agent_parameters(self, k: int) -> dict[str, torch.Tensor]:
        """Named views (no copy; detached — clone before keeping them) of agent k's weights.

        Keys ``{net}.{layer}.weight`` (shape ``[in, out]``, the transpose of ``nn.Linear.weight``)
        and ``{net}.{layer}.bias`` (``[out]``) for ``net`` in ``actor``, ``critic1``, ``critic2``,
        ``actor_target``, ``critic1_target``, ``critic2_target``.
        """
        k = self._agent(k)
        nets = {
            "actor": ("actor", self.actor.detach()[k]),
            "critic1": ("critic", self.critic.detach()[k, 0]),
            "critic2": ("critic", self.critic.detach()[k, 1]),
            "actor_target": ("actor", self.actor_target[k]),
            "critic1_target": ("critic", self.critic_target[k, 0]),
            "critic2_target": ("critic", self.critic_target[k, 1]),
        }
        out: dict[str, torch.Tensor] = {}
        for name, (part, flat) in nets.items():
            Ws, bs = self.layouts[part].views(flat, 1)
            for l, (W, b) in enumerate(zip(Ws, bs)):
                out[f"{name}.{l}.weight"] = W[0]
                out[f"{name}.{l}.bias"] = b[0, 0]
        return out

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Networks, targets, Adam moments/step counts/freeze masks, update counter, init counts,
        the target-noise and exploration generator states and the config (copies; only tensors
        and Python scalars/containers, so ``torch.load(weights_only=True)`` reads a saved one)."""
        state: dict[str, Any] = {
            "config": asdict(self.cfg),
            "sizes": (self.n_agents, self.obs_dim, self.act_dim),
            "n_updates": self.n_updates,
            "init_count": torch.from_numpy(self.init_count.copy()),
            "torch_gen": self.torch_gen.get_state(),
            "np_rng": self.np_rng.bit_generator.state,
        }
        for part in _PARTS:
            st = self.opt[part]
            state[part] = self._online(part).detach().clone()
            state[f"{part}_target"] = self._target(part).clone()
            state[f"{part}_adam_m"] = st.m.clone()
            state[f"{part}_adam_v"] = st.v.clone()
            state[f"{part}_adam_step"] = st.step.clone()
            state[f"{part}_trainable"] = st.trainable.clone()
        return state

    @torch.no_grad()
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (same sizes; the config, seed included, is taken from this
        instance's constructor — only the state is restored)."""
        if tuple(state["sizes"]) != (self.n_agents, self.obs_dim, self.act_dim):
            raise ValueError(f"checkpoint sizes {tuple(state['sizes'])} != {(self.n_agents, self.obs_dim, self.act_dim)}")
        for part in _PARTS:
            st = self.opt[part]
            pairs = (
                (self._online(part), part),
                (self._target(part), f"{part}_target"),
                (st.m, f"{part}_adam_m"),
                (st.v, f"{part}_adam_v"),
                (st.step, f"{part}_adam_step"),
                (st.trainable, f"{part}_trainable"),
            )
            for dst, key in pairs:
                if tuple(state[key].shape) != tuple(dst.shape):
                    raise ValueError(f"{key}: checkpoint shape {tuple(state[key].shape)} != {tuple(dst.shape)}")
                dst.copy_(state[key])
        self.n_updates = int(state["n_updates"])
        self.init_count[...] = np.asarray(state["init_count"])
        self.torch_gen.set_state(state["torch_gen"])
        self.np_rng.bit_generator.state = state["np_rng"]


class ActorCopies:
    """``copies`` stacked copies of a :class:`BatchedTD3`'s actors, for greedy inference only: no
    critics, target networks or optimiser state (about a twentieth of the memory of a BatchedTD3 of
    as many agents). Row ``r * K + k`` is agent ``k`` of copy ``r``; each row is evaluated as its own
    agent (a batch of one), exactly as :meth:`BatchedTD3.act` evaluates it, so a row's shares are
    bit-identical to the agent's and do not depend on ``copies``."""

    def __init__(self, agent: BatchedTD3, copies: int) -> None:
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise ValueError(f"copies must be an int >= 1, got {copies!r}")
        self._agent = agent  # the head and the map to shares
        self.n_agents = agent.n_agents * copies
        self.actor = agent.actor.detach().repeat(copies, 1)
        self._views = agent.layouts["actor"].views(self.actor, self.n_agents)

    @torch.no_grad()
    def act(self, obs: Any) -> np.ndarray:
        """Greedy PRB shares, float64 ``[n, A]``, for observations ``[n, D]`` (``n = copies * K``)."""
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        if x.shape != (self.n_agents, self._agent.obs_dim):
            raise ValueError(f"obs: expected [{self.n_agents}, {self._agent.obs_dim}], got {tuple(x.shape)}")
        a = self._agent._policy(x.unsqueeze(1), self._views)[:, 0].numpy().astype(np.float64)
        return self._agent.to_shares(a)
