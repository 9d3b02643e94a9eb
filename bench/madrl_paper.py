"""Coordinated MADRL vs the baselines on the paper scenario, over several seeds (issue 3 result).

Per seed: train the 12 TD3 agents with the paper's schedule (3000 + 5500 + 250 steps), then evaluate
the greedy agents and the traffic-aware, equal and max-min policies on the same 250-step window
(steps 8501-8750 after a reset with that seed: the same UE trajectories and traffic for all).

    python bench/madrl_paper.py [--seeds 3] [--workers 2] [--out runs/madrl_paper]
"""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from pyslice import Scenario
from pyslice.learn.td3 import use_one_thread
from pyslice.learn.train import Trainer, TrainConfig, evaluate

POLICIES = ("MADRL (TD3)", "traffic-aware", "equal", "max-min")
METRICS = ("mean_reward", "share_reward_below_0.95", "mean_min_throughput_satisfaction", "mean_max_slice_delay_ms",
           "median_max_slice_delay_ms")


def one_seed(seed: int, out: str) -> dict[str, dict[str, float]]:
    use_one_thread()
    scenario, config = Scenario.paper(), TrainConfig(seed=seed, checkpoint_every=0)
    trainer = Trainer(scenario, config, Path(out) / f"seed{seed}")
    train_summary = trainer.run()
    warmup = config.exploration_steps + config.training_steps
    results = {"MADRL (TD3)": evaluate(scenario, trainer.agent, steps=config.evaluation_steps, seed=seed, warmup=warmup)}
    for policy in POLICIES[1:]:
        results[policy] = evaluate(scenario, policy, steps=config.evaluation_steps, seed=seed, warmup=warmup)
    results["MADRL (TD3)"]["training_eval_phase_reward"] = train_summary["eval_mean_reward"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="runs/madrl_paper")
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        per_seed = list(pool.map(one_seed, range(args.seeds), [args.out] * args.seeds))
    print(f"{'policy':16s}" + "".join(f"{m:>36s}" for m in METRICS))
    table = {}
    for policy in POLICIES:
        row = {m: (float(np.mean([r[policy][m] for r in per_seed])), float(np.std([r[policy][m] for r in per_seed])))
               for m in METRICS}
        table[policy] = row
        print(f"{policy:16s}" + "".join(f"{mu:>27.3f} ± {sd:6.3f}" for mu, sd in row.values()))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps({"per_seed": per_seed, "table": table}, indent=2))


if __name__ == "__main__":
    main()
