"""``pyslice bench``: the benchmarks of a source checkout's bench/ folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from pyslice.bench import run_benchmarks


def run(args: argparse.Namespace) -> int:
    run_benchmarks(quick=args.quick, bench_dir=Path(args.dir) if args.dir else None)
    return 0
