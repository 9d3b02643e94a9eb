"""``pyslice reproduce``: the paper's whole study."""
from __future__ import annotations

import argparse
from typing import Any

from pyslice.commands.settings_args import executor_from_args, reproduce_objects, tensorboard_dir
from pyslice.study.experiment import reproduce
from pyslice.study.results import StudyResults


def run(args: argparse.Namespace) -> int:
    scenario, cfg, _ = reproduce_objects(args)
    tb_dir = tensorboard_dir(args)
    executor = executor_from_args(args)
    results = reproduce(scenario, cfg, args.out, executor=executor, resume=args.resume, progress=not args.quiet,
                        tensorboard=tb_dir)
    _print_claims(results)
    print(f"wrote {args.out}/report.md, results.json, results.csv, config.toml and figures/")
    return 0


def _print_claims(results: dict[str, Any]) -> None:
    study = StudyResults.from_dict(results)
    for claim in study.claims:
        print(f"[{claim.verdict}] {claim.claim}")
    print("phase wall time (s, summed over seeds): " +
          ", ".join(f"{k} {v:.1f}" for k, v in study.phase_seconds.items()) + f"; total {study.wall_seconds:.1f}")
    if study.peak_memory:
        print(f"peak memory: {study.peak_memory['all_processes_mb'] / 1e3:.2f} GB all processes (PSS), "
              f"{study.peak_memory['largest_process_mb'] / 1e3:.2f} GB the largest (RSS)")
