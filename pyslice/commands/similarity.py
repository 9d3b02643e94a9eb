"""``pyslice similarity``: samples, VAE and every distance measure for a trained run."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pyslice.base.atomic import write_json
from pyslice.commands.common import run_scenario
from pyslice.learn.train import TrainConfig
from pyslice.learn.vae import VAEConfig
from pyslice.study.similarity import MEASURES, analyse, collect_default_samples, plot_distance_matrix, save_distance_csv


def run(args: argparse.Namespace) -> int:
    run = Path(args.run)
    scenario = run_scenario(run)
    if args.samples < 2:
        raise ValueError(f"--samples must be >= 2, got {args.samples}")

    train_cfg = TrainConfig.from_dict(json.loads((run / "run.json").read_text())["train"])
    samples = collect_default_samples(scenario, args.samples, seed=args.seed, replicas=4,
                                      n_neighbours=train_cfg.n_neighbours, observation=args.observation)
    matrices = analyse(samples, VAEConfig(epochs=args.epochs, seed=args.seed), MEASURES)
    out = run / "similarity"
    ranked = {}
    for measure, D in matrices.items():
        name = measure.replace("-", "_")
        save_distance_csv(D, out / f"distance_{name}.csv")
        plot_distance_matrix(D, out / f"distance_{name}.png", title=f"Inter-agent distance ({measure}), D[source, target]")
        ranked[measure] = {str(k): [int(i) for i in np.argsort(D[:, k], kind="stable") if i != k] for k in range(len(D))}
    write_json(out / "ranked_sources.json", ranked)
    D = matrices[args.measure]
    print(f"nearest sources by {args.measure} (cell labels 1-based):")
    for k in range(len(D)):
        print(f"  target {k + 1:>3}: " + ", ".join(str(i + 1) for i in ranked[args.measure][str(k)][:5]))
    print(f"wrote {out}/distance_*.csv, distance_*.png, ranked_sources.json")
    return 0
