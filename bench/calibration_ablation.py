"""Which modelling choice decides the 3GPP calibration's remaining differences (docs/calibration.md).

Every row runs the six calibration cases with the same drops (seeds) and changes one thing against
the default set-up: the documents' open points (LOS distance of indoor UEs, indoor distance per UE or
per link, O2I shadowing sigma), the geometry's noise convention and the element spacing. Printed:
ours − 3GPP (dB) at the 5/50/95 % points of coupling loss (CL) and geometry (G) per case, and how many
of the 36 checked points are within tolerance (1 dB for 36.873, 1.5 dB for 38.901).

    python bench/calibration_ablation.py [--drops 200] [--seed 1000]
"""
from __future__ import annotations

import argparse
import time

from pyslice.sim.calibration import CASES, CHECKED_PERCENTILES, compare, run_calibration

VARIANTS: dict[str, dict] = {
    "default (the documents' text)": {},
    "indoor P_LOS at d_2D (not d_2D-out)": {"radio": {"indoor_los_distance": "total"}},
    "indoor distance per link": {"radio": {"indoor_distance": "per-link"}},
    "O2I shadowing = outdoor LOS/NLOS sigma": {"radio": {"o2i_shadowing": "outdoor"}},
    "geometry with thermal noise": {"noise": True},
    "element spacing 0.8 wavelengths": {"radio": {"antenna_element_spacing_wl": 0.8}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=200, help="drops per case (570 UEs each)")
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    short = {"coupling_loss_db": "CL", "geometry_db": "G"}
    print(f"{args.drops} drops per case from seed {args.seed}; cells: ours - 3GPP (dB), * = outside tolerance\n")
    for name, variant in VARIANTS.items():
        t0 = time.perf_counter()
        results = run_calibration(list(CASES), args.drops, args.seed, radio_overrides=variant.get("radio"),
                                  noise=variant.get("noise", False))
        results.pop("samples")
        rows = [r for r in compare(results) if r["percentile"] in CHECKED_PERCENTILES]
        within = sum(r["within"] for r in rows)
        print(f"## {name}: {within}/{len(rows)} within tolerance ({time.perf_counter() - t0:.1f} s)")
        print(f"{'case':<16}" + "".join(f"{short[m]}{p:>2}%".rjust(8) for m in short for p in CHECKED_PERCENTILES))
        for case in CASES:
            cells = [r for r in rows if r["case"] == case]
            print(f"{case:<16}" + "".join(f"{r['delta']:+6.1f}{'*' if not r['within'] else ' '} ".rjust(8)
                                         for r in cells))
        print()


if __name__ == "__main__":
    main()
