"""Variational auto-encoder for the inter-agent similarity analysis (paper §IV-B, Fig. 2, eq. 6;
docs/model.md §7).

Read top to bottom: the config, the network, the loss, training, encoding, save/load.

Model
-----
A sample x = [s, r] ∈ R^D (D = 4N + 1 = 17 in the paper) is standardised with the mean and standard
deviation of the training set (stored in the model as buffers, so a saved model encodes new samples
exactly as it encoded its training set). The encoder MLP (64, 24) maps it to the mean μ ∈ R^L and
the log-variance log σ² ∈ R^L of a diagonal Gaussian posterior (L = 4); the decoder MLP (24, 64)
maps a latent z ~ N(μ, diag σ²) (reparameterised, z = μ + σ·ε) back to x̂, in standardised units.
Hidden layers use ReLU; the output layers are linear.

Loss (eq. 6), per sample, averaged over the minibatch::

    L = ‖x − x̂‖² + α · KL(N(μ, diag σ²) ‖ N(0, I)),   KL = ½ Σ_l (μ_l² + σ_l² − 1 − log σ_l²)

with x and x̂ standardised and ‖·‖² summed over the D features.

Choice of α (default 0.1)
-------------------------
‖x − x̂‖² is, up to a constant, the negative log-likelihood of a Gaussian decoder with variance ½
per feature, so α = 1 is the ordinary ELBO under that noise level — in standardised units the
decoder would then be allowed an error of half of each feature's variance, and the KL term wins for
every latent direction that explains less than that: those directions collapse to the prior and
carry no information about the agent. α = 0.1 corresponds to a decoder variance of 0.05 per
feature (reconstructions that explain ~95% of each feature's variance), which keeps the four latent
directions informative while still bounding the posterior variances and anchoring the latent scale
(with α → 0 the model becomes a plain auto-encoder, σ² → 0 as the paper observed, and the latent
scale — hence the size of the KL distances of eqs. 7–9 — is arbitrary). Training reports the
reconstruction and KL terms separately (``history``) so the trade-off can be checked.

Determinism
-----------
Training is seeded (``VAEConfig.seed``) through a private RNG state (``torch.random.fork_rng``; the
caller's global torch RNG is left as it was) and runs on ``VAEConfig.threads`` intra-op threads
(default 1, restored afterwards): the same samples and config give bit-identical weights on CPU.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from pyslice.base.atomic import atomic_open
from pyslice.base.validation import check_int, check_samples

__all__ = ["VAE", "VAEConfig", "encode", "load_vae", "reconstruct", "save_vae", "train_vae", "vae_loss"]


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VAEConfig:
    """VAE architecture and training hyper-parameters (defaults: paper §V-4 architecture)."""

    hidden: tuple[int, ...] = (64, 24)
    """Encoder hidden widths (ReLU); the decoder uses them reversed, (24, 64) (paper §V-4)."""
    latent_dim: int = 4
    """L, the dimension of the latent space (paper: x ∈ R^17 → z ∈ R^4)."""
    alpha: float = 0.1
    """α of eq. 6, the weight of the KL term (see the module docstring for why 0.1)."""
    epochs: int = 300
    """Passes over the training set."""
    batch_size: int = 128
    """Minibatch size (the last minibatch of an epoch may be smaller)."""
    lr: float = 1e-3
    """Adam learning rate (other Adam settings: PyTorch defaults)."""
    seed: int = 0
    """Seed of the weight initialisation, the minibatch shuffling and the reparameterisation noise."""
    standardise: bool = True
    """Standardise inputs with the training set's per-feature mean and std (stored in the model).
    Without it the features' raw scales weight the reconstruction error (the observation blocks
    span [0, 2] or [0, 4], the reward [0, 1])."""
    min_std: float = 1e-6
    """A feature whose training-set std is below this is only centred (divided by 1), not scaled:
    a constant feature carries no information and must not be blown up."""
    threads: int | None = 1
    """Intra-op torch threads during training (restored afterwards); None keeps the current count.
    One thread makes CPU training bit-reproducible and is fastest for a network this small."""

    def __post_init__(self) -> None:
        hidden = tuple(self.hidden)
        if len(hidden) < 1:
            raise ValueError(f"hidden must be a non-empty tuple of ints >= 1, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(check_int(f"hidden[{i}]", h, 1) for i, h in enumerate(hidden)))
        for name in ("latent_dim", "epochs", "batch_size"):
            check_int(name, getattr(self, name), 1)
        if not (isinstance(self.alpha, (int, float)) and math.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.min_std, (int, float)) and math.isfinite(self.min_std) and self.min_std > 0):
            raise ValueError(f"min_std must be a finite number > 0, got {self.min_std!r}")
        check_int("seed", self.seed, 0)
        if self.threads is not None:
            check_int("threads", self.threads, 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (tuples as lists), the inverse of :meth:`from_dict`."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VAEConfig:
        """Config from :meth:`to_dict` output; unknown keys raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown VAEConfig keys {unknown}")
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(d["hidden"])
        return cls(**d)


