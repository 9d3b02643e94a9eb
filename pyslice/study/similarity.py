"""Inter-agent similarity analysis (paper §IV-B, eqs. 7–10 and §V-4, Fig. 7; docs/model.md §7).

Read top to bottom: sample collection under the default action, the Gaussian KL closed forms
(eqs. 8 and 9) and the agent-to-agent distances built on them (eq. 7), the baseline measures, the
distance matrix, source selection (eq. 10), group statistics, and CSV/heatmap output. (Slightly
over ~600 lines: most of it is the documented closed forms and their input checks.)

Samples
-------
A sample of agent k is x = [s, r] ∈ R^(4N+1): the normalised observation s on which the default
action a' (equal PRB shares in every cell) is taken, and the eq. 2 reward r that action earns —
the (s, r) part of a replay transition (s, a', r, s'). :func:`collect_default_samples` returns them
as ``[K, n_samples, 4N+1]``.

Direction of the distance
-------------------------
``D[i, k]`` is the distance *from source agent i to target agent k*: eq. 7 averages
KL(N_n ‖ N_m) over source samples n ∈ X_i and target samples m ∈ X_k, so rows are sources and
columns targets, and :func:`select_source` takes the argmin of column k (eq. 10). The diagonal is
set to 0: an agent is not its own source. (Eq. 7 applied to an agent and itself is not 0 — it is
the mean KL between two of its *different* samples, a measure of its spread; the same spread
enters every off-diagonal entry, see :func:`distance_eq9`.)

Measures (:data:`MEASURES`)
---------------------------
``vae-kl``
    Eq. 7 with the exact diagonal-Gaussian KL of eq. 8 on the VAE posteriors N(μ_n, diag σ_n²).
``vae-kl-equal-sigma``
    Eq. 7 with eq. 9, the paper's shortcut when every posterior has the same small variance σ²:
    (1/(2σ²))·mean ‖μ_n − μ_m‖². σ² defaults to the mean posterior variance over all samples of all
    agents (it only scales D).
``latent-mean``
    ‖μ̄_i − μ̄_k‖², the squared distance between the agents' mean latent vectors (baseline: eq. 9
    without the within-agent spread). It is also the spread-corrected eq. 9 distance: with eq. 9,
    D_ik − ½(D_ii + D_kk) = ‖μ̄_i − μ̄_k‖²/(2σ²), the same ranking of sources.
``vae-kl-spread-corrected``
    ``vae-kl`` less the agents' own spreads: D_ik − ½(D_ii + D_kk), where D_ii is eq. 7 applied to
    an agent and itself (the mean KL between two of its samples). A target whose samples spread
    widely is otherwise far from every source, and a source that spreads widely far from every target.
``gaussian-fit-kl``
    KL(N(m_i, C_i) ‖ N(m_k, C_k)) between full-covariance Gaussian fits of the raw samples
    (baseline without a VAE). The samples are first standardised with the mean and std of the
    union of all agents (KL is invariant to a common affine map, so this only sets the units of the
    ridge), and ``ridge``·I is added to each covariance: some features are constant within an
    agent (a throughput ratio clipped at 2, a reward of exactly 1 in a lightly loaded cell), which
    makes C singular and the KL infinite. The default 1e-2 is 1% of the pooled variance of each
    feature — a resolution below which two agents are not told apart. The KL then stays finite but
    is still dominated by such near-degenerate features (a term var_i/ridge), which is a known
    weakness of this baseline.
``mmd``
    Unbiased MMD² (Gretton et al. 2012) with the RBF kernel exp(−‖x − y‖²/(2h²)) on the raw samples
    standardised as above; h² is the median heuristic: half the median squared distance between
    distinct samples of the union of all agents (exact up to 3000 samples; above that, computed on
    3000 samples taken evenly from the rows in lexicographic order, so it never depends on the
    order of the samples). Symmetric, and may be slightly negative for two samples of one
    distribution (unbiased).

Every measure is computed without Python loops over sample pairs: eqs. 7–9 are sums of separable
terms, so their mean over all pairs is computed exactly from per-agent moments in O((n_i + n_k)·L);
:func:`kl_gaussian_diag` gives the full pairwise matrix by broadcasting (in row chunks). Agents may
hold different numbers of samples (a new target cell has few): every function that takes per-agent
data accepts a stacked array ``[K, n, ·]`` or a sequence of K arrays ``[n_k, ·]``.
"""
from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pyslice.base.atomic import atomic_open, write_npz  # noqa: E402
from pyslice.base.validation import check_int, check_samples  # noqa: E402
from pyslice.envs.slicing import SlicingEnv  # noqa: E402
from pyslice.learn.vae import VAEConfig, encode, train_vae  # noqa: E402
from pyslice.sim.scenario import Scenario  # noqa: E402

