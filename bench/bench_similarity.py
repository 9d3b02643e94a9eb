"""Inter-agent similarity on the paper scenario (paper §V-4, Fig. 7; no pass/fail).

1. Collect 500 default-action samples per cell (equal shares), train one VAE on their union, and
   compute every measure's 12×12 distance matrix; print each matrix, the mean within-group and
   across-group distance for the paper's requirement groups (cells 1,2,3,7,8,9 vs 4,5,6,10,11,12)
   and how often eq. 10 picks a source from the target's own group.
2. Diagnostics of what the samples differ in: per-cell load, users and reward; per-feature
   standardised group differences; the VAE's reconstruction and per-dimension KL (collapse check).
3. Counterfactual: the same run (same seeds, so the same UEs and loads) with every cell given the
   group-1 requirements. If the matrices barely change, the distances are driven by what the two
   runs share (the cells' load), not by the requirements.

Writes ``<out>/similarity_<measure>.csv`` and ``.png`` and ``<out>/similarity.json``.

    python bench/bench_similarity.py [--out results/similarity] [--samples 500] [--epochs 300]
                                     [--replicas 1] [--alpha 0.1] [--alpha-sweep]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from pyslice import Scenario
from pyslice.base.atomic import write_json
from pyslice.study.similarity import (
    LATENT_MEASURES,
    MEASURES,
    PAPER_GROUPS,
    collect_default_samples,
    distance_matrix,
    encode_agents,
    group_separation,
    plot_distance_matrix,
    save_distance_csv,
    source_group_accuracy,
)
from pyslice.learn.vae import VAEConfig, reconstruct, train_vae

FEATURES = [f"{b}{n + 1}" for b in ("tput/req", "load", "users", "coord") for n in range(4)] + ["reward"]


def all_measures(x: np.ndarray, cfg: VAEConfig) -> tuple[dict[str, np.ndarray], dict]:
    t0 = time.perf_counter()
    union = x.reshape(-1, x.shape[-1])
    model, hist = train_vae(union, cfg)
    t_vae = time.perf_counter() - t0
    lat = encode_agents(model, x)
    t1 = time.perf_counter()
    out = {m: distance_matrix(lat if m in LATENT_MEASURES else x, m) for m in MEASURES}
    t_dist = time.perf_counter() - t1
    rec = reconstruct(model, union)
    var = union.var(0)
    r2 = np.where(var > 0, 1 - ((rec - union) ** 2).mean(0) / np.where(var > 0, var, 1), np.nan)
    mu, lv = lat.mu.reshape(-1, cfg.latent_dim), lat.logvar.reshape(-1, cfg.latent_dim)
    kl_dim = 0.5 * (mu ** 2 + np.exp(lv) - 1 - lv).mean(0)
    diag = {"vae_seconds": t_vae, "distance_seconds": t_dist, "final_recon": hist["recon"][-1],
            "final_kl": hist["kl"][-1], "recon_r2_per_feature": dict(zip(FEATURES, r2.round(3).tolist())),
            "kl_per_latent_dim": kl_dim.round(3).tolist(), "posterior_var_mean": np.exp(lv).mean(0).round(4).tolist(),
            "latent_mu_std": mu.std(0).round(3).tolist()}
    return out, diag


def summary(D: np.ndarray) -> dict:
    within, across = group_separation(D, PAPER_GROUPS)
    off = D[~np.eye(len(D), dtype=bool)]
    return {"within": within, "across": across, "across_over_within": across / within,
            "source_in_own_group": source_group_accuracy(D, PAPER_GROUPS),
            "min": float(off.min()), "median": float(np.median(off)), "max": float(off.max())}


def offdiag_corr(a: np.ndarray, b: np.ndarray) -> float:
    mask = ~np.eye(len(a), dtype=bool)
    return float(np.corrcoef(a[mask], b[mask])[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/similarity")
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--alpha", type=float, default=VAEConfig().alpha)
    ap.add_argument("--alpha-sweep", action="store_true", help="also rerun the VAE measures for alpha 0.01 and 1")
    args = ap.parse_args()
    out = Path(args.out)
    np.set_printoptions(precision=3, suppress=True, linewidth=180)
    cfg = VAEConfig(epochs=args.epochs, alpha=args.alpha, seed=args.seed)
    paper = Scenario.paper()

    t0 = time.perf_counter()
    x = collect_default_samples(paper, n_samples=args.samples, seed=args.seed, replicas=args.replicas)
    t_collect = time.perf_counter() - t0
    print(f"samples {x.shape} collected in {t_collect:.2f} s")
    res, diag = all_measures(x, cfg)
    print(f"VAE ({cfg.epochs} epochs, alpha={cfg.alpha}) {diag['vae_seconds']:.1f} s, all distances "
          f"{diag['distance_seconds']:.2f} s; final recon {diag['final_recon']:.3f} (of {x.shape[-1]} "
          f"standardised features), KL {diag['final_kl']:.3f}")
    print("  recon R² per feature:", diag["recon_r2_per_feature"])
    print("  KL per latent dim:", diag["kl_per_latent_dim"], " mean posterior var:", diag["posterior_var_mean"])

    report: dict = {"samples_shape": list(x.shape), "collect_seconds": t_collect, "vae": cfg.to_dict(),
                    "vae_diagnostics": diag, "measures": {}}
    for m, D in res.items():
        save_distance_csv(D, out / f"similarity_{m}.csv")
        plot_distance_matrix(D, out / f"similarity_{m}.png", f"Inter-agent distance ({m}), paper scenario")
        s = summary(D)
        report["measures"][m] = s
        print(f"\n== {m}: within {s['within']:.4g}  across {s['across']:.4g}  ratio {s['across_over_within']:.3f}  "
              f"eq.10 source in own group {s['source_in_own_group']:.2f}")
        print(D)

    print("\n== what differs between cells (means over the samples)")
    users = x[:, :, 8:12].mean((1, 2))
    load = x[:, :, 4:8].sum(-1).mean(1)
    reward = x[:, :, -1].mean(1)
    group = np.zeros(12, dtype=int)
    group[list(PAPER_GROUPS[1])] = 1
    for k in range(12):
        print(f"  cell {k + 1:2d} group {group[k] + 1}: users/G {users[k]:.2f}  Σ load {load[k]:.3f}  "
              f"reward {reward[k]:.3f}  P(r=1) {(x[k, :, -1] > 0.999).mean():.2f}")
    union = x.reshape(-1, x.shape[-1])
    sd = np.where(union.std(0) > 0, union.std(0), 1.0)
    gdiff = x[group == 1].mean((0, 1)) - x[group == 0].mean((0, 1))
    cell_sd = x.mean(1).std(0)
    print("  group-2 minus group-1 mean, in pooled std:", dict(zip(FEATURES, (gdiff / sd).round(2).tolist())))
    print("  std across cells of the cell means, in pooled std:", dict(zip(FEATURES, (cell_sd / sd).round(2).tolist())))
    D = res["vae-kl"]
    mask = ~np.eye(12, dtype=bool)
    dload = np.abs(load[:, None] - load[None, :])
    print(f"  corr(vae-kl D[i,k], |Σload_i − Σload_k|) = {np.corrcoef(D[mask], dload[mask])[0, 1]:.3f}")
    report["cells"] = {"users": users.tolist(), "load": load.tolist(), "reward": reward.tolist()}
    report["corr_vae_kl_vs_load_gap"] = float(np.corrcoef(D[mask], dload[mask])[0, 1])

    print("\n== counterfactual: every cell with the group-1 requirements (same seeds)")
    uniform = dataclasses.replace(paper, requirements=dataclasses.replace(paper.requirements, site_profile=(0,)))
    xu = collect_default_samples(uniform, n_samples=args.samples, seed=args.seed, replicas=args.replicas)
    changed = np.abs(xu - x).max(axis=(0, 1))
    print("  features that change (max |Δ|):", dict(zip(FEATURES, changed.round(3).tolist())))
    res_u, _ = all_measures(xu, cfg)
    report["counterfactual_uniform_requirements"] = {}
    for m in MEASURES:
        c = offdiag_corr(res[m], res_u[m])
        s = summary(res_u[m])
        report["counterfactual_uniform_requirements"][m] = {"corr_with_paper": c, **s}
        print(f"  {m:20s} corr(D_paper, D_uniform) {c:.3f}; uniform-requirements within {s['within']:.4g} "
              f"across {s['across']:.4g} ratio {s['across_over_within']:.3f}")

    if args.alpha_sweep:
        print("\n== alpha sweep (VAE measures)")
        report["alpha_sweep"] = {}
        for alpha in (0.01, 1.0):
            r, d = all_measures(x, dataclasses.replace(cfg, alpha=alpha))
            report["alpha_sweep"][alpha] = {m: summary(r[m]) for m in LATENT_MEASURES}
            for m in LATENT_MEASURES:
                s = summary(r[m])
                print(f"  alpha {alpha}: {m:20s} ratio {s['across_over_within']:.3f}  own-group source "
                      f"{s['source_in_own_group']:.2f}   (KL/dim {d['kl_per_latent_dim']}, "
                      f"recon {d['final_recon']:.2f})")
    write_json(out / "similarity.json", report)
    print(f"\nwrote {out}/similarity_*.csv, *.png, similarity.json")


if __name__ == "__main__":
    main()
