"""Similarity analysis (paper §IV-B, eqs. 7–10): the KL closed forms against torch, eq. 9 as the
equal-σ case of eq. 8, the agent distances' invariances, every measure separating agents drawn from
different distributions, default-action sample collection through the env, source selection,
group statistics, CSV/heatmap output, and input validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Independent, Normal, kl_divergence

from pyslice import Scenario, SlicingEnv
from pyslice.study.similarity import (
    LATENT_MEASURES,
    MEASURES,
    PAPER_GROUPS,
    Latents,
    SimilarityResult,
    analyse,
    collect_default_samples,
    distance_eq7,
    distance_eq9,
    distance_matrix,
    encode_agents,
    group_separation,
    kl_gaussian_diag,
    load_distance_csv,
    plot_distance_matrix,
    save_distance_csv,
    select_source,
    source_group_accuracy,
)
from pyslice.learn.vae import VAEConfig, train_vae

SMALL = dataclasses.replace(Scenario.paper(),
                            traffic=dataclasses.replace(Scenario.paper().traffic, max_ues_per_slice=3))
SEEDS = st.integers(0, 2**32 - 1)


def gaussians(seed: int, n: int, dim: int, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, spread, (n, dim)), rng.uniform(-3, 2, (n, dim))


# ------------------------------------------------------------------------------------------------
# Eq. 8 / eq. 9 / eq. 7
# ------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 7), m=st.integers(1, 7), dim=st.integers(1, 5))
def test_eq8_matches_torch(seed, n, m, dim) -> None:
    mu1, lv1 = gaussians(seed, n, dim)
    mu2, lv2 = gaussians(seed + 1, m, dim)
    got = kl_gaussian_diag(mu1, lv1, mu2, lv2)
    p = Independent(Normal(torch.tensor(mu1)[:, None], torch.tensor(np.exp(0.5 * lv1))[:, None]), 1)
    q = Independent(Normal(torch.tensor(mu2)[None], torch.tensor(np.exp(0.5 * lv2))[None]), 1)
    want = kl_divergence(p, q).numpy()
    assert got.shape == (n, m)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_eq8_chunked_equals_unchunked(monkeypatch) -> None:
    import pyslice.study.similarity as sim

    mu1, lv1 = gaussians(0, 37, 3)
    mu2, lv2 = gaussians(1, 11, 3)
    full = kl_gaussian_diag(mu1, lv1, mu2, lv2)
    monkeypatch.setattr(sim, "_CHUNK_ELEMENTS", 40)  # 1 row per block
    np.testing.assert_allclose(sim.kl_gaussian_diag(mu1, lv1, mu2, lv2), full, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 9), m=st.integers(1, 9), dim=st.integers(1, 5),
       offset=st.floats(-1e3, 1e3))
def test_eq7_is_the_mean_of_pairwise_eq8(seed, n, m, dim, offset) -> None:
    mu1, lv1 = gaussians(seed, n, dim)
    mu2, lv2 = gaussians(seed + 1, m, dim)
    mu1, mu2 = mu1 + offset, mu2 + offset  # a common offset must not cost precision
    want = kl_gaussian_diag(mu1, lv1, mu2, lv2).mean()
    assert distance_eq7(mu1, lv1, mu2, lv2) == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 9), m=st.integers(1, 9), dim=st.integers(1, 5),
       log_s2=st.floats(-12, 2))
def test_eq9_equals_eq8_with_equal_sigma(seed, n, m, dim, log_s2) -> None:
    mu1, _ = gaussians(seed, n, dim)
    mu2, _ = gaussians(seed + 1, m, dim)
    s2 = float(np.exp(log_s2))
    lv1, lv2 = np.full((n, dim), np.log(s2)), np.full((m, dim), np.log(s2))
    pair = kl_gaussian_diag(mu1, lv1, mu2, lv2)
    np.testing.assert_allclose(pair, ((mu1[:, None] - mu2[None]) ** 2).sum(-1) / (2 * s2), rtol=1e-9, atol=1e-9)
    assert distance_eq9(mu1, mu2, s2) == pytest.approx(pair.mean(), rel=1e-9, abs=1e-9)
    assert distance_eq7(mu1, lv1, mu2, lv2) == pytest.approx(pair.mean(), rel=1e-7, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 8), dim=st.integers(1, 5))
def test_kl_nonnegative_and_zero_for_identical(seed, n, dim) -> None:
    mu, lv = gaussians(seed, n, dim)
    mu2, lv2 = gaussians(seed + 7, n, dim)
    pair = kl_gaussian_diag(mu, lv, mu2, lv2)
    assert np.all(pair >= -1e-12)
    np.testing.assert_allclose(np.diag(kl_gaussian_diag(mu, lv, mu, lv)), 0.0, atol=1e-12)
    one = slice(0, 1)
    assert distance_eq7(mu[one], lv[one], mu[one], lv[one]) == pytest.approx(0.0, abs=1e-12)
    assert distance_eq9(mu[one], mu[one], 0.1) == pytest.approx(0.0, abs=1e-12)


def test_kl_is_asymmetric_as_eq8() -> None:
    mu, lv = np.zeros((1, 2)), np.zeros((1, 2))
    wide = np.full((1, 2), np.log(4.0))
    assert kl_gaussian_diag(mu, lv, mu, wide)[0, 0] != pytest.approx(kl_gaussian_diag(mu, wide, mu, lv)[0, 0])


# ------------------------------------------------------------------------------------------------
# Distance matrices
# ------------------------------------------------------------------------------------------------
def three_agents(n: int = 150, dim: int = 5, shift: float = 1.5, seed: int = 0) -> np.ndarray:
    """A and B from N(0, I), C from N(shift·1, I): [3, n, dim]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, n, dim))
    x[2] += shift
    return x