__all__ = [
    "HEADLINE_MEASURE",
    "LATENT_MEASURES",
    "MEASURES",
    "PAPER_GROUPS",
    "RAW_MEASURES",
    "Latents",
    "SimilarityResult",
    "analyse",
    "collect_default_samples",
    "distance_eq7",
    "distance_eq9",
    "distance_matrix",
    "encode_agents",
    "group_separation",
    "kl_gaussian_diag",
    "load_distance_csv",
    "plot_distance_matrix",
    "save_distance_csv",
    "select_source",
    "source_group_accuracy",
]

LATENT_MEASURES = ("vae-kl", "vae-kl-equal-sigma", "latent-mean", "vae-kl-spread-corrected")
RAW_MEASURES = ("gaussian-fit-kl", "mmd")
MEASURES = LATENT_MEASURES + RAW_MEASURES
#: The paper's source-selection measure: eq. 10 with D "computed based on (7) and (9)".
HEADLINE_MEASURE = "vae-kl-equal-sigma"
#: The paper's two requirement groups (§V-1), 0-based: cells 1,2,3,7,8,9 and 4,5,6,10,11,12.
PAPER_GROUPS = ((0, 1, 2, 6, 7, 8), (3, 4, 5, 9, 10, 11))
MMD_MEDIAN_MAX_SAMPLES = 3000
_CHUNK_ELEMENTS = 1 << 22  # elements of one broadcast block [rows, m, L] (32 MiB in float64)


class Latents(NamedTuple):
    """VAE posteriors per agent: ``mu`` and ``logvar``, each [K, n, L] or a sequence of [n_k, L]."""
    mu: Any
    logvar: Any


