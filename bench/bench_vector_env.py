"""Vectorised single-cell env benchmark (no pass/fail): env-steps/s of
``gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=8, vectorization_mode="vector_entry_point")``
(8 sub-envs on one SimulatorBatch, replicas on min(8, cpus) C++ threads) against 8 separately
stepped SingleCellEnvs with the same seeds and the same random actions, for others =
"traffic-aware" and "equal", measured in this run; and the ratio.

An env-step is one sub-env advancing one step (a vector step is 8). Timings are the fastest of
several blocks of consecutive calls (the machine is shared), the same estimator on both sides.
Episodes truncate after ``--max-steps`` steps (autoresets included on both sides). The first
steps' rewards of both sides are compared and the result printed.

    python bench/bench_vector_env.py [--quick] [--ues 32] [--json]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # idle BLAS threads spin on a 2-core machine

import argparse
import dataclasses
import json

import gymnasium
import numpy as np

from bench_sim import best_block_time  # the same estimator as the simulator benchmark (bench/ is on the path)
from pyslice import Scenario
from pyslice.envs.adapters import SingleCellEnv

NUM_ENVS = 8
CELL = 3


class Actions:
    """The same cyclic sequence of random Box actions [8, N] for both sides."""

    def __init__(self, n_slices: int, length: int = 256) -> None:
        self.values = np.random.default_rng(0).random((length, NUM_ENVS, n_slices)).astype(np.float32)
        self.t = 0

    def next(self) -> np.ndarray:
        a = self.values[self.t % len(self.values)]
        self.t += 1
        return a


def make_sides(sc: Scenario, others: str, max_steps: int):
    vec = gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=NUM_ENVS, vectorization_mode="vector_entry_point",
                             cell=CELL, others=others, scenario=sc, seed=0, max_steps=max_steps)
    singles = [SingleCellEnv(CELL, others=others, scenario=sc, seed=i, max_steps=max_steps) for i in range(NUM_ENVS)]
    vec.reset()
    for env in singles:
        env.reset()
    return vec, singles


def step_singles(singles: list[SingleCellEnv], actions: np.ndarray, done: list[bool]) -> np.ndarray:
    """One step of each single env (a reset where the last step truncated, as NEXT_STEP autoreset)."""
    rewards = np.zeros(len(singles))
    for i, env in enumerate(singles):
        if done[i]:
            env.reset()
            done[i] = False
        else:
            _, rewards[i], term, trunc, _ = env.step(actions[i])
            done[i] = term or trunc
    return rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing windows")
    parser.add_argument("--ues", type=int, default=32, help="UEs per (cell, slice) group")
    parser.add_argument("--max-steps", type=int, default=100, help="episode length (steps)")
    parser.add_argument("--json", action="store_true", help="end with a JSON line of the ratios")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 6.0
    base = Scenario.paper()
    sc = dataclasses.replace(base, traffic=dataclasses.replace(base.traffic, max_ues_per_slice=args.ues))
    threads = min(NUM_ENVS, os.cpu_count() or 1)
    print(f"paper scenario, {args.ues} UEs per slice per cell, cell {CELL}, {NUM_ENVS} envs, "
          f"{threads} C++ threads, episodes of {args.max_steps} steps")
    print(f"{'others':<14} {'make_vec(8) steps/s':>20} {'8 x SingleCellEnv':>18} {'ratio':>7}  identical")
    ratios: dict[str, float] = {}
    for others in ("traffic-aware", "equal"):
        vec, singles = make_sides(sc, others, args.max_steps)
        check = Actions(sc.n_slices)
        done = [False] * NUM_ENVS
        identical = all(np.array_equal(vec.step(a)[1], step_singles(singles, a, done))
                        for a in (check.next() for _ in range(2 * args.max_steps + 2)))
        vec_actions, single_actions = Actions(sc.n_slices), Actions(sc.n_slices)
        vec_s = best_block_time(lambda: vec.step(vec_actions.next()), seconds)
        single_s = best_block_time(lambda: step_singles(singles, single_actions.next(), done), seconds)
        vec_rate, single_rate = NUM_ENVS / vec_s, NUM_ENVS / single_s
        ratios[f"vector_env_speedup_{others.replace('-', '_')}"] = vec_rate / single_rate
        print(f"{others:<14} {vec_rate:>20.0f} {single_rate:>18.0f} {vec_rate / single_rate:>6.2f}x  {identical}")
        vec.close()
    if args.json:
        print(json.dumps({key: round(value, 3) for key, value in ratios.items()}))


if __name__ == "__main__":
    main()
