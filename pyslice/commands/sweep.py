"""``pyslice sweep``: a grid of settings × seeds, each point a study."""
from __future__ import annotations

import argparse

from pyslice.commands.settings_args import executor_from_args, reproduce_objects
from pyslice.sweep import parse_grid, run_sweep


def run(args: argparse.Namespace) -> int:
    if not args.grid:
        raise ValueError("--grid is required: section.key=v1,v2 (repeatable), e.g. --grid td3.actor_lr=5e-4,1e-4")
    grid = parse_grid(args.grid)
    scenario, cfg, settings = reproduce_objects(args)
    summary = run_sweep(settings, grid, args.out, executor=executor_from_args(args), resume=args.resume,
                        progress=not args.quiet)
    print(summary["table"])
    print(f"wrote {args.out}/sweep.csv, summary.md, summary.csv, points.json and one run directory per point")
    return 0
