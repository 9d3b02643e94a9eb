"""Model-fidelity ablation (issue 12): each modelling choice against the one it replaced, same seeds.

Runs the full study (``pyslice reproduce``) once with today's defaults, then one variant per choice,
each changing one thing back to its old value:

==========================  ==============================================================  ========
variant                     what changes (old value)                                          re-runs
==========================  ==============================================================  ========
``fluid-backlog``           delay model: unbounded fluid backlog carried over steps (item 1)  all
``vae-clipped-state``       the VAE's samples use the agents' clipped state (item 2)          similarity
``network-roaming``         UEs roam network-wide, demands calibrated for it (item 3)         all
``source-eq8``              sources picked by eq. 8 (exact KL) instead of eqs. 7 + 9 (item 4)  similarity
``vae-alpha-1``             VAE KL weight α = 1 instead of 0.1 (item 4)                       similarity
``vae-raw-inputs``          VAE inputs not standardised (item 4)                              similarity
``target-500-samples``      the target cell has as many samples as the sources (item 5)       similarity
``relabelled-instances``    transferred instances relabelled under the target's needs (6)     transfer
==========================  ==============================================================  ========

Variants that change only the analysis reuse the default run's baseline, pretraining and transfer
sweeps (every source is in the sweep, so any pick is read from it): they copy the default run and
redo the named phases. ``network-roaming`` restores the whole pre-issue-12 traffic model
(network-wide roaming with the demands calibrated for it, 2/3 of today's), because with today's
demands it would also change the load. Writes ``OUT/fidelity.md`` and ``OUT/fidelity.json`` and appends the table to the default run's
``report.md``.

    python bench/fidelity_ablation.py --out runs/fidelity [--seeds 3] [--variants all|name,...] [--quick]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from _names import chosen
from pyslice import Scenario
from pyslice.study.executor import LocalExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce

RERUN = {"similarity": ("similarity",), "transfer": ("transfer", "evaluate")}


def _network_roaming(sc: Scenario) -> Scenario:
    slices = tuple(dataclasses.replace(s, demand_bps=s.demand_bps * 2 / 3) for s in sc.slices)
    return dataclasses.replace(sc, slices=slices, traffic=dataclasses.replace(sc.traffic, roaming="network"))


def _fluid(sc: Scenario) -> Scenario:
    return dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, delay_model="fluid-backlog"))


Variant = tuple[str, Callable[[Scenario], Scenario] | None, dict[str, Any], str | None]
VARIANTS: dict[str, Variant] = {
    # name: (what changes, scenario change, ReproduceConfig fields, phases redone from the default run)
    "fluid-backlog": ("delay: fluid backlog (item 1)", _fluid, {}, None),
    "vae-clipped-state": ("VAE samples: clipped state (item 2)", None, {"similarity_observation": "clipped"}, "similarity"),
    "network-roaming": ("traffic: network-wide roaming (item 3)", _network_roaming, {}, None),
    "source-eq8": ("source pick: eq. 8 (item 4)", None, {"source_measure": "vae-kl"}, "similarity"),
    "vae-alpha-1": ("VAE: α = 1 (item 4)", None, {"vae": "alpha=1"}, "similarity"),
    "vae-raw-inputs": ("VAE: inputs not standardised (item 4)", None, {"vae": "raw"}, "similarity"),
    "target-500-samples": ("target samples: 500 (item 5)", None, {"target_samples": None}, "similarity"),
    "relabelled-instances": ("instances relabelled to the target (item 6)", None, {"instance_rewards": "target"},
                             "transfer"),
}


def _config(base: ReproduceConfig, fields: dict[str, Any]) -> ReproduceConfig:
    fields = dict(fields)
    if fields.get("vae") == "alpha=1":
        fields["vae"] = dataclasses.replace(base.vae, alpha=1.0)
    elif fields.get("vae") == "raw":
        fields["vae"] = dataclasses.replace(base.vae, standardise=False)
    return dataclasses.replace(base, **fields)


def _copy_default(default_dir: Path, out: Path, seeds: int, redo: str) -> None:
    """The default run's phases a variant keeps; the ones it redoes are left out."""
    out.mkdir(parents=True, exist_ok=True)
    for s in range(seeds):
        for phase in ("baseline", "pretrain", "similarity", "transfer", "evaluate"):
            src, dst = default_dir / f"seed{s}" / phase, out / f"seed{s}" / phase
            if phase not in RERUN[redo] and src.is_dir() and not dst.exists():
                shutil.copytree(src, dst)