# ------------------------------------------------------------------------------------------------
# Sample collection under the default action a' (equal shares)
# ------------------------------------------------------------------------------------------------
def collect_default_samples(scenario: Scenario, n_samples: int = 500, seed: int = 0, replicas: int = 1,
                            warmup: int = 0, n_neighbours: int = 6, threads: int | None = None,
                            observation: str = "clipped") -> np.ndarray:
    """Samples x = [s, r] of every cell under equal shares: float64 [K, n_samples, 4N+1].

    The env is reset (which already runs its one warm-up step), stepped ``warmup`` more times with
    equal shares (discarded), then ``T = ceil(n_samples / replicas)`` times; step t of replica r
    gives the sample [obs before the step, reward of the step] of every cell.

    Seed rule and order: replica r runs the simulator with seed ``seed + r`` (as
    :class:`pyslice.SlicingEnv`) and fills samples ``r·T … r·T + T − 1`` in time order, and the
    result is truncated to ``n_samples``. So ``replicas = R`` gives the concatenation along axis 1
    of R one-replica runs with seeds seed, seed + 1, …, each of T samples — replicas only make the
    collection faster (R samples per C++ call) and the samples less correlated in time.
    ``threads``: C++ threads stepping the replicas (default min(replicas, CPU count)); it does not
    change the samples. ``observation``: the env's state normalisation (:mod:`pyslice.envs.slicing`); the VAE
    sees x = [s, r] with s so normalised (paper §IV-B: x ∈ R^(4N+1)).
    """

    n_samples = check_int("n_samples", n_samples, 1)
    replicas = check_int("replicas", replicas, 1)
    warmup = check_int("warmup", warmup, 0)
    if threads is None:
        threads = max(1, min(replicas, os.cpu_count() or 1))
    env = SlicingEnv(scenario, seed=seed, replicas=replicas, threads=threads, n_neighbours=n_neighbours,
                     observation=observation)
    obs = env.reset()
    for _ in range(warmup):
        obs, _, _ = env.step_policy("equal")
    steps = -(-n_samples // replicas)
    shape = (replicas, env.n_agents, steps, env.obs_dim + 1)
    out = np.empty(shape, dtype=np.float64)
    for t in range(steps):
        next_obs, reward, _ = env.step_policy("equal")
        out[:, :, t, :-1] = obs.reshape(replicas, env.n_agents, env.obs_dim)
        out[:, :, t, -1] = reward.reshape(replicas, env.n_agents)
        obs = next_obs
    # [R, K, T, D] -> [K, R*T, D]: replica-major, time order within each replica.
    samples = out.transpose(1, 0, 2, 3).reshape(env.n_agents, replicas * steps, env.obs_dim + 1)
    return np.ascontiguousarray(samples[:, :n_samples])


# ------------------------------------------------------------------------------------------------
# Input checks
# ------------------------------------------------------------------------------------------------
def _as_agents(data: Any, name: str, min_rows: int = 1, min_agents: int = 1) -> list[np.ndarray]:
    """Per-agent arrays [n_k, D] from a stacked [K, n, D] array or a sequence of [n_k, D] arrays."""
    if isinstance(data, np.ndarray) or not isinstance(data, Sequence):
        try:
            arr = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be an array [K, n, D] or a sequence of [n_k, D] arrays, "
                             f"got {type(data).__name__}") from exc
        if arr.ndim != 3:
            raise ValueError(f"{name} must have shape [K, n, D], got shape {arr.shape}")
        agents = list(arr)
    else:
        agents = list(data)
    if len(agents) < min_agents:
        raise ValueError(f"{name} must hold at least {min_agents} agent(s), got {len(agents)}")
    out = [check_samples(f"{name}[{k}]", a, min_rows=min_rows) for k, a in enumerate(agents)]
    dims = {a.shape[1] for a in out}
    if len(dims) != 1:
        raise ValueError(f"{name}: every agent must have the same number of features, got {sorted(dims)}")
    return out


def _as_latents(latents: Any, name: str = "latents") -> tuple[list[np.ndarray], list[np.ndarray]]:
    if not (isinstance(latents, tuple) and len(latents) == 2):
        raise ValueError(f"{name} must be a Latents(mu, logvar) pair (see encode_agents), "
                         f"got {type(latents).__name__}")
    mu = _as_agents(latents[0], f"{name}.mu")
    logvar = _as_agents(latents[1], f"{name}.logvar")
    if len(mu) != len(logvar) or any(a.shape != b.shape for a, b in zip(mu, logvar)):
        raise ValueError(f"{name}.mu and {name}.logvar must have the same shapes, got "
                         f"{[a.shape for a in mu]} and {[b.shape for b in logvar]}")
    return mu, logvar


