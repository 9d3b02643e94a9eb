"""Command line: ``pyslice simulate|bench ...``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pyslice.scenario import Scenario

POLICIES = ("equal", "traffic-aware", "max-min")


def load_scenario(spec: str) -> Scenario:
    """``paper`` or a path to a scenario TOML file."""
    if spec == "paper":
        return Scenario.paper()
    path = Path(spec)
    if not path.is_file():
        raise SystemExit(f"error: --scenario must be 'paper' or an existing TOML file, got {spec!r}")
    return Scenario.from_toml(path)


def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pyslice.core_config import site_positions
    from pyslice.plots import plot_kpi_series, plot_network
    from pyslice.simulate import run_policy, write_record

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


def cmd_bench(args: argparse.Namespace) -> int:
    from pyslice.bench import run_benchmarks

    run_benchmarks(quick=args.quick, bench_dir=Path(args.dir) if args.dir else None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyslice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="run the simulator under a fixed share policy, write KPIs")
    sim.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    sim.add_argument("--steps", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--policy", choices=POLICIES, default="traffic-aware")
    sim.add_argument("--out", default="runs/simulate")
    sim.add_argument("--format", choices=("csv", "npz"), default="csv", help="npz is compact for long runs")
    sim.add_argument("--plot", action="store_true", help="also draw network.png and kpis.png")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(func=cmd_simulate)
    bench = sub.add_parser("bench", help="run the benchmarks of bench/ and print their ratios")
    bench.add_argument("--quick", action="store_true", help="small sizes, short timings")
    bench.add_argument("--dir", help="the bench/ folder (default: found from the working directory)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 1) < 1:
        print("error: --steps must be >= 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
