"""``pyslice compare``: a controlled ablation of two reproduce runs (:mod:`pyslice.study.compare`)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pyslice.base.atomic import write_text
from pyslice.study.compare import compare_studies, format_comparison
from pyslice.study.results import StudyResults


def _load(run: str) -> StudyResults:
    path = Path(run) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: give a finished reproduce run directory")
    return StudyResults.from_dict(json.loads(path.read_text()))


def run(args: argparse.Namespace) -> int:
    reference, variant = _load(args.reference), _load(args.variant)
    table = format_comparison(compare_studies(reference, variant), Path(args.reference).name,
                              Path(args.variant).name)
    print(table)
    if args.out:
        write_text(Path(args.out), table + "\n")
    return 0