def _pair(mu: Any, logvar: Any, name: str, dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    m = check_samples(f"mu_{name}", mu, dim)
    lv = check_samples(f"logvar_{name}", logvar, m.shape[1])
    if lv.shape != m.shape:
        raise ValueError(f"logvar_{name} must have the shape of mu_{name} {m.shape}, got {lv.shape}")
    return m, lv


# ------------------------------------------------------------------------------------------------
# Eqs. 7–9: KL between diagonal Gaussians and the agent-to-agent distance
# ------------------------------------------------------------------------------------------------
def kl_gaussian_diag(mu1: np.ndarray, logvar1: np.ndarray, mu2: np.ndarray, logvar2: np.ndarray) -> np.ndarray:
    """Pairwise KL(N(mu1[a], diag e^logvar1[a]) ‖ N(mu2[b], diag e^logvar2[b])) → [n, m] (eq. 8).

    ½ Σ_l [logvar2 − logvar1 − 1 + (e^logvar1 + (mu1 − mu2)²) / e^logvar2], evaluated by
    broadcasting over [rows, m, L] blocks of at most ~4M elements.
    """
    m1, lv1 = _pair(mu1, logvar1, "1")
    m2, lv2 = _pair(mu2, logvar2, "2", m1.shape[1])
    n, m, dim = m1.shape[0], m2.shape[0], m1.shape[1]
    out = np.empty((n, m), dtype=np.float64)
    inv_v2 = np.exp(-lv2)[None]
    rows = max(1, _CHUNK_ELEMENTS // max(1, m * dim))
    for a in range(0, n, rows):
        b = slice(a, a + rows)
        diff = m1[b, None, :] - m2[None]
        terms = lv2[None] - lv1[b, None, :] - 1.0 + (np.exp(lv1[b, None, :]) + diff * diff) * inv_v2
        out[b] = 0.5 * terms.sum(axis=-1)
    return out


def distance_eq7(mu_i: np.ndarray, logvar_i: np.ndarray, mu_k: np.ndarray, logvar_k: np.ndarray) -> float:
    """Eq. 7: mean over all pairs (n ∈ source i, m ∈ target k) of KL(N_n ‖ N_m) with eq. 8.

    Exact, in O((n_i + n_k)·L): KL is a sum of products of a source-only and a target-only factor,
    so its mean over pairs is the same sum over per-agent means. The means are centred on the
    midpoint of the two agents' mean latents first, so nothing cancels catastrophically. Equals
    ``kl_gaussian_diag(...).mean()`` to rounding.
    """
    mi, lvi = _pair(mu_i, logvar_i, "i")
    mk, lvk = _pair(mu_k, logvar_k, "k", mi.shape[1])
    c = 0.5 * (mi.mean(axis=0) + mk.mean(axis=0))
    mi, mk = mi - c, mk - c
    w = np.exp(-lvk)  # 1/σ_m²
    ew, emw, em2w = w.mean(axis=0), (mk * w).mean(axis=0), (mk * mk * w).mean(axis=0)
    per_dim = (lvk.mean(axis=0) - lvi.mean(axis=0) - 1.0 + np.exp(lvi).mean(axis=0) * ew
               + (mi * mi).mean(axis=0) * ew - 2.0 * mi.mean(axis=0) * emw + em2w)
    return float(0.5 * per_dim.sum())


def distance_eq9(mu_i: np.ndarray, mu_k: np.ndarray, sigma2: float) -> float:
    """Eq. 9 in eq. 7: (1/(2σ²))·mean over pairs of ‖μ_n − μ_m‖², all posteriors N(μ, σ²·I).

    Computed as (1/(2σ²))·(‖μ̄_i − μ̄_k‖² + tr Cov_i + tr Cov_k) (population covariances): the mean
    pairwise distance is the distance of the means plus both agents' spreads. Equals eq. 8 when
    every log σ² = log sigma2.
    """
    mi = check_samples("mu_i", mu_i)
    mk = check_samples("mu_k", mu_k, mi.shape[1])
    s2 = float(sigma2) if isinstance(sigma2, (int, float, np.floating, np.integer)) else math.nan
    if not (math.isfinite(s2) and s2 > 0):
        raise ValueError(f"sigma2 must be a finite number > 0, got {sigma2!r}")
    d = mi.mean(axis=0) - mk.mean(axis=0)
    return float((d @ d + mi.var(axis=0).sum() + mk.var(axis=0).sum()) / (2.0 * s2))


# ------------------------------------------------------------------------------------------------
# Distance matrix
# ------------------------------------------------------------------------------------------------
def distance_matrix(data: Any, measure: str = "vae-kl", *, sigma2: float | None = None, ridge: float = 1e-2,
                    bandwidth2: float | None = None) -> np.ndarray:
    """D [K, K], D[i, k] = distance from source agent i to target agent k; diagonal 0.

    ``data``: for the latent measures (:data:`LATENT_MEASURES`) a :class:`Latents` (mu, logvar)
    pair as returned by :func:`encode_agents`; for the raw measures (:data:`RAW_MEASURES`) the raw
    samples, [K, n, D] or a sequence of [n_k, D]. ``sigma2``: σ² of ``vae-kl-equal-sigma`` (default:
    mean posterior variance). ``ridge``: covariance ridge of ``gaussian-fit-kl`` (standardised
    units). ``bandwidth2``: h² of ``mmd`` (default: median heuristic). See the module docstring.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}, got {measure!r}")
    if measure in LATENT_MEASURES:
        mu, logvar = _as_latents(data, "data")
        n_agents = len(mu)
        if measure == "vae-kl":
            D = _pairwise(n_agents, lambda i, k: distance_eq7(mu[i], logvar[i], mu[k], logvar[k]))
        elif measure == "vae-kl-spread-corrected":
            D = _pairwise(n_agents, lambda i, k: distance_eq7(mu[i], logvar[i], mu[k], logvar[k]))
            spread = np.array([distance_eq7(mu[i], logvar[i], mu[i], logvar[i]) for i in range(n_agents)])
            D = D - 0.5 * (spread[:, None] + spread[None, :])
        elif measure == "vae-kl-equal-sigma":
            if sigma2 is None:
                sigma2 = float(np.mean(np.exp(np.concatenate(logvar))))
            D = _pairwise(n_agents, lambda i, k: distance_eq9(mu[i], mu[k], sigma2))
        else:
            means = np.stack([m.mean(axis=0) for m in mu])
            diff = means[:, None, :] - means[None, :, :]
            D = np.einsum("ikl,ikl->ik", diff, diff)
    else:
        min_rows = 2
        agents = _standardise_union(_as_agents(data, "data", min_rows=min_rows))
        if measure == "gaussian-fit-kl":
            D = _gaussian_fit_kl(agents, ridge)
        else:
            D = _mmd_matrix(agents, bandwidth2)
    D = np.array(D, dtype=np.float64)
    np.fill_diagonal(D, 0.0)
    return D


def _pairwise(n_agents: int, fn: Any) -> np.ndarray:
    """D[i, k] = fn(i, k) for i ≠ k (a loop over agent pairs; each call is vectorised)."""
    D = np.zeros((n_agents, n_agents))
    for i in range(n_agents):
        for k in range(n_agents):
            if i != k:
                D[i, k] = fn(i, k)
    return D


def _standardise_union(agents: list[np.ndarray]) -> list[np.ndarray]:
    """Standardise every agent with the mean/std of the union (constant features only centred)."""
    union = np.concatenate(agents)
    mean, std = union.mean(axis=0), union.std(axis=0)
    std = np.where(std < 1e-12, 1.0, std)
    return [(a - mean) / std for a in agents]


def _gaussian_fit_kl(agents: list[np.ndarray], ridge: float) -> np.ndarray:
    if not (isinstance(ridge, (int, float, np.floating)) and math.isfinite(ridge) and ridge > 0):
        raise ValueError(f"ridge must be a finite number > 0, got {ridge!r}")
    dim = agents[0].shape[1]
    means = np.stack([a.mean(axis=0) for a in agents])  # [K, D]
    covs = np.stack([np.cov(a, rowvar=False, ddof=1).reshape(dim, dim) + ridge * np.eye(dim) for a in agents])
    chol = np.linalg.cholesky(covs)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)  # [K]
    inv = np.linalg.inv(covs)
    inv = 0.5 * (inv + inv.transpose(0, 2, 1))
    # KL(P_i ‖ P_k) = ½ [tr(C_k⁻¹ C_i) + (m_k − m_i)ᵀ C_k⁻¹ (m_k − m_i) − D + log|C_k| − log|C_i|]
    trace = np.einsum("kab,iba->ik", inv, covs)
    diff = means[None, :, :] - means[:, None, :]  # [i, k, D] = m_k − m_i
    quad = np.einsum("ika,kab,ikb->ik", diff, inv, diff)
    return 0.5 * (trace + quad - dim + logdet[None, :] - logdet[:, None])


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth2(agents: list[np.ndarray]) -> float:
    """Median heuristic h² = ½ median ‖x − y‖² over distinct pairs of the union (see module doc)."""
    union = np.concatenate(agents)
    if union.shape[0] > MMD_MEDIAN_MAX_SAMPLES:
        order = np.lexsort(union.T[::-1])
        take = np.linspace(0, union.shape[0] - 1, MMD_MEDIAN_MAX_SAMPLES).round().astype(int)
        union = union[order[take]]
    iu = np.triu_indices(union.shape[0], k=1)
    med = float(np.median(_sq_dists(union, union)[iu]))
    return 0.5 * med if med > 0 else 1.0


def _mmd_matrix(agents: list[np.ndarray], bandwidth2: float | None) -> np.ndarray:
    if bandwidth2 is None:
        bandwidth2 = median_bandwidth2(agents)
    elif not (isinstance(bandwidth2, (int, float, np.floating)) and math.isfinite(bandwidth2) and bandwidth2 > 0):
        raise ValueError(f"bandwidth2 must be a finite number > 0, got {bandwidth2!r}")
    gamma = 1.0 / (2.0 * bandwidth2)
    n_agents = len(agents)
    self_terms = np.empty(n_agents)
    for k, a in enumerate(agents):
        kern = np.exp(-gamma * _sq_dists(a, a))
        n = a.shape[0]
        self_terms[k] = (kern.sum() - np.trace(kern)) / (n * (n - 1))
    D = np.zeros((n_agents, n_agents))
    for i in range(n_agents):
        for k in range(i + 1, n_agents):
            cross = np.exp(-gamma * _sq_dists(agents[i], agents[k])).mean()
            D[i, k] = D[k, i] = self_terms[i] + self_terms[k] - 2.0 * cross
    return D


# ------------------------------------------------------------------------------------------------
# Encoding, the one-call analysis, and source selection (eq. 10)
# ------------------------------------------------------------------------------------------------
def encode_agents(model: Any, samples: Any) -> Latents:
    """VAE posteriors of every agent's samples: :class:`Latents` with [K, n, L] arrays for a stacked
    [K, n, D] input, lists of [n_k, L] for a sequence."""

    stacked = isinstance(samples, np.ndarray) and samples.ndim == 3
    agents = _as_agents(samples, "samples")
    sizes = [a.shape[0] for a in agents]
    mu, logvar = encode(model, np.concatenate(agents))
    split = np.cumsum(sizes)[:-1]
    mus, lvs = np.split(mu, split), np.split(logvar, split)
    if stacked:
        return Latents(np.stack(mus), np.stack(lvs))
    return Latents(mus, lvs)


def analyse(samples: Any, vae_config: Any = None, measures: Sequence[str] = MEASURES,
            model: Any = None) -> dict[str, np.ndarray]:
    """Every requested measure's D [K, K] for the agents' samples ([K, n, D] or a sequence).

    Trains one VAE on the union of all agents' samples (``vae_config``, default
    :class:`pyslice.learn.vae.VAEConfig()`) unless a trained ``model`` is given or no latent measure is
    requested.
    """
    return analyse_with_latents(samples, vae_config, measures, model)[0]


def posterior_variance_stats(latents: Latents) -> dict[str, float]:
    """How well the premise of the paper's Lemma 1 holds: statistics of every posterior variance
    σ² (all samples, agents and latent dimensions). The paper observed σ² below 1e-5 for nearly all
    samples, which makes eq. 9 a faithful shortcut of eq. 8."""
    mu, logvar = _as_latents(latents)
    var = np.exp(np.concatenate([lv.ravel() for lv in logvar]))
    return {"sigma2_median": float(np.median(var)), "sigma2_mean": float(var.mean()),
            "sigma2_p05": float(np.percentile(var, 5)), "sigma2_p95": float(np.percentile(var, 95)),
            "share_below_1e-5": float(np.mean(var < 1e-5))}


def analyse_with_latents(samples: Any, vae_config: Any = None, measures: Sequence[str] = MEASURES,
                         model: Any = None) -> tuple[dict[str, np.ndarray], Latents | None]:
    """:func:`analyse`, also returning the VAE posteriors it used (None if no latent measure was
    requested)."""

    if isinstance(measures, str):
        measures = (measures,)
    for m in measures:
        if m not in MEASURES:
            raise ValueError(f"measures must be among {', '.join(map(repr, MEASURES))}, got {m!r}")
    agents = _as_agents(samples, "samples", min_rows=2)
    out: dict[str, np.ndarray] = {}
    latents = None
    if any(m in LATENT_MEASURES for m in measures):
        if model is None:
            model, _ = train_vae(np.concatenate(agents), VAEConfig() if vae_config is None else vae_config)
        latents = encode_agents(model, agents)
    for m in measures:
        out[m] = distance_matrix(latents if m in LATENT_MEASURES else agents, m)
    return out, latents


def _check_matrix(D: Any, name: str = "D") -> np.ndarray:
    try:
        arr = np.asarray(D, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a square matrix of numbers, got {type(D).__name__}") from exc
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square matrix [K, K], got shape {arr.shape}")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _check_index(name: str, k: Any, n: int) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
        raise ValueError(f"{name} must be an agent index in [0, {n - 1}], got {k!r}")
    return int(k)


def select_source(D: Any, k: int, candidates: Sequence[int] | None = None) -> int:
    """Eq. 10: the source i* = argmin_{i ≠ k} D[i, k] (among ``candidates`` if given; ties → the
    lowest index)."""
    arr = _check_matrix(D)
    k = _check_index("k", k, arr.shape[0])
    pool = range(arr.shape[0]) if candidates is None else [_check_index("candidates", c, arr.shape[0])
                                                           for c in candidates]
    pool = [i for i in pool if i != k]
    if not pool:
        raise ValueError(f"candidates must contain an agent other than the target k={k}")
    return int(min(pool, key=lambda i: (arr[i, k], i)))


@dataclass(frozen=True)
class SimilarityResult:
    """A distance matrix and the measure that produced it; D[i, k] = from source i to target k."""
    D: np.ndarray
    measure: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "D", _check_matrix(self.D))

    @property
    def n_agents(self) -> int:
        return self.D.shape[0]

    def ranked_sources(self, k: int) -> np.ndarray:
        """Sources for target k, nearest first (D[·, k] ascending, ties by index), k excluded."""
        k = _check_index("k", k, self.n_agents)
        others = np.array([i for i in range(self.n_agents) if i != k], dtype=np.int64)
        return others[np.argsort(self.D[others, k], kind="stable")]

    def select_source(self, k: int) -> int:
        """Eq. 10 for target k."""
        return select_source(self.D, k)

    def group_separation(self, groups: Sequence[Sequence[int]] = PAPER_GROUPS) -> tuple[float, float]:
        return group_separation(self.D, groups)


    def plot(self, path: str | os.PathLike, title: str | None = None) -> Path:
        return plot_distance_matrix(self.D, path, title or f"Inter-agent distance ({self.measure})")


# ------------------------------------------------------------------------------------------------
# Group statistics
# ------------------------------------------------------------------------------------------------
def _check_groups(groups: Any, n: int) -> list[list[int]]:
    try:
        out = [[_check_index("groups", c, n) for c in g] for g in groups]
    except TypeError as exc:
        raise ValueError("groups must be a sequence of sequences of agent indices") from exc
    flat = [c for g in out for c in g]
    if len(flat) != len(set(flat)):
        raise ValueError(f"groups must be disjoint, got {groups!r}")
    if len(out) < 2 or any(len(g) < 1 for g in out):
        raise ValueError(f"groups must hold at least two non-empty groups, got {groups!r}")
    return out


def group_separation(D: Any, groups: Sequence[Sequence[int]] = PAPER_GROUPS) -> tuple[float, float]:
    """(within_mean, across_mean): mean D[i, k] over ordered pairs i ≠ k in the same group, and
    over pairs in different groups (agents in no group are ignored)."""
    arr = _check_matrix(D)
    gs = _check_groups(groups, arr.shape[0])
    label = np.full(arr.shape[0], -1)
    for g, members in enumerate(gs):
        label[members] = g
    inside = label >= 0
    same = (label[:, None] == label[None, :]) & inside[:, None] & inside[None, :]
    np.fill_diagonal(same, False)
    diff = (label[:, None] != label[None, :]) & inside[:, None] & inside[None, :]
    within = float(arr[same].mean()) if same.any() else math.nan
    return within, float(arr[diff].mean())


def source_group_accuracy(D: Any, groups: Sequence[Sequence[int]] = PAPER_GROUPS) -> float:
    """Fraction of grouped targets k whose eq. 10 source (among the grouped agents) is in k's
    group."""
    arr = _check_matrix(D)
    gs = _check_groups(groups, arr.shape[0])
    members = [c for g in gs for c in g]
    group_of = {c: g for g, grp in enumerate(gs) for c in grp}
    hits = [group_of[select_source(arr, k, members)] == group_of[k] for k in members if len(members) > 1]
    return float(np.mean(hits))


# ------------------------------------------------------------------------------------------------
# Output: CSV and heatmap (paper Fig. 7)
# ------------------------------------------------------------------------------------------------
def save_distance_csv(D: Any, path: str | os.PathLike) -> Path:
    """Write D atomically as CSV: header ``source\\target,1,…,K``, then one row per source cell
    (label 1…K, then D[i, ·] with 17 significant digits)."""
    arr = _check_matrix(D)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    labels = [str(k + 1) for k in range(arr.shape[0])]
    writer.writerow(["source\\target", *labels])
    for i, row in enumerate(arr):
        writer.writerow([labels[i], *(f"{v:.17g}" for v in row)])
    path = Path(path)
    with atomic_open(path, "w") as fh:
        fh.write(buf.getvalue())
    return path


def load_distance_csv(path: str | os.PathLike) -> np.ndarray:
    """Read a matrix written by :func:`save_distance_csv`."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)


def plot_distance_matrix(D: Any, path: str | os.PathLike, title: str = "Inter-agent distance") -> Path:
    """Heatmap of D (rows: source cell i, columns: target cell k, labels 1…K), colour bar
    "distance", values written in the cells when K ≤ 16 (paper Fig. 7)."""
    arr = _check_matrix(D)
    n = arr.shape[0]
    size = max(4.0, 0.5 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    finite = arr[np.isfinite(arr)]
    vmax = float(finite.max()) if finite.size else 1.0
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    im = ax.imshow(arr, cmap="viridis", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1.0)
    fig.colorbar(im, ax=ax, label="distance", fraction=0.046, pad=0.04)
    ticks = np.arange(n)
    ax.set_xticks(ticks, [str(k + 1) for k in ticks])
    ax.set_yticks(ticks, [str(k + 1) for k in ticks])
    ax.set_xlabel("target cell k")
    ax.set_ylabel("source cell i")
    ax.set_title(title)
    if n <= 16:
        mid = 0.5 * (vmin + vmax)
        scale = max(abs(vmin), abs(vmax))
        fmt = "{:.0f}" if scale >= 100 else "{:.1f}" if scale >= 10 else "{:.2f}" if scale >= 0.1 else "{:.2g}"
        for i in range(n):
            for k in range(n):
                v = arr[i, k]
                ax.text(k, i, fmt.format(v), ha="center", va="center", fontsize=7,
                        color="black" if np.isfinite(v) and v > mid else "white")
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def save_distances(folder: Path, matrices: dict[str, np.ndarray]) -> None:
    """Write every measure's distance matrix to ``folder/distances.npz`` (atomically)."""
    write_npz(folder / "distances.npz", **{m.replace("-", "_"): D for m, D in matrices.items()})


def load_distances(folder: Path) -> dict[str, np.ndarray]:
    """The distance matrices :func:`save_distances` wrote, by measure name."""
    with np.load(folder / "distances.npz", allow_pickle=False) as z:
        return {k.replace("_", "-"): z[k] for k in z.files}
