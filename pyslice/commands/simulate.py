"""``pyslice simulate``: the simulator under a share policy; KPIs, summary and optional plots."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from pyslice.commands.common import load_scenario
from pyslice.sim.core_config import site_positions
from pyslice.sim.plots import plot_kpi_series, plot_network
from pyslice.sim.simulate import run_policy, write_record


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = Path(args.out)
    with tqdm(total=args.steps, desc=f"simulate {args.policy}", unit="step", disable=args.quiet) as bar:
        record = run_policy(scenario, args.steps, args.seed, args.policy, progress=bar.update)
    written = write_record(record, out, args.format)
    if args.plot:
        st = record.final_state
        sites = site_positions(scenario)
        written.append(plot_network(scenario, sites, st["positions"], st["serving"], st["active"],
                                    out / "network.png", cell_load=record.arrays["cell_load"].mean(axis=0)))
        written.append(plot_kpi_series(record.arrays, record.reward, [s.name for s in scenario.slices],
                                       out / "kpis.png"))
    print(json.dumps(record.summary(), indent=2))
    for p in written:
        print(f"wrote {p}")
    return 0
