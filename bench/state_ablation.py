"""State ablations (issue 24 item 5): the agents' state and the VAE's weight, one change each, same seeds.

Each variant is the whole study (``pyslice reproduce``, paper schedule) with one change, compared with
the reference run per (seed, target) by :func:`pyslice.study.compare.compare_studies` (t-interval on
the per-seed means of variant − reference, four-state verdict):

=====================  ========================================================================  ==========
variant                what changes                                                              re-runs
=====================  ========================================================================  ==========
``used-prb``           load block of the state: the used PRB share min(x, a), not the needed x  all
``raw-throughput``     throughput block: φ / φ*_max (one constant), not φ / φ* of the cell       all
``vae-alpha-0.01``     VAE KL weight α = 0.01 instead of 0.1                                     similarity
``vae-alpha-0.001``    VAE KL weight α = 0.001 instead of 0.1                                    similarity
=====================  ========================================================================  ==========

The VAE variants keep the reference's baseline, pretraining, transfer and evaluation (copied) and
redo the similarity analysis: their TL rows equal the reference's by construction, and what they
decide is the posterior σ² (Lemma 1's premise σ² < 1e-5), the group separation and what the source
pick buys (read from TL from every source, which does not depend on the pick). Writes
``OUT/state_ablation.md``.

    python bench/state_ablation.py --reference runs/reproduce --out runs/state-ablation [--variants a,b] [--quick]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

from _names import chosen
from pyslice import Scenario
from pyslice.study.compare import compare_studies, format_comparison
from pyslice.study.config import config_from_dict
from pyslice.study.executor import LocalExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce
from pyslice.study.results import StudyResults

#: name: (what changes, train fields, VAE fields, phases kept from the reference)
VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = {
    "used-prb": ("state: used PRB share", {"observation": "used-prb"}, {}, ()),
    "raw-throughput": ("state: raw throughput", {"observation": "raw-throughput"}, {}, ()),
    "vae-alpha-0.01": ("VAE: α = 0.01", {}, {"alpha": 0.01}, ("baseline", "pretrain", "transfer", "evaluate")),
    "vae-alpha-0.001": ("VAE: α = 0.001", {}, {"alpha": 0.001}, ("baseline", "pretrain", "transfer", "evaluate")),
}
VAE_ROWS = ("source pick", "VAE")  # the rows a similarity-only variant decides


def _reference(reference: Path) -> tuple[Scenario, ReproduceConfig]:
    d = json.loads((reference / "reproduce.json").read_text())  # what the run did, as resume reads it
    return Scenario.from_dict(d["scenario"]), config_from_dict(d["config"])


def _copy(reference: Path, out: Path, seeds: int, phases: tuple[str, ...]) -> None:
    for s in range(seeds):
        for phase in phases:
            src, dst = reference / f"seed{s}" / phase, out / f"seed{s}" / phase
            if src.is_dir() and not dst.exists():
                shutil.copytree(src, dst)


def run(reference: Path, out: Path, names: list[str], workers: int, quick: bool) -> str:
    executor = LocalExecutor(workers)
    if not (reference / "results.json").is_file():
        cfg = ReproduceConfig.quick() if quick else ReproduceConfig()
        reproduce(Scenario.paper(), cfg, reference, executor=executor, resume=True, progress=False)
    scenario, base = _reference(reference)
    ref = StudyResults.from_dict(json.loads((reference / "results.json").read_text()))
    sections = []
    for name in names:
        label, train_fields, vae_fields, keep = VARIANTS[name]
        cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, **train_fields),
                                  vae=dataclasses.replace(base.vae, **vae_fields))
        vdir = out / name
        _copy(reference, vdir, base.seeds, keep)
        t0 = time.perf_counter()
        results = StudyResults.from_dict(reproduce(scenario, cfg, vdir, executor=executor, resume=True, progress=False))
        rows = compare_studies(ref, results)
        if keep:
            rows = [r for r in rows if r.quantity.startswith(VAE_ROWS)]
        sections.append(f"### {label} (`{name}`, {time.perf_counter() - t0:.0f} s)\n\n"
                        + format_comparison(rows, "reference", name) + "\n")
        print(sections[-1], flush=True)
    return "\n".join(sections)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default="runs/reproduce", help="a finished default run (made if absent)")
    ap.add_argument("--out", default="runs/state-ablation")
    ap.add_argument("--variants", default="all", help=f"'all' or comma-separated names of: {', '.join(VARIANTS)}")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the short schedule of `reproduce --quick` (smoke test)")
    args = ap.parse_args()
    names = chosen(args.variants, VARIANTS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = run(Path(args.reference), out, names, args.workers, args.quick)
    (out / "state_ablation.md").write_text(md)


if __name__ == "__main__":
    main()
