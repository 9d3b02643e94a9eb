"""A long streamed simulation: steps/s and resident memory over time, and a kill -9 + --resume that
must give the same file as an uninterrupted run.

    python bench/long_run.py [--steps 86400] [--scenario examples/hex19_wraparound_uma.toml]
                             [--format parquet] [--kill-steps 3000] [--out runs/long_run]

Part 1 runs ``--steps`` steps in this process and prints, every tenth of the run, the step, the
elapsed time, the steps/s since the previous row and the process's RSS (and its growth over the RSS
once the first chunk is written, at step 2 x chunk). Part 2 runs ``pyslice simulate`` on
``--kill-steps`` steps twice: once whole, once killed with SIGKILL at a random moment and resumed;
it prints whether the files are equal. No pass/fail on time: the numbers go to docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pyslice import Scenario
from pyslice.base.memory import tree_memory
from pyslice.sim.stream import StreamSpec, simulate_streamed

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """This process's resident set size, MB."""
    now = tree_memory()
    return float("nan") if now is None else now[1] / 1e6


def streamed_day(scenario: Scenario, steps: int, fmt: str, chunk: int, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    rows, every = [], max(chunk, steps // 10)
    state = {"done": 0, "last": time.perf_counter(), "last_step": 0, "start": time.perf_counter()}

    def progress(n: int) -> None:
        state["done"] += n
        t = state["done"]
        if t % every == 0 or t == steps or t == 2 * chunk:
            now = time.perf_counter()
            rate = (t - state["last_step"]) / max(now - state["last"], 1e-9)
            rows.append((t, now - state["start"], rate, rss_mb()))
            state["last"], state["last_step"] = now, t

    result = simulate_streamed(scenario, StreamSpec(steps=steps, fmt=fmt, chunk_steps=chunk), out, progress=progress)
    first = rows[0][3]  # at step 2 x chunk: the first chunk written (Arrow and the writer loaded)
    print(f"{scenario.name}: {steps} steps, {scenario.n_cells} cells, format {fmt}, chunks of {chunk}")
    print("| step | elapsed (s) | steps/s | RSS (MB) | vs after the first chunk |")
    print("|---|---|---|---|---|")
    for t, elapsed, rate, rss in rows:
        print(f"| {t} | {elapsed:.0f} | {rate:.0f} | {rss:.0f} | {100 * (rss - first) / first:+.1f} % |")
    size = sum(p.stat().st_size for p in result.files if p.exists()) / 1e6
    print(f"whole run: {result.summary['steps_per_second']:.0f} steps/s, files {size:.0f} MB")


def kill_and_resume(scenario_arg: str, steps: int, fmt: str, out: Path) -> None:
    base = [sys.executable, "-m", "pyslice.cli", "simulate", "--scenario", scenario_arg, "--steps", str(steps),
            "--format", fmt, "--chunk-steps", str(max(1, steps // 12)), "--quiet"]
    shutil.rmtree(out, ignore_errors=True)
    whole, killed = out / "whole", out / "killed"
    start = time.perf_counter()
    subprocess.run(base + ["--out", str(whole)], check=True, capture_output=True)
    duration = time.perf_counter() - start
    delay = random.uniform(0.3, 0.9) * duration
    proc = subprocess.Popen(base + ["--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(base + ["--out", str(killed), "--resume"], check=True, capture_output=True)
    name = f"kpis.{fmt}"
    same = (whole / name).read_bytes() == (killed / name).read_bytes()
    print(f"kill -9 after {delay:.1f} s of a {duration:.1f} s run, then --resume: {name} "
          f"{'identical to' if same else 'DIFFERS from'} the uninterrupted run's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=86_400)
    parser.add_argument("--scenario", default=str(ROOT / "examples" / "hex19_wraparound_uma.toml"))
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv", "npz"))
    parser.add_argument("--chunk-steps", type=int, default=1000)
    parser.add_argument("--kill-steps", type=int, default=3000, help="steps of the kill/resume check (0: skip)")
    parser.add_argument("--out", default="runs/long_run")
    args = parser.parse_args()
    scenario = Scenario.paper() if args.scenario == "paper" else Scenario.from_toml(args.scenario)
    out = Path(args.out)
    if args.steps:
        streamed_day(scenario, args.steps, args.format, args.chunk_steps, out / "day")
    if args.kill_steps:
        kill_and_resume(args.scenario, args.kill_steps, args.format, out / "kill")


if __name__ == "__main__":
    main()
