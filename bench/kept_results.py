"""The results the README and docs quote, kept in the repository (``docs/data/``) and made by one command.

Runs (or resumes) the default study on the paper scenario and on its busy hour
(``examples/paper_busy_hour.toml``), writes each run's ``results.json`` compactly to
``docs/data/<name>.json`` and prints the headline table (:func:`pyslice.study.summary.headline_table`)
that README.md and docs/results.md quote; tests/test_docs_numbers.py checks they still do.

    python bench/kept_results.py [--runs runs] [--only paper|paper_busy_hour]

About 9 minutes per study on 2 cores.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pyslice import Scenario
from pyslice.base.atomic import write_text
from pyslice.study.executor import LocalExecutor
from pyslice.study.experiment import ReproduceConfig, reproduce
from pyslice.study.results import StudyResults
from pyslice.study.summary import headline_table

ROOT = Path(__file__).resolve().parent.parent
STUDIES = {"paper": lambda: Scenario.paper(),
           "paper_busy_hour": lambda: Scenario.from_toml(ROOT / "examples" / "paper_busy_hour.toml")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="where the study runs go (resumed when present)")
    ap.add_argument("--only", choices=tuple(STUDIES), help="one of the studies")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    for name, scenario in STUDIES.items():
        if args.only and name != args.only:
            continue
        results = reproduce(scenario(), ReproduceConfig(), Path(args.runs) / name, executor=LocalExecutor(args.workers),
                            resume=True, progress=True)
        write_text(ROOT / "docs" / "data" / f"{name}.json", json.dumps(results, separators=(",", ":")) + "\n")
        print(f"\n{name}:\n\n{headline_table(StudyResults.from_dict(results))}\n")


if __name__ == "__main__":
    main()