# ------------------------------------------------------------------------------------------------
# Network
# ------------------------------------------------------------------------------------------------
def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of ``sizes`` with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Encoder (hidden) → (μ, log σ²) ∈ R^L × R^L; decoder (reversed hidden) → x̂ ∈ R^D.

    ``x_mean`` and ``x_std`` (buffers, part of the state_dict) standardise raw inputs:
    :meth:`standardise` maps raw samples to the units in which the loss is computed.
    """

    def __init__(self, input_dim: int, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.input_dim = check_int("input_dim", input_dim, 1)
        self.config = config
        h = list(config.hidden)
        self.encoder = _mlp([self.input_dim, *h])
        self.encoder.append(nn.ReLU())
        self.head = nn.Linear(h[-1], 2 * config.latent_dim)  # [μ | log σ²]
        self.decoder = _mlp([config.latent_dim, *reversed(h), self.input_dim])
        self.register_buffer("x_mean", torch.zeros(self.input_dim))
        self.register_buffer("x_std", torch.ones(self.input_dim))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.x_mean) / self.x_std

    def encode(self, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of *standardised* inputs ``xs`` [M, D]."""
        out = self.head(self.encoder(xs))
        return out[:, : self.latent_dim], out[:, self.latent_dim:]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction x̂ (standardised units) of latents ``z`` [M, L]."""
        return self.decoder(z)

    def forward(self, xs: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x̂, μ, log σ²) of standardised ``xs``, z drawn by reparameterisation."""
        mu, logvar = self.encode(xs)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z), mu, logvar


def vae_loss(xs: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 6 averaged over the batch: (loss, reconstruction ‖x − x̂‖², KL(N(μ, σ²) ‖ N(0, I)))."""
    recon = ((xs - x_hat) ** 2).sum(dim=1).mean()
    kl = 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=1).mean()
    return recon + alpha * kl, recon, kl


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def train_vae(samples: np.ndarray, config: VAEConfig = VAEConfig()) -> tuple[VAE, dict[str, list[float]]]:
    """Train a VAE on ``samples`` [M, D] (the union of all candidate agents' samples).

    Adam over shuffled minibatches for ``config.epochs`` epochs. Returns the model (eval mode) and
    the history: per-epoch means over the samples of ``loss``, ``recon`` (‖x − x̂‖², standardised
    units) and ``kl`` (KL to the prior, nats).
    """
    if not isinstance(config, VAEConfig):
        raise ValueError(f"config must be a VAEConfig, got {type(config).__name__}")
    x = check_samples("samples", samples)
    if x.shape[0] < 2:
        raise ValueError(f"samples must hold at least 2 samples to train on, got {x.shape[0]}")
    history: dict[str, list[float]] = {"loss": [], "recon": [], "kl": []}
    with _torch_threads(config.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = VAE(x.shape[1], config)
        if config.standardise:
            std = x.std(axis=0)
            model.x_mean.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))
            model.x_std.copy_(torch.as_tensor(np.where(std < config.min_std, 1.0, std), dtype=torch.float32))
        xs = model.standardise(torch.as_tensor(x, dtype=torch.float32))
        gen = torch.Generator().manual_seed(config.seed)
        # foreach: one call per step for all parameters instead of a Python loop over them; the same
        # arithmetic, so the same bits (tests/test_vae.py), and about a fifth less training time
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, foreach=True)
        m = xs.shape[0]
        model.train()
        for _ in range(config.epochs):
            perm = torch.randperm(m, generator=gen)
            totals = torch.zeros(3, dtype=torch.float64)
            for start in range(0, m, config.batch_size):
                batch = xs[perm[start:start + config.batch_size]]
                x_hat, mu, logvar = model(batch, generator=gen)
                loss, recon, kl = vae_loss(batch, x_hat, mu, logvar, config.alpha)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                totals += batch.shape[0] * torch.stack([loss, recon, kl]).detach().double()
            for key, value in zip(("loss", "recon", "kl"), (totals / m).tolist()):
                history[key].append(value)
    model.eval()
    return model, history


# ------------------------------------------------------------------------------------------------
# Encoding
# ------------------------------------------------------------------------------------------------
def encode(model: VAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (μ [M, L], log σ² [M, L]) of raw samples ``x`` [M, D] (float64 arrays)."""
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a pyslice.learn.vae.VAE, got {type(model).__name__}")
    arr = check_samples("x", x, model.input_dim)
    with torch.no_grad():
        mu, logvar = model.encode(model.standardise(torch.as_tensor(arr, dtype=torch.float32)))
    return mu.double().numpy(), logvar.double().numpy()


def reconstruct(model: VAE, x: np.ndarray) -> np.ndarray:
    """Decoder output at the posterior mean, x̂ = dec(μ(x)), in raw units [M, D] (diagnostics)."""
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a pyslice.learn.vae.VAE, got {type(model).__name__}")
    arr = check_samples("x", x, model.input_dim)
    with torch.no_grad():
        mu, _ = model.encode(model.standardise(torch.as_tensor(arr, dtype=torch.float32)))
        out = model.decode(mu) * model.x_std + model.x_mean
    return out.double().numpy()


# ------------------------------------------------------------------------------------------------
# Save / load
# ------------------------------------------------------------------------------------------------
def save_vae(model: VAE, path: str | os.PathLike) -> None:
    """Write ``{"input_dim", "config", "state_dict"}`` atomically with ``torch.save``."""
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a pyslice.learn.vae.VAE, got {type(model).__name__}")
    payload = {"input_dim": model.input_dim, "config": model.config.to_dict(),
               "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}}
    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)


def load_vae(path: str | os.PathLike) -> VAE:
    """Rebuild a model written by :func:`save_vae` (eval mode)."""
    payload = torch.load(path, weights_only=True)
    model = VAE(int(payload["input_dim"]), VAEConfig.from_dict(payload["config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model
