"""What one seed of the default study costs as the network grows: 12 (the paper), 21, 57 and 111 cells.

The larger networks are the hexagonal wrap-around layout of ``examples/hex19_wraparound_uma.toml``
with 1, 2 and 3 rings of sites (7, 19 and 37 sites), at the paper's UE density (32 UEs per cell and
slice) and requirement groups. Each runs ``pyslice reproduce --seeds 1`` (default targets: every
cell of the paper network, 12 spread targets elsewhere) on the local executor and prints, per
network, the phase times (summed over the seed's tasks), the wall time, the peak memory of all
processes (PSS) and of the largest, and the per-seed cost (sum of the phases) relative to the
12-cell network's, beside the growth in cells. No pass/fail: the numbers go to docs/performance.md.

The per-seed cost of one run swings by ±15 % on a shared 2-core machine (three 12-cell runs in a row:
92, 125 and 107 s); ``--repeat N`` interleaves N runs of each size and prints the medians, the CPU
seconds (user + system of the driver and its workers, steadier than summed wall times) and every
repeat's ratio.

    python bench/scale.py [--runs runs/scale] [--only 12,21,57,111] [--workers 2] [--repeat 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
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


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children (the executor's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/scale", help="folder of the studies (resumed if there)")
    parser.add_argument("--only", default="all", help=f"comma list of {', '.join(SIZES)} (default all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every size this many times, interleaved (12, 57, 12, 57, ...), and print "
                             "the medians and the spread of the ratios (the machine is shared and noisy)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    sizes = chosen(args.only, SIZES, "--only")
    rows = []
    for r in range(args.repeat):
        for cells in sizes:
            out = Path(args.runs) / (f"cells{cells}" if args.repeat == 1 else f"cells{cells}_run{r}")
            cpu = None
            if not (out / "results.json").is_file():
                executor = SerialExecutor() if args.workers == 1 else LocalExecutor(args.workers)
                fresh, before = not out.exists(), _cpu_seconds()
                reproduce(scenario(cells), ReproduceConfig(seeds=1), out, executor=executor, resume=out.exists(),
                          progress=False)
                cpu = _cpu_seconds() - before if fresh else None
            res = json.loads((out / "results.json").read_text())
            rows.append((r, cells, res["phase_seconds"], res["wall_seconds"], res.get("peak_memory", {}), cpu))
    phases = list(rows[0][2]) if rows else []
    print("| run | cells | " + " | ".join(phases) + " | per seed (s) | × 12 cells (cells ×) | wall (s) | CPU (s) | "
          "peak all / largest (GB) |")
    print("|---" * (len(phases) + 7) + "|")
    for r, cells, p, wall, mem, cpu in rows:
        total = sum(p.values())
        base = next((sum(q.values()) for rr, c, q, *_ in rows if c == "12" and rr == r), None)
        ratio = f"{total / base:.2f} ({int(cells) / 12:.2f})" if base else "—"
        peak = (f"{mem['all_processes_mb'] / 1e3:.2f} / {mem['largest_process_mb'] / 1e3:.2f}" if mem else "—")
        print(f"| {r} | {cells} | " + " | ".join(f"{p[k]:.0f}" for k in phases) + f" | {total:.0f} | {ratio} | "
              f"{wall:.0f} | {'—' if cpu is None else f'{cpu:.0f}'} | {peak} |")
    if args.repeat > 1 and "12" in sizes:
        _summary(rows, sizes)


def _summary(rows: list, sizes: list[str]) -> None:
    """Medians over the repeats and the per-repeat ratios to the 12-cell run of the same repeat."""
    print("\n| cells | median per seed (s) | median CPU (s) | × 12 cells, medians: per seed / CPU | per-repeat ratios (per seed) |")
    print("|---|---|---|---|---|")
    per_seed = {c: [sum(p.values()) for _, cc, p, *_ in rows if cc == c] for c in sizes}
    cpu = {c: [x for _, cc, *_, x in rows if cc == c and x is not None] for c in sizes}
    for c in sizes:
        ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(per_seed[c], per_seed["12"]))
        median = statistics.median(per_seed[c])
        cpu_median = f"{statistics.median(cpu[c]):.0f}" if cpu[c] else "—"
        cpu_ratio = f"{statistics.median(cpu[c]) / statistics.median(cpu['12']):.2f}" if cpu[c] and cpu["12"] else "—"
        print(f"| {c} | {median:.0f} | {cpu_median} | {median / statistics.median(per_seed['12']):.2f} / {cpu_ratio} | "
              f"{ratios} |")

if __name__ == "__main__":
    main()
