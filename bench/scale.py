"""What one seed of the default study costs as the network grows: 12 (the paper), 21, 57 and 111 cells.

The larger networks are the hexagonal wrap-around layout of ``examples/hex19_wraparound_uma.toml``
with 1, 2 and 3 rings of sites (7, 19 and 37 sites), at the paper's UE density (32 UEs per cell and
slice) and requirement groups. Each runs ``pyslice reproduce --seeds 1`` (default targets: every
cell of the paper network, 12 spread targets elsewhere) on the local executor and prints, per
network, the phase times (summed over the seed's tasks), the wall time, the peak memory of all
processes (PSS) and of the largest, and the per-seed cost (sum of the phases) relative to the
12-cell network's, beside the growth in cells. No pass/fail: the numbers go to docs/performance.md.

    python bench/scale.py [--runs runs/scale] [--only 12,21,57,111] [--workers 2]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from _names import chosen
from pyslice import Scenario
from pyslice.study.executor import LocalExecutor, SerialExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce

ROOT = Path(__file__).resolve().parent.parent
RINGS = {"21": 1, "57": 2, "111": 3}
SIZES = ("12", "21", "57", "111")


def scenario(cells: str) -> Scenario:
    if cells == "12":
        return Scenario.paper()
    hexagon = Scenario.from_toml(ROOT / "examples" / "hex19_wraparound_uma.toml")
    sc = dataclasses.replace(hexagon, name=f"hex{cells}-wrap",
                             layout=dataclasses.replace(hexagon.layout, rings=RINGS[cells]))
    assert sc.n_cells == int(cells), (sc.n_cells, cells)
    return sc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/scale", help="folder of the studies (resumed if there)")
    parser.add_argument("--only", default="all", help=f"comma list of {', '.join(SIZES)} (default all)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for cells in chosen(args.only, SIZES, "--only"):
        out = Path(args.runs) / f"cells{cells}"
        if not (out / "results.json").is_file():
            executor = SerialExecutor() if args.workers == 1 else LocalExecutor(args.workers)
            reproduce(scenario(cells), ReproduceConfig(seeds=1), out, executor=executor, resume=out.exists(),
                      progress=False)
        res = json.loads((out / "results.json").read_text())
        rows.append((cells, res["phase_seconds"], res["wall_seconds"], res.get("peak_memory", {})))
    base = next((sum(p.values()) for c, p, _, _ in rows if c == "12"), None)
    phases = list(rows[0][1]) if rows else []
    print("| cells | " + " | ".join(phases) + " | per seed (s) | × 12 cells (cells ×) | wall (s) | peak all / largest (GB) |")
    print("|---" * (len(phases) + 5) + "|")
    for cells, p, wall, mem in rows:
        total = sum(p.values())
        ratio = f"{total / base:.2f} ({int(cells) / 12:.2f})" if base else "—"
        peak = (f"{mem['all_processes_mb'] / 1e3:.2f} / {mem['largest_process_mb'] / 1e3:.2f}" if mem else "—")
        print(f"| {cells} | " + " | ".join(f"{p[k]:.0f}" for k in phases) + f" | {total:.0f} | {ratio} | "
              f"{wall:.0f} | {peak} |")


if __name__ == "__main__":
    main()
