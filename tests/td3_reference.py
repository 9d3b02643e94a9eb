"""A plain, deliberately simple single-agent TD3 (Fujimoto et al. 2018) used as the test reference.

Written from the algorithm, not from ``pyslice.learn.td3``: ``torch.nn.Linear`` layers, one
``torch.optim.Adam`` for the actor and one for both critics, and one of two actor heads: ``"tanh"``
(Fujimoto et al.'s Box head: target-smoothing noise added and clipped to [-1, 1]) or ``"softmax"``
(noisy target actions put back by a Euclidean simplex projection done by a brute-force search over
support sizes, not the sort/cumsum trick). One instance per agent. It imports nothing from ``pyslice``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def simplex_projection_bruteforce(y: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of ``y`` onto the probability simplex.

    For every support size s the candidate threshold is theta_s = (sum of the s largest - 1) / s;
    the projection is max(y - theta, 0) for the candidate whose result sums to 1 (the support of
    the result has exactly s elements). Rows are handled one at a time, in float64.
    """
    flat = y.reshape(-1, y.shape[-1]).double()
    out = torch.empty_like(flat)
    n = flat.shape[1]
    for r in range(flat.shape[0]):
        row = flat[r]
        top = torch.sort(row, descending=True).values
        best = None
        for s in range(1, n + 1):
            theta = (top[:s].sum() - 1) / s
            p = torch.clamp(row - theta, min=0)
            # consistent support: the s largest are positive and the rest are clipped
            if top[s - 1] - theta > 0 and (s == n or top[s] - theta <= 0):
                best = p
                break
        assert best is not None
        out[r] = best
    return out.reshape(y.shape).to(y.dtype)


class MLP(nn.Module):
    def __init__(self, sizes, head: str | None):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.head = head

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        if self.head == "softmax":
            return torch.softmax(x, dim=-1)
        return torch.tanh(x) if self.head == "tanh" else x


class ReferenceTD3:
    """One TD3 agent. ``update(obs[B,D], act[B,A], rew[B], next_obs[B,D], noise[B,A])``."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        actor_hidden=(48, 24),
        critic_hidden=(64, 24),
        actor_lr=5e-4,
        critic_lr=1e-3,
        gamma=0.1,
        tau=0.005,
        policy_noise=0.2,
        noise_clip=0.5,
        policy_delay=2,
        head="tanh",
    ):
        self.head = head
        self.actor = MLP([obs_dim, *actor_hidden, act_dim], head=head)
        self.critic1 = MLP([obs_dim + act_dim, *critic_hidden, 1], head=None)
        self.critic2 = MLP([obs_dim + act_dim, *critic_hidden, 1], head=None)
        self.actor_target = copy.deepcopy(self.actor)
        self.critic1_target = copy.deepcopy(self.critic1)
        self.critic2_target = copy.deepcopy(self.critic2)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_opt = torch.optim.Adam(
            list(self.critic1.parameters()) + list(self.critic2.parameters()), lr=critic_lr
        )
        self.gamma, self.tau = gamma, tau
        self.policy_noise, self.noise_clip, self.policy_delay = policy_noise, noise_clip, policy_delay
        self.total_it = 0

    def nets(self) -> dict[str, MLP]:
        return {
            "actor": self.actor,
            "critic1": self.critic1,
            "critic2": self.critic2,
            "actor_target": self.actor_target,
            "critic1_target": self.critic1_target,
            "critic2_target": self.critic2_target,
        }

    @torch.no_grad()
    def load(self, params: dict[str, torch.Tensor]) -> None:
        """Load weights named ``{net}.{layer}.weight`` (shape [in, out]) / ``.bias``."""
        for name, net in self.nets().items():
            for l, layer in enumerate(net.layers):
                layer.weight.copy_(params[f"{name}.{l}.weight"].T)
                layer.bias.copy_(params[f"{name}.{l}.bias"])

    def params(self) -> dict[str, torch.Tensor]:
        """Weights in the same naming/shape convention as :meth:`load` (detached copies)."""
        out = {}
        for name, net in self.nets().items():
            for l, layer in enumerate(net.layers):
                out[f"{name}.{l}.weight"] = layer.weight.detach().T.clone()
                out[f"{name}.{l}.bias"] = layer.bias.detach().clone()
        return out

    def freeze(self, net: str, layer: int) -> None:
        """Freeze one layer of ``actor`` or ``critic`` (both twins): no gradient, Adam skips it."""
        nets = [self.actor] if net == "actor" else [self.critic1, self.critic2]
        for m in nets:
            for p in m.layers[layer].parameters():
                p.requires_grad_(False)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.actor(obs)

    def update(self, obs, act, rew, next_obs, noise) -> dict[str, float]:
        """One TD3 step; returns the critic loss and (on delayed steps) the actor loss."""
        self.total_it += 1
        out = {"critic_loss": float("nan"), "actor_loss": float("nan")}
        with torch.no_grad():
            smoothing = (noise * self.policy_noise).clamp(-self.noise_clip, self.noise_clip)
            if self.head == "tanh":
                next_action = (self.actor_target(next_obs) + smoothing).clamp(-1.0, 1.0)
            else:
                next_action = simplex_projection_bruteforce(self.actor_target(next_obs) + smoothing)
            target_in = torch.cat([next_obs, next_action], 1)
            target_q = torch.min(self.critic1_target(target_in), self.critic2_target(target_in))
            target_q = rew.unsqueeze(1) + self.gamma * target_q
        q_in = torch.cat([obs, act], 1)
        critic_loss = nn.functional.mse_loss(self.critic1(q_in), target_q) + nn.functional.mse_loss(
            self.critic2(q_in), target_q
        )
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        out["critic_loss"] = critic_loss.item()

        if self.total_it % self.policy_delay == 0:
            actor_loss = -self.critic1(torch.cat([obs, self.actor(obs)], 1)).mean()
            self.actor_opt.zero_grad()
            actor_loss.backward()
            self.actor_opt.step()
            out["actor_loss"] = actor_loss.item()
            with torch.no_grad():
                for net, target in (
                    (self.actor, self.actor_target),
                    (self.critic1, self.critic1_target),
                    (self.critic2, self.critic2_target),
                ):
                    for p, tp in zip(net.parameters(), target.parameters()):
                        tp.mul_(1 - self.tau).add_(self.tau * p)
        return out
