"""``pyslice verify``: a run's files against the sizes and hashes its done markers recorded."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyslice.base.artifacts import verify_tree


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    n_units, problems = verify_tree(root)
    if n_units == 0:
        print(f"error: {root} holds no finished units (no done.json): nothing to verify", file=sys.stderr)
        return 1
    for unit, problem in problems:
        print(f"MISMATCH {unit.relative_to(root) if unit != root else '.'}: {problem}")
    print(f"checked {n_units} units under {root}: " + ("all files as written" if not problems
                                                        else f"{len(problems)} problem(s)"))
    return 1 if problems else 0
