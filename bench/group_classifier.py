"""Can the requirement groups be told apart from default-action samples at all? (issue 12)

Collects x = [s, r] (17 values) under the default action a' (equal shares) for every cell of the
paper scenario, labels each sample with its cell's requirement group (cells 1-3, 7-9 vs 4-6, 10-12),
and fits a logistic regression (standardised features, L2 1e-3, full-batch L-BFGS) on the first
70 % of each cell's samples in time; the accuracy on the last 30 % is the number. Chance is 0.5.
Run for each observation normalisation (`SlicingEnv(observation=...)`) and, as a control, for the
samples without the reward (state only), which tells how much of the signal is in r.

    python bench/group_classifier.py [--samples 500] [--seeds 0,1,2]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from pyslice import Scenario
from pyslice.envs.slicing import OBSERVATIONS
from pyslice.study.config import cell_groups
from pyslice.study.similarity import collect_default_samples


def held_out_accuracy(x: np.ndarray, groups: list[list[int]], train_share: float = 0.7) -> float:
    """x [K, n, D]; labels by group; train on each cell's first samples, test on its last."""
    K, n, D = x.shape
    label = np.zeros(K)
    for g, cells in enumerate(groups):
        label[cells] = g
    cut = int(train_share * n)
    xtr, xte = x[:, :cut].reshape(-1, D), x[:, cut:].reshape(-1, D)
    ytr, yte = np.repeat(label, cut), np.repeat(label, n - cut)
    mean, std = xtr.mean(0), xtr.std(0) + 1e-9
    xtr_t = torch.tensor((xtr - mean) / std, dtype=torch.float64)
    xte_t = torch.tensor((xte - mean) / std, dtype=torch.float64)
    y = torch.tensor(ytr, dtype=torch.float64)
    w = torch.zeros(D + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = xtr_t @ w[:-1] + w[-1]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 1e-3 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (xte_t @ w[:-1] + w[-1]) > 0
    return float((pred.numpy() == (yte > 0.5)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    scenario = Scenario.paper()
    groups = cell_groups(scenario)
    print(f"{'observation':12s} {'inputs':12s} accuracy per seed (chance 0.5)")
    for mode in OBSERVATIONS:
        acc = {"[s, r]": [], "s only": []}
        for seed in (int(s) for s in args.seeds.split(",")):
            x = collect_default_samples(scenario, args.samples, seed=seed + 1000, replicas=4, observation=mode)
            acc["[s, r]"].append(held_out_accuracy(x, groups))
            acc["s only"].append(held_out_accuracy(x[..., :-1], groups))
        for inputs, values in acc.items():
            print(f"{mode:12s} {inputs:12s} " + " ".join(f"{v:.3f}" for v in values)
                  + f"   mean {np.mean(values):.3f}")


if __name__ == "__main__":
    main()
