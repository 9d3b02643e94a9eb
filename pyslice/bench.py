"""``pyslice bench``: run the benchmark scripts of a source checkout's bench/ folder and print one
table of the ratios they measure (each script ends with a JSON line when given ``--json``)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = ("bench_sim.py", "bench_td3.py", "bench_calibration.py")


def find_bench_dir(start: Path | None = None) -> Path:
    """The bench/ folder of the checkout containing ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "bench" / "bench_sim.py").is_file():
            return folder / "bench"
    raise FileNotFoundError("no bench/ folder found: run `pyslice bench` inside a pyslice source checkout")


def run_benchmarks(quick: bool = False, bench_dir: Path | None = None) -> dict[str, float]:
    """Run every benchmark script, echo its output and return the merged ratios."""
    folder = bench_dir or find_bench_dir()
    ratios: dict[str, float] = {}
    for name in BENCHMARKS:
        script = folder / name
        if not script.is_file():
            continue
        cmd = [sys.executable, str(script), "--json"] + (["--quick"] if quick else [])
        print(f"\n##### {name}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            print(proc.stdout + proc.stderr)
            raise RuntimeError(f"{name} failed with exit code {proc.returncode}")
        print("\n".join(lines[:-1]))
        ratios.update(json.loads(lines[-1]))
    width = max((len(k) for k in ratios), default=10)
    print("\n" + "=" * (width + 14))
    print(f"{'measure':<{width}}  {'value':>10}")
    for key, value in ratios.items():
        print(f"{key:<{width}}  {value:>10.2f}")
    return ratios
