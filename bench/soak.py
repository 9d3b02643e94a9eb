"""Soak: a long run of the core, watched for memory growth, non-finite values and lost determinism.

    python bench/soak.py [--scenario paper] [--steps 1000000] [--every 10000] [--replicas 2]
                         [--threads 1,2] [--shared-world] [--out runs/soak/paper.json]

Each entry of ``--threads`` is one run in a fresh process: a SimulatorBatch of ``--replicas``
replicas (seeds 1..R; with ``--shared-world`` all of seed 1, one world whose followers respond on
their own threads) under the traffic-aware policy for ``--steps`` steps. Every ``--every`` steps
a run records the elapsed time, the steps/s since the previous checkpoint, its RSS and a SHA-256 of
every replica's complete state (``get_state``) and last outputs; every step it checks that the
outputs are finite. The runs must give the same hash sequence (two runs, and 1 against 2 threads).
RSS is read after handing glibc's freed heap back to the system (``release_freed_heap``): without it
the allocator keeps the pages of the first state snapshot (on 57 cells a replica's state is 11.5 MB,
made twice over while it is serialised) once its dynamic mmap threshold has risen, and RSS steps up
by about 23 MB at the second checkpoint and stays there, which is not growth of the core. Growth is
reported over the second half of the run (steady state) and from the first tenth on. Exit status 1
on a non-finite value or differing hashes; no pass/fail on time or memory: the numbers go to
docs/performance.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def load_scenario(name: str):
    from pyslice import Scenario
    return Scenario.paper() if name == "paper" else Scenario.from_toml(name)


def state_hash(batch, out: dict[str, np.ndarray]) -> str:
    """SHA-256 over every replica's saved state and the last step's outputs."""
    digest = hashlib.sha256()
    for state in batch.get_state():
        digest.update(state)
    for name in sorted(out):
        digest.update(np.ascontiguousarray(out[name]).tobytes())
    return digest.hexdigest()


def soak_run(scenario_name: str, steps: int, every: int, replicas: int, threads: int, shared: bool) -> dict:
    """One run in this process; returns its checkpoints."""
    from pyslice.base.memory import release_freed_heap, tree_memory
    from pyslice.sim.simulator import SimulatorBatch
    seeds = [1] * replicas if shared else list(range(1, replicas + 1))
    batch = SimulatorBatch(load_scenario(scenario_name), seeds, threads=threads, shared_world=shared)
    floats = None
    rows, start, last_t, last_step = [], time.perf_counter(), time.perf_counter(), 0
    for step in range(1, steps + 1):
        out = batch.step_policy("traffic-aware")
        if floats is None:
            floats = [a for a in out.values() if np.issubdtype(a.dtype, np.floating)]
        for arr in floats:
            if not np.isfinite(arr).all():
                return {"error": f"non-finite outputs at step {step}", "rows": rows}
        if step % every == 0 or step == steps:
            now = time.perf_counter()
            release_freed_heap()
            rss = tree_memory()
            rows.append({"step": step, "elapsed_s": now - start, "steps_per_s": (step - last_step) / (now - last_t),
                         "rss_mb": float("nan") if rss is None else rss[1] / 1e6,
                         "hash": state_hash(batch, out)})
            last_t, last_step = now, step
    return {"rows": rows}


def growth_from(rows: list[dict], fraction: float) -> float:
    """RSS growth, percent, from the checkpoint at ``fraction`` of the run to the end."""
    warm = rows[max(0, round(len(rows) * fraction) - 1)]["rss_mb"]
    return 100.0 * (rows[-1]["rss_mb"] - warm) / warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--threads", default="1,2", help="one run per entry, e.g. 1,2 or 1,1,2")
    parser.add_argument("--shared-world", action="store_true", help="the replicas share one world")
    parser.add_argument("--out", type=Path, help="write every run's checkpoints here (JSON)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:  # one run, in its own process
        print(json.dumps(soak_run(args.scenario, args.steps, args.every, args.replicas, args.child, args.shared_world)))
        return 0
    runs = []
    for threads in (int(t) for t in args.threads.split(",")):
        cmd = [sys.executable, __file__, "--scenario", args.scenario, "--steps", str(args.steps),
               "--every", str(args.every), "--replicas", str(args.replicas), "--child", str(threads)]
        cmd += ["--shared-world"] if args.shared_world else []
        run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        run["threads"] = threads
        runs.append(run)
        rows = run["rows"]
        print(f"\n{args.scenario}: {args.replicas} replicas{' (shared world)' if args.shared_world else ''}, "
              f"{threads} thread(s)")
        print(f"{'step':>9} {'elapsed s':>10} {'steps/s':>9} {'RSS MB':>8}  state hash")
        for row in rows:
            print(f"{row['step']:>9} {row['elapsed_s']:>10.1f} {row['steps_per_s']:>9.0f} {row['rss_mb']:>8.1f}  "
                  f"{row['hash'][:16]}")
        if "error" in run:
            print(f"FAILED: {run['error']}")
        elif rows:
            print(f"RSS growth over the second half: {growth_from(rows, 0.5):+.2f} %; "
                  f"from the first tenth: {growth_from(rows, 0.1):+.2f} %")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=1))
    sequences = [[row["hash"] for row in run["rows"]] for run in runs]
    same = all(seq == sequences[0] for seq in sequences)
    failed = any("error" in run for run in runs)
    print(f"\nhash sequences identical across the {len(runs)} runs: {same}")
    return 0 if same and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