def random_latents(k: int = 4, n: int = 30, dim: int = 3, seed: int = 0) -> Latents:
    rng = np.random.default_rng(seed)
    return Latents(rng.normal(size=(k, n, dim)) + np.arange(k)[:, None, None],
                   rng.uniform(-4, 0, size=(k, n, dim)))


@pytest.fixture(scope="module")
def separated() -> dict[str, np.ndarray]:
    x = three_agents()
    return analyse(x, VAEConfig(epochs=40, batch_size=64, hidden=(32, 16), latent_dim=2, seed=1))


@pytest.mark.parametrize("measure", MEASURES)
def test_every_measure_separates_different_distributions(separated, measure) -> None:
    D = separated[measure]
    A, B, C = 0, 1, 2
    assert D.shape == (3, 3)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert D[A, B] < D[A, C] and D[A, B] < D[B, C]
    assert D[B, A] < D[C, A] and D[B, A] < D[C, B]
    assert select_source(D, A) == B and select_source(D, B) == A


@pytest.mark.parametrize("measure", MEASURES)
def test_sample_order_does_not_matter(measure) -> None:
    rng = np.random.default_rng(5)
    if measure in LATENT_MEASURES:
        data = random_latents()
        perm = [rng.permutation(data.mu.shape[1]) for _ in range(data.mu.shape[0])]
        shuffled = Latents(np.stack([m[p] for m, p in zip(data.mu, perm)]),
                           np.stack([v[p] for v, p in zip(data.logvar, perm)]))
    else:
        data = three_agents(n=60)
        shuffled = np.stack([a[rng.permutation(len(a))] for a in data])
    np.testing.assert_allclose(distance_matrix(shuffled, measure), distance_matrix(data, measure),
                               rtol=1e-10, atol=1e-12)


def test_latent_measures_match_their_definitions() -> None:
    lat = random_latents()
    D = distance_matrix(lat, "vae-kl")
    for i, k in [(0, 1), (1, 0), (2, 3)]:
        want = kl_gaussian_diag(lat.mu[i], lat.logvar[i], lat.mu[k], lat.logvar[k]).mean()
        assert D[i, k] == pytest.approx(want, rel=1e-9)  # D[i, k]: source i's samples first in the KL
    s2 = float(np.exp(lat.logvar).mean())
    E = distance_matrix(lat, "vae-kl-equal-sigma")
    assert E[0, 2] == pytest.approx(((lat.mu[0][:, None] - lat.mu[2][None]) ** 2).sum(-1).mean() / (2 * s2))
    np.testing.assert_allclose(distance_matrix(lat, "vae-kl-equal-sigma", sigma2=2 * s2), E / 2)
    M = distance_matrix(lat, "latent-mean")
    assert M[1, 3] == pytest.approx(((lat.mu[1].mean(0) - lat.mu[3].mean(0)) ** 2).sum())


def test_unequal_sample_counts() -> None:
    rng = np.random.default_rng(2)
    agents = [rng.normal(size=(n, 4)) for n in (40, 7, 25)]
    for m in ("gaussian-fit-kl", "mmd"):
        D = distance_matrix(agents, m)
        assert D.shape == (3, 3) and np.all(np.isfinite(D))
    lat = Latents([a[:, :2] for a in agents], [np.zeros((len(a), 2)) for a in agents])
    assert distance_matrix(lat, "vae-kl").shape == (3, 3)