def run(out: Path, seeds: int, names: list[str], workers: int, quick: bool = False) -> dict[str, Any]:
    scenario = Scenario.paper()
    base = dataclasses.replace(ReproduceConfig.quick() if quick else ReproduceConfig(), seeds=seeds)
    executor = LocalExecutor(workers)
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    results["default"] = reproduce(scenario, base, out / "default", executor=executor, resume=True, progress=False)
    print(f"default done ({time.perf_counter() - t0:.0f} s)", flush=True)
    for name in names:
        label, sc_change, fields, redo = VARIANTS[name]
        sc = sc_change(scenario) if sc_change else scenario
        cfg = _config(base, fields)
        vdir = out / name
        if redo is not None:
            _copy_default(out / "default", vdir, seeds, redo)
        t0 = time.perf_counter()
        results[name] = reproduce(sc, cfg, vdir, executor=executor, resume=True, progress=False)
        print(f"{name} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    return results


def _fmt(stat: dict[str, float] | None, pct: bool = False, digits: int = 3) -> str:
    if stat is None:
        return "—"
    if pct:
        return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f} %"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def table(results: dict[str, Any]) -> str:
    """Markdown: the headline numbers and each claim's verdict per variant."""
    claims = [c["claim"] for c in results["default"]["claims"]]
    short = ["TL > DRL > baseline (satisfaction)", "TL < DRL < baseline (share < 0.95)",
             "TL < DRL < baseline (delay)", "TL starts far higher", "new-cell DRL ≥ 0.8 × baseline",
             "TL gain at equal steps", "nearest > farthest early", "VAE groups the cells"]
    lines = ["| variant | satisfaction: baseline / DRL / TL | steps < 0.95: baseline / DRL / TL | max-slice delay "
             "mean / p95 (ms): baseline, DRL, TL | eq. 10 pick in group (targets / all cells) | nearest vs farthest, "
             "early | " + " | ".join(short) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(short)]
    for name, r in results.items():
        t = r["table"]
        sat = " / ".join(f"{t['mean_min_throughput_satisfaction'][p]['mean']:.3f}" for p in ("baseline", "drl", "tl"))
        low = " / ".join(f"{100 * t['share_below_0.95'][p]['mean']:.1f} %" for p in ("baseline", "drl", "tl"))
        delay = ", ".join(f"{t['mean_max_slice_delay_ms'][p]['mean']:.2f} / {t['p95_max_slice_delay_ms'][p]['mean']:.1f}"
                          for p in ("baseline", "drl", "tl"))
        m = r["ablation_measures"][r.get("source_measure", "vae-kl-equal-sigma")]
        pick = f"{100 * m['picked_in_group']['mean']:.0f} % / {100 * m['pick_accuracy_all_cells']['mean']:.0f} %"
        near = _fmt(t["nearest_vs_farthest_early_gain"], pct=True)
        verdicts = {c["claim"]: c.get("verdict", "holds" if c["holds"] else "does not hold") for c in r["claims"]}
        cells = [verdicts.get(c, "—") for c in claims]
        label = "default (today)" if name == "default" else VARIANTS[name][0]
        lines.append(f"| {label} | {sat} | {low} | {delay} | {pick} | {near} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/fidelity")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", default="all", help=f"'all' or comma-separated names of: {', '.join(VARIANTS)}")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the short schedule of `reproduce --quick` (smoke test)")
    ap.add_argument("--table-only", action="store_true", help="only rebuild the table from finished runs in --out")
    args = ap.parse_args()
    names = chosen(args.variants, VARIANTS)
    out = Path(args.out)
    if args.table_only:
        results = {n: json.loads((out / n / "results.json").read_text()) for n in ["default", *names]
                   if (out / n / "results.json").is_file()}
    else:
        results = run(out, args.seeds, names, args.workers, args.quick)
    for name, r in results.items():
        r["source_measure"] = (VARIANTS[name][2].get("source_measure") if name in VARIANTS else None) or "vae-kl-equal-sigma"
    md = table(results)
    (out / "fidelity.md").write_text(md)
    report = out / "default" / "report.md"
    text = report.read_text()
    heading = "## Ablation: model fidelity (issue 12)"
    text = text.split("\n" + heading)[0].rstrip("\n") + "\n\n"
    report.write_text(text + heading + "\n\nEach row changes one modelling choice back to its old value (same "
                      "seeds; `bench/fidelity_ablation.py`).\n\n" + md)
    (out / "fidelity.json").write_text(json.dumps({n: {k: r[k] for k in ("table", "claims", "ablation_measures")}
                                                   for n, r in results.items()}, indent=1))
    print(md)


if __name__ == "__main__":
    main()
