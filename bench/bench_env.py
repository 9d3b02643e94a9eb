"""Environment overhead benchmark (no pass/fail): microseconds per step of the raw simulator and of
each environment layer on the same scenario, measured in this run.

1. SimulatorBatch.step (R replicas, equal shares) vs SlicingEnv.step (adds validation, eq. 2, the
   normalised observation and info copies), for R = 1 and R = 8.
2. The PettingZoo ParallelEnv and the Gymnasium single-cell env (one replica, Box actions).
3. The cost of building an env (neighbour coupling matrix included).

    python bench/bench_env.py [--quick] [--ues 32]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import time

import numpy as np

from pyslice import Scenario, SimulatorBatch
from pyslice.envs.slicing import SlicingEnv


def per_step(fn, seconds: float) -> float:
    """Mean microseconds per call of ``fn`` over at least ``seconds`` (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 20:
            return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing windows")
    parser.add_argument("--ues", type=int, default=32, help="UEs per (cell, slice) group")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 2.0
    base = Scenario.paper()
    sc = dataclasses.replace(base, traffic=dataclasses.replace(base.traffic, max_ues_per_slice=args.ues))
    k, n = 3 * sc.layout.n_sites, sc.n_slices
    results: dict[str, float] = {}
    for r in (1, 8):
        threads = min(r, os.cpu_count() or 1)
        shares = np.full((r, k, n), 1.0 / n)
        sim = SimulatorBatch(sc, list(range(r)), threads=threads)
        sim.reset()
        results[f"simulator_batch_R{r}_us"] = per_step(lambda: sim.step(shares), seconds)
        env = SlicingEnv(sc, seed=0, replicas=r, threads=threads)
        env.reset()
        actions = shares[0] if r == 1 else shares
        results[f"slicing_env_R{r}_us"] = per_step(lambda: env.step(actions), seconds)
        results[f"overhead_R{r}_us"] = results[f"slicing_env_R{r}_us"] - results[f"simulator_batch_R{r}_us"]

    par = SlicingEnv.parallel_env(sc, max_steps=10**9)
    par.reset(seed=0)
    box = {a: np.full(n, 0.5, np.float32) for a in par.possible_agents}
    results["parallel_env_us"] = per_step(lambda: par.step(box), seconds)
    single = SlicingEnv.single_cell_env(0, "traffic-aware", sc, max_steps=10**9)
    single.reset(seed=0)
    action = np.full(n, 0.5, np.float32)
    results["single_cell_env_us"] = per_step(lambda: single.step(action), seconds)
    start = time.perf_counter()
    SlicingEnv(sc, seed=0)
    results["construct_env_ms"] = (time.perf_counter() - start) * 1e3
    print(json.dumps({"scenario": f"paper, {args.ues} UEs per slice per cell", "K": k, "N": n,
                      **{key: round(v, 1) for key, v in results.items()}}, indent=2))


if __name__ == "__main__":
    main()