def test_gaussian_fit_kl_matches_torch_and_survives_constant_features() -> None:
    x = three_agents(n=80, dim=3)
    D = distance_matrix(x, "gaussian-fit-kl", ridge=1e-2)
    union = np.concatenate(x)
    z = (x - union.mean(0)) / union.std(0)
    fit = [torch.distributions.MultivariateNormal(torch.tensor(a.mean(0)),
                                                  torch.tensor(np.cov(a.T) + 1e-2 * np.eye(3))) for a in z]
    assert D[0, 2] == pytest.approx(kl_divergence(fit[0], fit[2]).item(), rel=1e-9)
    assert D[2, 1] == pytest.approx(kl_divergence(fit[2], fit[1]).item(), rel=1e-9)
    x[0, :, 1] = 2.0  # clipped feature, constant within one agent
    assert np.all(np.isfinite(distance_matrix(x, "gaussian-fit-kl")))


def test_mmd_is_unbiased_and_symmetric() -> None:
    rng = np.random.default_rng(0)
    same = rng.normal(size=(6, 200, 3))
    D = distance_matrix(same, "mmd")
    np.testing.assert_allclose(D, D.T)
    assert np.abs(D).max() < 0.02  # unbiased: scatters around 0 for equal distributions
    assert D.min() < 0  # and it does go below 0 (a biased V-statistic would not)


def test_analyse_uses_given_model_and_measures() -> None:
    x = three_agents(n=40)
    model, _ = train_vae(x.reshape(-1, x.shape[-1]), VAEConfig(epochs=2))
    out = analyse(x, measures=("latent-mean", "mmd"), model=model)
    assert set(out) == {"latent-mean", "mmd"}
    np.testing.assert_allclose(out["latent-mean"], distance_matrix(encode_agents(model, x), "latent-mean"))


# ------------------------------------------------------------------------------------------------
# Sample collection under equal shares
# ------------------------------------------------------------------------------------------------
def test_collect_default_samples_match_env() -> None:
    x = collect_default_samples(SMALL, n_samples=6, seed=3)
    assert x.shape == (12, 6, 17) and x.dtype == np.float64
    env = SlicingEnv(SMALL, seed=3)
    obs = env.reset()
    for t in range(6):
        next_obs, reward, info = env.step_policy("equal")
        np.testing.assert_allclose(info["shares"], 0.25)
        np.testing.assert_array_equal(x[:, t, :-1], obs)  # the state the default action is taken in
        np.testing.assert_array_equal(x[:, t, -1], reward)  # the eq. 2 reward of that action
        obs = next_obs
    assert np.all((x[..., -1] >= 0) & (x[..., -1] <= 1))


def test_collect_default_samples_warmup() -> None:
    x = collect_default_samples(SMALL, n_samples=5, seed=1)
    y = collect_default_samples(SMALL, n_samples=3, seed=1, warmup=2)
    np.testing.assert_array_equal(y, x[:, 2:])


def test_collect_default_samples_replicas_are_seed_plus_r() -> None:
    x = collect_default_samples(SMALL, n_samples=10, seed=7, replicas=3)  # T = 4 steps, truncated to 10
    parts = [collect_default_samples(SMALL, n_samples=4, seed=7 + r) for r in range(3)]
    np.testing.assert_array_equal(x, np.concatenate(parts, axis=1)[:, :10])
    assert not np.array_equal(parts[0], parts[1])


# ------------------------------------------------------------------------------------------------
# Source selection, groups, output
# ------------------------------------------------------------------------------------------------
def block_matrix() -> np.ndarray:
    D = np.full((12, 12), 5.0)
    for g in PAPER_GROUPS:
        D[np.ix_(g, g)] = 1.0
    D[4, 3] = 0.5
    np.fill_diagonal(D, 0.0)
    return D


def test_select_source_ranked_and_groups() -> None:
    D = block_matrix()
    assert select_source(D, 3) == 4  # argmin over i ≠ k of column k (eq. 10)
    assert select_source(D, 0) == 1  # ties → lowest index, never k itself
    assert select_source(D, 3, candidates=[0, 3, 8]) == 0
    res = SimilarityResult(D, "test")
    ranked = res.ranked_sources(3)
    assert ranked[0] == 4 and 3 not in ranked and len(ranked) == 11
    assert set(ranked[:5]) == {4, 5, 9, 10, 11}
    within, across = group_separation(D, PAPER_GROUPS)
    assert within == pytest.approx((60 * 1.0 - 0.5) / 60) and across == 5.0
    assert source_group_accuracy(D) == 1.0
    # targets 0, 1 find each other; 2 and 3 (different paper groups) are nearer to 0 than to each other
    assert source_group_accuracy(D, [(0, 1), (2, 3)]) == 0.5


