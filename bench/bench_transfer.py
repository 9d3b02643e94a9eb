"""Transfer experiment on the paper scenario: sweep over all sources + scratch vs one source.

    python bench/bench_transfer.py --run runs/paper --target 3 [--steps 4000] [--threads 1] [--out DIR]

Pretrains ``--run`` with the paper schedule first if it holds no checkpoint (about a minute), then
times ``run_transfer`` for every other cell as source plus DRL from scratch (one batched call) and
for a single source alone, and prints the target's mean reward early (first 200 steps) and late
(last 200 training steps) for scratch and the best and worst sources, as JSON.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pyslice import Scenario
from pyslice.learn.td3 import use_one_thread
from pyslice.learn.train import CHECKPOINT, Trainer, TrainConfig
from pyslice.study.transfer_runs import run_transfer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="pretrained run directory (created if missing)")
    ap.add_argument("--target", type=int, default=3, help="target cell, 0-based (paper label = target + 1)")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--eval-steps", type=int, default=250)
    ap.add_argument("--strategy", default="integrated")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--exploration-noise", type=float, default=None, help="learners' noise (default: run's)")
    ap.add_argument("--single", action=argparse.BooleanOptionalAction, default=True,
                    help="also time a single-source run (default: yes)")
    ap.add_argument("--out", type=Path, default=None, help="write transfer.npz/json here")
    args = ap.parse_args()
    use_one_thread()
    report: dict = {}
    if not (args.run / CHECKPOINT).is_file():
        t = time.perf_counter()
        report["pretrain_summary"] = Trainer(Scenario.paper(), TrainConfig(seed=0), args.run).run()
        report["pretrain_seconds"] = round(time.perf_counter() - t, 2)

    kw = dict(strategy=args.strategy, steps=args.steps, eval_steps=args.eval_steps, threads=args.threads,
              exploration_noise=args.exploration_noise)
    res = run_transfer(args.run, args.target, "auto", out_dir=args.out, **kw)
    early, late = (0, min(200, args.steps)), (max(args.steps - 200, 0), args.steps)
    m_early, m_late = res.mean_reward(early), res.mean_reward(late)
    S = len(res.sources)
    best, worst = int(np.argmax(m_early[:S])), int(np.argmin(m_early[:S]))
    one = run_transfer(args.run, args.target, [res.sources[best]], include_scratch=False, **kw) if args.single else None
    report.update({
        "target": args.target, "strategy": args.strategy, "steps": args.steps, "threads": args.threads,
        "sources": res.sources,
        "mean_reward_first_200": dict(zip(res.labels, np.round(m_early, 4).tolist())),
        "mean_reward_last_200_training": dict(zip(res.labels, np.round(m_late, 4).tolist())),
        "scratch": {"first_200": round(float(m_early[S]), 4), "last_200": round(float(m_late[S]), 4)},
        "best_source_first_200": {"source": res.sources[best], "first_200": round(float(m_early[best]), 4),
                                  "last_200": round(float(m_late[best]), 4)},
        "worst_source_first_200": {"source": res.sources[worst], "first_200": round(float(m_early[worst]), 4),
                                   "last_200": round(float(m_late[worst]), 4)},
        "eval": res.eval_metrics(),
        "sweep_wall_seconds": res.wall_seconds, "sweep_timing": res.timing,
        "exploration_noise": args.exploration_noise,
    })
    if one is not None:
        report.update({"single_source_wall_seconds": one.wall_seconds, "single_source_timing": one.timing,
                       "single_equals_sweep_row": bool(np.array_equal(one.reward[0], res.reward[best]))})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
