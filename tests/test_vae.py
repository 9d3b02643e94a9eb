"""VAE of the similarity analysis (paper eq. 6, Fig. 2): training lowers the loss, shapes,
standardisation, seeded determinism, save/load round trip, input validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pyslice.learn.vae import VAE, VAEConfig, encode, load_vae, reconstruct, save_vae, train_vae, vae_loss

FAST = VAEConfig(epochs=25, batch_size=64, seed=3)


def data(n: int = 300, d: int = 9, seed: int = 0) -> np.ndarray:
    """Samples on a noisy 2-D manifold in R^d with features of very different scales."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    mix = rng.normal(size=(2, d))
    scales = np.geomspace(0.01, 10.0, d)
    return (np.tanh(z @ mix) + 0.05 * rng.normal(size=(n, d))) * scales + 3.0


def test_architecture_is_the_papers() -> None:
    model = VAE(17)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in linears]
    # encoder 17 → 64 → 24 → (μ, log σ²) ∈ R^4 × R^4; decoder 4 → 24 → 64 → 17
    assert shapes == [(17, 64), (64, 24), (24, 8), (4, 24), (24, 64), (64, 17)]


def test_loss_decreases_and_history() -> None:
    x = data()
    model, hist = train_vae(x, FAST)
    assert set(hist) == {"loss", "recon", "kl"}
    assert all(len(v) == FAST.epochs for v in hist.values())
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["recon"][-1] < hist["recon"][0]
    np.testing.assert_allclose(hist["loss"], np.add(hist["recon"], FAST.alpha * np.asarray(hist["kl"])), rtol=1e-5)
    assert not model.training


def test_standardisation_stored_in_model() -> None:
    x = data()
    x[:, 0] = 7.0  # a constant feature is centred, not scaled
    model, _ = train_vae(x, dataclasses.replace(FAST, epochs=1))
    np.testing.assert_allclose(model.x_mean.numpy(), x.mean(0), rtol=1e-5)
    std = x.std(0)
    std[0] = 1.0
    np.testing.assert_allclose(model.x_std.numpy(), std, rtol=1e-5)
    raw, _ = train_vae(x, dataclasses.replace(FAST, epochs=1, standardise=False))
    assert torch.all(raw.x_mean == 0) and torch.all(raw.x_std == 1)


def test_encode_and_reconstruct_shapes() -> None:
    x = data(n=50)
    model, _ = train_vae(x, dataclasses.replace(FAST, epochs=2, latent_dim=3))
    mu, logvar = encode(model, x)
    assert mu.shape == logvar.shape == (50, 3)
    assert mu.dtype == logvar.dtype == np.float64
    assert reconstruct(model, x).shape == x.shape
    assert np.all(np.isfinite(mu)) and np.all(np.isfinite(logvar))


def test_reconstruction_improves_with_training() -> None:
    x = data()
    err = {}
    for epochs in (1, 60):
        model, _ = train_vae(x, dataclasses.replace(FAST, epochs=epochs))
        err[epochs] = np.mean(((reconstruct(model, x) - x) / x.std(0)) ** 2)
    assert err[60] < 0.5 * err[1]


def test_vae_loss_formula() -> None:
    xs, x_hat = torch.zeros(2, 3), torch.ones(2, 3)
    mu, logvar = torch.zeros(2, 4), torch.zeros(2, 4)
    loss, recon, kl = vae_loss(xs, x_hat, mu, logvar, alpha=0.5)
    assert recon.item() == pytest.approx(3.0) and kl.item() == pytest.approx(0.0) and loss.item() == pytest.approx(3.0)
    mu = torch.ones(2, 4)
    loss, recon, kl = vae_loss(xs, x_hat, mu, logvar, alpha=0.5)
    assert kl.item() == pytest.approx(2.0) and loss.item() == pytest.approx(4.0)


def test_deterministic_with_seed_and_keeps_global_rng_and_threads() -> None:
    x = data()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    threads = torch.get_num_threads()
    a, ha = train_vae(x, FAST)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads
    b, hb = train_vae(x, FAST)
    c, _ = train_vae(x, dataclasses.replace(FAST, seed=4))
    assert ha == hb
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())


def test_save_load_round_trip(tmp_path) -> None:
    x = data()
    model, _ = train_vae(x, dataclasses.replace(FAST, latent_dim=2, hidden=(16, 8)))
    path = tmp_path / "sub" / "vae.pt"
    save_vae(model, path)
    loaded = load_vae(path)
    assert loaded.config == model.config and loaded.input_dim == model.input_dim
    for got, want in zip(encode(loaded, x), encode(model, x)):
        np.testing.assert_array_equal(got, want)
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["vae.pt"]  # no temp file left


def test_config_round_trip_and_validation() -> None:
    cfg = VAEConfig(hidden=(8, 4), alpha=0.0, threads=None)
    assert VAEConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown VAEConfig keys"):
        VAEConfig.from_dict({"hiden": [1]})
    for kw, name in [({"alpha": -1.0}, "alpha"), ({"alpha": float("nan")}, "alpha"), ({"latent_dim": 0}, "latent_dim"),
                     ({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"),
                     ({"hidden": ()}, "hidden"), ({"hidden": (4, 0)}, "hidden"), ({"seed": -1}, "seed"),
                     ({"threads": 0}, "threads"), ({"min_std": 0.0}, "min_std")]:
        with pytest.raises(ValueError, match=name):
            VAEConfig(**kw)
    # the wrong type is a TypeError (one policy for every int check: pyslice.base.validation)
    for kw, name in [({"batch_size": 1.5}, "batch_size"), ({"hidden": (4, 2.0)}, r"hidden\[1\]"),
                     ({"seed": True}, "seed"), ({"threads": "2"}, "threads")]:
        with pytest.raises(TypeError, match=name):
            VAEConfig(**kw)


def test_bad_input() -> None:
    x = data(n=20)
    with pytest.raises(ValueError, match="samples"):
        train_vae(x[:, :, None], FAST)
    with pytest.raises(ValueError, match="samples"):
        train_vae(x[:1], FAST)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="samples.*finite"):
        train_vae(bad, FAST)
    with pytest.raises(ValueError, match="config"):
        train_vae(x, {"epochs": 1})
    model, _ = train_vae(x, dataclasses.replace(FAST, epochs=1))
    with pytest.raises(ValueError, match="x must have D = 9"):
        encode(model, x[:, :5])
    with pytest.raises(ValueError, match="x.*finite"):
        encode(model, bad)
    with pytest.raises(ValueError, match="model"):
        encode("model", x)


def test_foreach_adam_gives_the_single_tensor_loops_bits(monkeypatch) -> None:
    """train_vae steps Adam with ``foreach=True`` for speed; its results must equal the per-parameter
    loop's bit for bit, so the similarity matrices (and every study result) stay as they were."""
    x = data()
    fast, _ = train_vae(x, FAST)
    plain_adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda params, **kw: plain_adam(params, **{**kw, "foreach": False}))
    plain, _ = train_vae(x, FAST)
    for key, value in fast.state_dict().items():
        assert torch.equal(value, plain.state_dict()[key]), key