def test_csv_round_trip_and_heatmap(tmp_path) -> None:
    D = block_matrix() * np.pi
    path = save_distance_csv(D, tmp_path / "out" / "d.csv")
    np.testing.assert_array_equal(load_distance_csv(path), D)
    header = path.read_text().splitlines()[0].split(",")
    assert header[1] == "1" and header[-1] == "12"
    png = plot_distance_matrix(D, tmp_path / "out" / "d.png", "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["d.csv", "d.png"]


# ------------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------------
def test_bad_input_raises_value_error_naming_the_argument() -> None:
    x = three_agents(n=10)
    lat = random_latents()
    with pytest.raises(ValueError, match="measure"):
        distance_matrix(x, "cosine")
    with pytest.raises(ValueError, match="measures"):
        analyse(x, measures=("vae-kl", "wasserstein"))
    with pytest.raises(ValueError, match=r"data must have shape \[K, n, D\]"):
        distance_matrix(x[0], "mmd")
    with pytest.raises(ValueError, match="data.*Latents"):
        distance_matrix(x, "vae-kl")
    bad = x.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"data\[1\] must be finite"):
        distance_matrix(bad, "gaussian-fit-kl")
    with pytest.raises(ValueError, match=r"samples\[1\] must be finite"):
        analyse(bad)
    nan_lat = Latents(lat.mu.copy(), lat.logvar)
    nan_lat.mu[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"data.mu\[0\] must be finite"):
        distance_matrix(nan_lat, "vae-kl")
    with pytest.raises(ValueError, match="logvar"):
        distance_matrix(Latents(lat.mu, lat.logvar[:, :5]), "vae-kl")
    with pytest.raises(ValueError, match="mu_2"):
        kl_gaussian_diag(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="logvar_1"):
        kl_gaussian_diag(np.zeros((2, 3)), np.zeros((3, 3)), np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mu_k"):
        distance_eq7(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="sigma2"):
        distance_eq9(np.zeros((2, 3)), np.zeros((2, 3)), 0.0)
    with pytest.raises(ValueError, match="mu_i"):
        distance_eq9(np.full((2, 3), np.nan), np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="ridge"):
        distance_matrix(x, "gaussian-fit-kl", ridge=-1.0)
    with pytest.raises(ValueError, match="bandwidth2"):
        distance_matrix(x, "mmd", bandwidth2=0.0)
    with pytest.raises(ValueError, match=r"data\[0\] must hold at least 2"):
        distance_matrix([np.zeros((1, 3)), np.zeros((4, 3))], "mmd")
    with pytest.raises(ValueError, match="same number of features"):
        distance_matrix([np.zeros((4, 3)), np.zeros((4, 2))], "mmd")
    with pytest.raises(ValueError, match="D must be a square"):
        select_source(np.zeros((3, 2)), 0)
    with pytest.raises(ValueError, match="D must not contain NaN"):
        group_separation(np.full((3, 3), np.nan), [(0,), (1, 2)])
    with pytest.raises(ValueError, match="k must be an agent index"):
        select_source(np.zeros((3, 3)), 3)
    with pytest.raises(ValueError, match="groups must be disjoint"):
        group_separation(np.zeros((3, 3)), [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="groups"):
        group_separation(np.zeros((3, 3)), [(0, 5)])
    with pytest.raises(ValueError, match="n_samples"):
        collect_default_samples(SMALL, n_samples=0)
    with pytest.raises(ValueError, match="replicas"):
        collect_default_samples(SMALL, replicas=0)
    with pytest.raises(ValueError, match="warmup"):
        collect_default_samples(SMALL, warmup=-1)


def test_posterior_variance_stats_closed_form():
    """Lemma 1's premise is read from every posterior variance: here σ² = 1e-6 for one agent and
    1e-2 for the other, half the values each."""
    from pyslice.study.similarity import Latents, posterior_variance_stats

    mu = np.zeros((2, 10, 4))
    logvar = np.stack([np.full((10, 4), np.log(1e-6)), np.full((10, 4), np.log(1e-2))])
    s = posterior_variance_stats(Latents(mu, logvar))
    assert s["share_below_1e-5"] == 0.5
    assert s["sigma2_mean"] == pytest.approx((1e-6 + 1e-2) / 2)
    assert s["sigma2_median"] == pytest.approx((1e-6 + 1e-2) / 2)  # between the two halves
    assert s["sigma2_p05"] == pytest.approx(1e-6) and s["sigma2_p95"] == pytest.approx(1e-2)
