"""The portable build's dispatched kernels against a -march=native build of the same source.

    python bench/simd_levels.py [--seconds 3] [--rounds 3] [--scenario paper]

Builds (once per source: cached in build/bench-native/<hash of cpp/ and CMakeLists.txt>/) a wheel with -C cmake.define.PYSLICE_NATIVE=ON, then
times the paper-scale step (traffic-aware policy) of: the native build, and the installed portable
build at each SIMD level this CPU supports (PYSLICE_SIMD=...), each in its own process, the
variants interleaved over --rounds rounds. Rates are steps per second of the process's CPU time
(the work is single-threaded), which other jobs on a shared machine disturb far less than wall
time. Prints steps per CPU-second (best round) and the ratio to the native build. No pass/fail: the numbers go to docs/performance.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench-native"

TIMER = r"""
import importlib.util, json, sys, time
native = sys.argv[1]
if native:  # the native build's core in place of the installed one
    spec = importlib.util.spec_from_file_location("pyslice._core", native)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["pyslice._core"] = mod
import pyslice
from pyslice import Scenario
from pyslice.sim.simulator import Simulator
scenario = Scenario.paper() if sys.argv[2] == "paper" else Scenario.from_toml(sys.argv[2])
sim = Simulator(scenario, 1)
for _ in range(50):
    sim.step_policy("traffic-aware")
steps, start = 0, time.process_time()
while time.process_time() - start < float(sys.argv[3]):
    sim.step_policy("traffic-aware")
    steps += 1
info = pyslice.build_info()
print(json.dumps({"rate": steps / (time.process_time() - start), "build": info["build"], "level": info["simd_level"]}))
"""


def source_key() -> str:
    """A hash of the core's sources and build file: a cached native build of other sources is not reused."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "cpp").rglob("*")) + [ROOT / "CMakeLists.txt"]:
        if path.is_file():
            digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def native_core() -> Path:
    """The _core extension of a -march=native wheel of this source (built once per source)."""
    cache = CACHE / source_key()
    found = sorted(cache.glob("pyslice/_core.*"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    print("building a -march=native wheel (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(cache),
                    "-C", "cmake.define.PYSLICE_NATIVE=ON", "-C", f"build-dir={cache / 'build'}", str(ROOT)],
                   check=True)
    wheel = next(cache.glob("pyslice-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith("pyslice/_core."):
                zf.extract(name, cache)
    return sorted(cache.glob("pyslice/_core.*"))[0]


def time_variant(native: str, level: str | None, scenario: str, seconds: float) -> dict:
    env = dict(os.environ)
    env.pop("PYSLICE_SIMD", None)
    if level:
        env["PYSLICE_SIMD"] = level
    out = subprocess.run([sys.executable, "-c", TIMER, native, scenario, str(seconds)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenario", default="paper")
    args = parser.parse_args()
    import pyslice
    cpu_levels = pyslice.build_info()["simd_levels_cpu"]
    compiled = pyslice.build_info()["simd_levels_compiled"]
    variants = {"native (-march=native)": (str(native_core()), None)}
    for level in [lv for lv in compiled if lv in cpu_levels][::-1]:
        variants[f"portable, {level}"] = ("", level)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, (native, level) in variants.items():
            r = time_variant(native, level, args.scenario, args.seconds)
            best[name] = max(best.get(name, 0.0), r["rate"])
    base = best["native (-march=native)"]
    print(f"{args.scenario} scenario, traffic-aware steps, best of {args.rounds} rounds of {args.seconds:g} CPU-s")
    print("| build | steps per CPU-second | vs native |")
    print("|---|---|---|")
    for name, rate in best.items():
        print(f"| {name} | {rate:.0f} | {rate / base:.3f} |")


if __name__ == "__main__":
    main()
