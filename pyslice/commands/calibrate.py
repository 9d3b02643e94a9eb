"""``pyslice calibrate``: the 3GPP calibration of the radio model (docs/calibration.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from pyslice.base.atomic import write_json
from pyslice.commands.common import radio_overrides
from pyslice.sim.calibration import CASES, TOLERANCE_DB, calibration_scenario, compare, reference, run_calibration, scenario_samples, table_lines
from pyslice.sim.plots import plot_calibration_case
from pyslice.sim.scenario import Scenario


def run(args: argparse.Namespace) -> int:
    cases = args.case or list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise ValueError(f"--case must be among {', '.join(CASES)}, got {', '.join(unknown)}")
    if args.drops < 1:
        raise ValueError(f"--drops must be >= 1, got {args.drops}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    overrides = radio_overrides(args.radio)
    for case in cases:  # every set-up validated before anything runs or is written
        calibration_scenario(CASES[case], radio_overrides=overrides)
    with tqdm(total=len(cases) * args.drops, desc="calibrate", unit="drop", disable=args.quiet) as bar:
        results = run_calibration(cases, args.drops, args.seed, progress=lambda case, drop: bar.update(),
                                  radio_overrides=overrides, noise=args.noise)
    out = Path(args.out)
    samples = results.pop("samples")
    rows = compare(results)
    write_json(out / "calibration.json", results)
    written = [out / "calibration.json"]
    ref = reference()["cases"]
    for case in cases:
        written.append(plot_calibration_case(f"3GPP calibration {case}", samples[case], ref[case], TOLERANCE_DB[case],
                                             out / f"calibration_{case}.png"))
    paper = scenario_samples(Scenario.paper(), min(args.drops, 20), args.seed)
    written.append(plot_calibration_case("paper scenario (WINNER+ C2, 4 sites) vs 3GPP 36.873 3D-UMa K = M = 1",
                                         paper, ref["36.873-uma-k1"], TOLERANCE_DB["36.873-uma-k1"],
                                         out / "paper_vs_3gpp.png", label="paper scenario"))
    print("\n".join(table_lines(rows)))
    checked = [r for r in rows if r["within"] is not None]
    print(f"{sum(r['within'] for r in checked)}/{len(checked)} checked points within tolerance "
          "(1 dB for 36.873, 1.5 dB for 38.901, at 5/50/95 %)")
    for p in written:
        print(f"wrote {p}")
    return 0
