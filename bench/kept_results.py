"""The results the README and docs quote, kept in the repository (``docs/data/``) and made by one command.

Runs (or resumes) five studies and keeps their results:

* ``paper`` and ``paper_busy_hour``: the default study (5 seeds × 12 targets) on the paper scenario
  and on its busy hour (``examples/paper_busy_hour.toml``); each ``results.json`` is kept whole and
  compact as ``docs/data/<name>.json``;
* ``paper_14_seeds`` and ``paper_busy_hour_17_seeds``: the lean study (nearest and farthest source
  only, no ablations, no long scratch runs) on the seeds that decide nearest-vs-farthest and TL − DRL
  (docs/results.md, "Deciding with more seeds"); their summaries (``per_seed`` left out) are kept
  together in ``docs/data/more_seeds.json``;
* ``hex19_wraparound_uma``: the default study on the 57-cell wrap-around network, 3 seeds × 12 spread
  targets (about 17 minutes), kept whole;
* ``paper_generalist`` and ``hex19_generalist``: the default studies of ``paper`` and
  ``hex19_wraparound_uma`` with the authors' generalist (``generalist = true``), and
  ``hex19_generalist_10_seeds``: the lean study with the generalist on 10 seeds of the 57-cell
  network (the seeds that decide the fine-tuned generalist against TL; about 40 minutes); their
  generalist comparisons are kept together in ``docs/data/generalist.json``.

It prints the tables (:mod:`pyslice.study.summary`) that README.md and docs/results.md quote;
tests/test_docs_numbers.py checks they still do.

    python bench/kept_results.py [--runs runs] [--only NAME,...]

About 9 minutes per default study and 10-14 per lean one on 2 cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

from _names import chosen
from pyslice import Scenario
from pyslice.base.atomic import write_text
from pyslice.study.executor import LocalExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce
from pyslice.study.results import GeneralistComparison, StudyResults
from pyslice.study.summary import MORE_SEEDS_ROWS, differences_table, generalist_table, headline_table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "data"
LEAN = dict(sweep_targets=(), ablations=False, all_sources=False, sample_efficiency=False)


def _busy_hour() -> Scenario:
    return Scenario.from_toml(ROOT / "examples" / "paper_busy_hour.toml")


def _hex19() -> Scenario:
    return Scenario.from_toml(ROOT / "examples" / "hex19_wraparound_uma.toml")


STUDIES: dict[str, tuple[Callable[[], Scenario], ReproduceConfig]] = {
    "paper": (Scenario.paper, ReproduceConfig()),
    "paper_busy_hour": (_busy_hour, ReproduceConfig()),
    "paper_14_seeds": (Scenario.paper, dataclasses.replace(ReproduceConfig(), seeds=14, **LEAN)),
    "paper_busy_hour_17_seeds": (_busy_hour, dataclasses.replace(ReproduceConfig(), seeds=17, **LEAN)),
    "hex19_wraparound_uma": (_hex19, dataclasses.replace(ReproduceConfig(), seeds=3)),
    "paper_generalist": (Scenario.paper, dataclasses.replace(ReproduceConfig(), generalist=True)),
    "hex19_generalist": (_hex19, dataclasses.replace(ReproduceConfig(), seeds=3, generalist=True)),
    "hex19_generalist_10_seeds": (_hex19, dataclasses.replace(ReproduceConfig(), seeds=10, generalist=True, **LEAN)),
}
#: The runs whose generalist comparison is kept (in generalist.json), by the column they head.
GENERALIST = {"paper_generalist": "paper, 5 seeds × 12 targets", "hex19_generalist": "57 cells, 3 seeds × 12 targets",
              "hex19_generalist_10_seeds": "57 cells, 10 seeds × 12 targets (lean)"}
#: The runs kept as summaries only (in more_seeds.json); the others are kept whole.
SUMMARIES = ("paper_14_seeds", "paper_busy_hour_17_seeds")


def _write(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, separators=(",", ":")) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="where the study runs go (resumed when present)")
    ap.add_argument("--only", default="all", help=f"'all' or comma-separated names of: {', '.join(STUDIES)}")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    names = chosen(args.only, STUDIES, "--only")
    more_path = DATA / "more_seeds.json"
    more = json.loads(more_path.read_text()) if more_path.is_file() else {}
    general_path = DATA / "generalist.json"
    general = json.loads(general_path.read_text()) if general_path.is_file() else {}
    for name in names:
        scenario, cfg = STUDIES[name]
        results = reproduce(scenario(), cfg, Path(args.runs) / name, executor=LocalExecutor(args.workers),
                            resume=True, progress=True)
        if name in GENERALIST:
            general[GENERALIST[name]] = results["generalist"]
        elif name not in SUMMARIES:
            _write(DATA / f"{name}.json", results)
            print(f"\n{name}:\n\n{headline_table(StudyResults.from_dict(results))}\n")
        else:
            more[name] = {**results, "per_seed": []}  # the summaries; the per-(seed, target) detail stays in the run
    if general:
        _write(general_path, general)
        print(generalist_table({n: GeneralistComparison.from_dict(g) for n, g in general.items()}))
    if more:
        _write(more_path, more)
        print(differences_table({n: StudyResults.from_dict(r) for n, r in more.items()}, MORE_SEEDS_ROWS))


if __name__ == "__main__":
    main()
