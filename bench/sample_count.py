"""How many default-action samples the new target cell needs (issue 12 item 5, paper §IV-B).

For a finished ``pyslice reproduce`` run, redoes each seed's similarity analysis with the target
cells cut to their first n samples (the sources keep ``samples_per_agent``) for several n, and reads
every measure's source pick against the run's all-sources TL sweeps:

* pick in group: share of targets whose eq. 10 source has the target's requirements (chance 5/11);
* Spearman(distance, early TL gain) over the 11 sources of each target (negative is good);
* regret: best early gain − gain of the picked source.

The samples are collected exactly as ``phase_similarity`` does (same seeds), so n = the run's
``target_samples`` reproduces its distances. Prints a table (mean ± std over seeds).

    python bench/sample_count.py RUN_DIR [--counts 25,50,100,200,500] [--measures all|name,...]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from pyslice import Scenario
from pyslice.study.aggregate import spearman
from pyslice.study.config import cell_groups, config_from_dict, study_targets
from pyslice.study.experiment import few_target_samples
from pyslice.study.similarity import MEASURES, analyse_with_latents, collect_default_samples
from pyslice.study.transfer import TransferResult


def analyse_count(run: Path, scenario: Scenario, cfg, seed: int, n: int, measures: list[str]) -> dict[str, dict]:
    """Per measure: pick-in-group, Spearman and regret of each target of ``seed`` with n target samples."""
    targets = study_targets(scenario, cfg)
    groups = cell_groups(scenario)
    samples = collect_default_samples(scenario, cfg.samples_per_agent, seed=seed + 1000, replicas=4,
                                      n_neighbours=cfg.train.n_neighbours, threads=1,
                                      observation=cfg.similarity_observation)
    matrices, _ = analyse_with_latents(few_target_samples(samples, targets, n), replace(cfg.vae, seed=seed), measures)
    out: dict[str, dict] = {m: {"in_group": [], "spearman": [], "regret": []} for m in measures}
    for k in targets:
        sweep = TransferResult.load(run / f"seed{seed}" / "transfer" / f"target{k}" / "integrated")
        gains = sweep.gain_over_scratch(min(cfg.early_window, cfg.tl_steps) or 1)
        for m in measures:
            d = matrices[m][sweep.sources, k]
            picked = int(np.argmin(d))
            src = sweep.sources[picked]
            out[m]["in_group"].append(float(any(src in g and k in g for g in groups)))
            out[m]["spearman"].append(spearman(d, gains))
            out[m]["regret"].append(float(gains.max() - gains[picked]))
    return {m: {key: float(np.mean(v)) for key, v in stats.items()} for m, stats in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a finished `pyslice reproduce` run directory")
    ap.add_argument("--counts", default="25,50,100,200,500")
    ap.add_argument("--measures", default="all")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    run = Path(args.run)
    meta = json.loads((run / "reproduce.json").read_text())
    scenario, cfg = Scenario.from_dict(meta["scenario"]), config_from_dict(meta["config"])
    counts = [int(c) for c in args.counts.split(",")]
    if any(not 2 <= c <= cfg.samples_per_agent for c in counts):
        raise SystemExit(f"--counts must lie in [2, {cfg.samples_per_agent}]")
    measures = list(MEASURES) if args.measures == "all" else args.measures.split(",")
    rows: dict[int, dict[str, dict[str, list[float]]]] = {}
    for n in counts:
        per_seed = [analyse_count(run, scenario, cfg, s, n, measures) for s in range(cfg.seeds)]
        rows[n] = {m: {key: [p[m][key] for p in per_seed] for key in per_seed[0][m]} for m in measures}
        print(f"n = {n} done", flush=True)
    print(f"\n{cfg.seeds} seeds; targets {', '.join(str(k + 1) for k in study_targets(scenario, cfg))}"
          f"; sources keep {cfg.samples_per_agent} samples\n")
    print("| target samples | measure | pick in group | Spearman(distance, gain) | regret |\n|---|---|---|---|---|")
    for n, by_measure in rows.items():
        for m, stats in by_measure.items():
            g, r, q = (np.asarray(stats[key]) for key in ("in_group", "spearman", "regret"))
            print(f"| {n} | {m} | {100 * g.mean():.0f} ± {100 * g.std():.0f} % | {np.nanmean(r):.2f} ± {np.nanstd(r):.2f} "
                  f"| {100 * q.mean():.1f} ± {100 * q.std():.1f} % |")
    if args.json:
        Path(args.json).write_text(json.dumps({str(n): v for n, v in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
