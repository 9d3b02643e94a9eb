"""Calibration and 3-D model benchmarks; ratios measured in this run (no pass/fail).

1. `pyslice calibrate`'s work (six cases, default 50 drops of 570 UEs each) in seconds, and as a share
   of the issue's 60 s budget.
2. One simulator step on the 57-cell 3GPP example (`examples/3gpp_36873_uma.toml`: 3-D path loss,
   indoor UEs, the tilted 3-D antenna; scalar link kernel) against the same layout with the 2-D
   ITU-R UMa model and sector antenna (the SIMD kernel), traffic-aware shares, and the 3-D step with
   a 5 m link update distance.

Timings are the fastest of several blocks (the machine is shared).

    python bench/bench_calibration.py [--quick] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from pyslice import _core
from pyslice.sim.calibration import CASES, run_calibration
from pyslice.sim.core_config import core_config
from pyslice.sim.scenario import Scenario

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "3gpp_36873_uma.toml"


def best_step_ms(scenario: Scenario, steps: int, blocks: int) -> float:
    sim = _core.Simulator(core_config(scenario), 0)
    sim.step(None, 2)
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(steps):
            sim.step(None, 2)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the ratios")
    args = parser.parse_args()
    drops = 10 if args.quick else 50
    t0 = time.perf_counter()
    run_calibration(list(CASES), drops=drops, seed=0)
    calibrate_s = time.perf_counter() - t0
    print(f"calibrate, six cases x {drops} drops: {calibrate_s:.2f} s ({calibrate_s / 60.0:.1%} of a 60 s budget)")

    three_d = Scenario.from_toml(EXAMPLE)
    if args.quick:
        three_d = dataclasses.replace(three_d, traffic=dataclasses.replace(three_d.traffic, max_ues_per_slice=8))
    two_d = dataclasses.replace(three_d, radio=dataclasses.replace(
        three_d.radio, pathloss_model="3gpp-36.814-uma", antenna_model="sector", indoor_ratio=0.0,
        antenna_gain_dbi=14.0, antenna_beamwidth_deg=70.0, antenna_max_attenuation_db=25.0))
    lazy = dataclasses.replace(three_d, radio=dataclasses.replace(three_d.radio, link_update_distance_m=5.0))
    steps, blocks = (2, 2) if args.quick else (5, 4)
    ms = {name: best_step_ms(sc, steps, blocks) for name, sc in (("3d", three_d), ("2d", two_d), ("3d_lazy", lazy))}
    ues = 57 * 4 * three_d.traffic.max_ues_per_slice
    print(f"57 cells, {ues} UEs, one step: 3-D {ms['3d']:.1f} ms, 2-D {ms['2d']:.1f} ms "
          f"(3-D / 2-D = {ms['3d'] / ms['2d']:.1f}x), 3-D with 5 m link updates {ms['3d_lazy']:.1f} ms")
    if args.json:
        print(json.dumps({"calibrate_seconds": calibrate_s, "step_3d_over_2d": ms["3d"] / ms["2d"],
                          "step_3d_lazy_over_3d": ms["3d_lazy"] / ms["3d"]}))


if __name__ == "__main__":
    main()
