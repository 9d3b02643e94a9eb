"""Controlled ablation of the TD3 learner's open design choices (issue 11; docs/learning.md).

Each variant changes one setting of the learner (one TD3Config field, or the fields one choice
implies) from a base — today's default or the learner before issue 11 ("legacy": softmax head, logit
exploration noise 0.3, target smoothing projected onto the simplex, Dirichlet(1) warm-up) — with the
paper's hyper-parameters and schedule otherwise (lr 5e-4 / 1e-3, batch 32, gamma 0.1, networks 48-24 /
64-24, 3000 + 5500 + 250 steps). Every variant trains the 12 coordinated agents on the paper scenario
with the same seeds; the traffic-aware baseline runs on the same seed and steps (same trajectories and
traffic), and pyslice.learn.learning_curves scores each run:

* collapse windows: 250-step windows after exploration with mean reward < 0.1 while the baseline's
  mean on the same window is > 0.6 (summed over cells) and the number of cells with any;
* cells that reach 95 % of the baseline's 250-step mean within 1500 training steps;
* training-phase mean reward, greedy evaluation mean, cells whose greedy reward is >= the baseline's.

    python bench/learning_ablation.py [--seeds 0,1,2] [--variants all|i,j,...] [--workers 2] [--out DIR]
                                      [--delay-model finite-buffer|fluid-backlog] [--observation log|clipped]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from pyslice import Scenario, SlicingEnv
from pyslice.learn.learning_curves import learning_report
from pyslice.learn.td3 import LEGACY_TD3, TD3Config, use_one_thread
from pyslice.learn.train import Trainer, TrainConfig, read_log

DEFAULT: dict = {}
VARIANTS: dict[str, dict] = {
    "default (tanh-box head, box noise 0.1, box warm-up)": DEFAULT,
    "default, Dirichlet(1) warm-up": {"warmup": "dirichlet"},
    "default, exploration noise 0.3": {"exploration_noise": 0.3},
    "default, softmax head (share noise 0.1 projected)": {"actor_head": "softmax", "exploration": "projected",
                                                          "target_smoothing": "projected"},
    "default, softmax head (logit noise 0.1)": {"actor_head": "softmax", "exploration": "logit",
                                                "target_smoothing": "logit"},
    "default, actor lr 1e-4 (not the paper's)": {"actor_lr": 1e-4},
    "legacy (before issue 11)": LEGACY_TD3,
    "legacy, box-uniform warm-up": {**LEGACY_TD3, "warmup": "box-uniform"},
    "legacy, logit target smoothing": {**LEGACY_TD3, "target_smoothing": "logit"},
    "legacy, projected share noise 0.1": {**LEGACY_TD3, "exploration": "projected", "exploration_noise": 0.1},
    "legacy, actor lr 1e-4 (not the paper's)": {**LEGACY_TD3, "actor_lr": 1e-4},
}


def scenario(delay_model: str | None) -> Scenario:
    sc = Scenario.paper()
    return sc if delay_model is None else dataclasses.replace(
        sc, traffic=dataclasses.replace(sc.traffic, delay_model=delay_model))


def baseline_rewards(seed: int, steps: int, delay_model: str | None) -> np.ndarray:
    env = SlicingEnv(scenario(delay_model), seed=seed)
    env.reset(seed)
    return np.array([env.step_policy("traffic-aware")[1] for _ in range(steps)])


def one(job: tuple[str, int, dict]) -> tuple[str, int, dict]:
    use_one_thread()
    name, seed, base = job
    sc = scenario(base["delay_model"])
    config = TrainConfig(seed=seed, checkpoint_every=0, td3=TD3Config(seed=seed, **VARIANTS[name]),
                         observation=base["observation"])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(sc, config, tmp).run()
        rewards = read_log(Path(tmp) / "train_log.csv")["reward"]
    baseline = np.asarray(base["rewards"])
    report = learning_report(rewards, baseline, config.exploration_steps, config.training_steps)
    report["wall_s"] = time.perf_counter() - t0
    report["window_curve"] = rewards.reshape(-1, 250, rewards.shape[1]).mean(1).tolist()
    return name, seed, report


def summarise(reports: list[dict], reach_limit: int) -> dict[str, float | str]:
    def ms(values):
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}"

    collapse = [sum(r["collapse_windows"]) for r in reports]
    cells_collapsed = [sum(c > 0 for c in r["collapse_windows"]) for r in reports]
    reach = [sum(0 <= s <= reach_limit for s in r["steps_to_95pct_baseline"]) for r in reports]
    ev = [np.mean(r["eval_agent"]) for r in reports]
    at_least = [sum(a >= b for a, b in zip(r["eval_agent"], r["eval_baseline"])) for r in reports]
    return {
        "collapse windows (sum over cells)": f"{np.mean(collapse):.0f} (max {max(collapse)})",
        "cells with a collapse": f"{np.mean(cells_collapsed):.1f} (max {max(cells_collapsed)})",
        f"cells at 95 % of baseline by {reach_limit}": f"{np.mean(reach):.1f} (min {min(reach)})",
        "training-phase mean": ms([r["training_mean"] for r in reports]),
        "worst cell 250-window": ms([r["min_window_mean"] for r in reports]),
        "greedy eval mean": ms(ev),
        "cells >= baseline (greedy)": f"{np.mean(at_least):.1f} (min {min(at_least)})",
        "baseline eval mean": ms([np.mean(r["eval_baseline"]) for r in reports]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default="all", help="'all' or comma-separated indices into the variant list")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="runs/learning_ablation")
    ap.add_argument("--observation", default="clipped", choices=("log", "clipped"),
                    help="the env's state normalisation (TrainConfig.observation)")
    ap.add_argument("--delay-model", default=None, choices=("finite-buffer", "fluid-backlog"),
                    help="the scenario's traffic.delay_model (default: the paper scenario's)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(VARIANTS) if args.variants == "all" else [list(VARIANTS)[int(i)] for i in args.variants.split(",")]
    total = TrainConfig().total_steps
    with ProcessPoolExecutor(args.workers) as pool:
        bases = dict(zip(seeds, pool.map(baseline_rewards, seeds, [total] * len(seeds),
                                         [args.delay_model] * len(seeds))))
        jobs = [(n, s, {"rewards": bases[s].tolist(), "delay_model": args.delay_model,
                         "observation": args.observation}) for n in names for s in seeds]
        results = list(pool.map(one, jobs))
    by_variant: dict[str, list[dict]] = {}
    for name, seed, report in results:
        by_variant.setdefault(name, []).append(report)
        print(f"{name:55s} seed {seed}: collapse {report['collapse_windows']}, reach "
              f"{report['steps_to_95pct_baseline']}, eval {np.mean(report['eval_agent']):.3f}")
    table = {name: summarise(reports, 1500) for name, reports in by_variant.items()}
    cols = list(next(iter(table.values())))
    lines = ["| variant | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |" for name, row in table.items()]
    print("\n" + "\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps({"seeds": seeds, "variants": {n: VARIANTS[n] for n in names},
                                                   "table": table, "runs": [list(r) for r in results]}))
    (out / "ablation.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
