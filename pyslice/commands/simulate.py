"""``pyslice simulate``: the simulator under a share policy, streamed to disk chunk by chunk; KPIs,
per-UE samples, summary and optional plots."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pyslice.commands.common import load_scenario
from pyslice.sim.core_config import site_positions
from pyslice.sim.stream import StreamSpec, simulate_streamed


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = Path(args.out)
    spec = StreamSpec(steps=args.steps, seed=args.seed, policy=args.policy, replicas=args.replicas,
                      chunk_steps=args.chunk_steps, ue_every=args.ue_every, fmt=args.format, threads=args.threads)
    with tqdm(total=spec.steps, desc=f"simulate {args.policy}", unit="step", disable=args.quiet) as bar:
        result = simulate_streamed(scenario, spec, out, resume=args.resume, progress=bar.update, series=args.plot)
    written = list(result.files)
    if args.plot and result.final_state is not None:
        from pyslice.sim.plots import plot_kpi_series, plot_network  # matplotlib only when asked

        st, series = result.final_state, result.series
        written.append(plot_network(scenario, site_positions(scenario), st["positions"], st["serving"], st["active"],
                                    out / "network.png",
                                    cell_load=np.asarray(result.summary["mean_cell_load_per_cell"])))
        written.append(plot_kpi_series(series, [s.name for s in scenario.slices], out / "kpis.png"))
    summary = {k: v for k, v in result.summary.items() if k != "run"}
    print(json.dumps(summary, indent=2))
    for p in written:
        print(f"wrote {p}")
    return 0
