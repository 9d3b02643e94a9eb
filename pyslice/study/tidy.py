"""Long-format ("tidy") tables of a study: one row per (seed, cell, policy, metric) value.

``results.csv`` beside every ``results.json`` holds the per-(seed, target cell) numbers the
summaries are computed from, so they load straight into pandas, R or a spreadsheet:

    seed,cell,policy,metric,value
    0,0,baseline,mean_min_throughput_satisfaction,0.912
    ...

Cells are 0-based; policies are the evaluation window's ``baseline``, ``drl`` (the converged
pretrained agents), ``drl_scratch`` (DRL from scratch in the new cell), ``tl`` (integrated TL from
the nearest source) and ``maxmin`` (the max-min reference); ``tl`` also carries the TL gains of the
transfer run and, with the long scratch runs, the steps to reach a share of converged DRL's reward
(``steps_to_0.9``, ``steps_to_0.95``; empty: not reached), which ``drl_scratch_full`` (DRL from
scratch over the whole paper schedule) carries too.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pyslice.base.atomic import write_text
from pyslice.study.methods import GAIN_METRICS
from pyslice.study.results import StudyResults

__all__ = ["COLUMNS", "GAIN_METRICS", "result_rows", "write_rows_csv"]

COLUMNS = ("seed", "cell", "policy", "metric", "value")


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def result_rows(results: StudyResults | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The long-format rows of a study's results (its ``per_seed`` section), from
    :class:`~pyslice.study.results.StudyResults` or its ``results.json`` form."""
    study = results if isinstance(results, StudyResults) else StudyResults.from_dict(results)
    rows: list[dict[str, Any]] = []
    for seed_row in study.per_seed:
        seed = seed_row.seed
        for cell, target in sorted(seed_row.targets.items()):
            for policy, stats in target.eval.items():
                for metric, value in stats.items():
                    if _scalar(value):
                        rows.append({"seed": seed, "cell": cell, "policy": policy, "metric": metric, "value": value})
                    elif isinstance(value, list):  # per-slice values: one metric per slice
                        rows += [{"seed": seed, "cell": cell, "policy": policy, "metric": f"{metric}[{n}]", "value": v}
                                 for n, v in enumerate(value) if _scalar(v)]
            for metric in (*GAIN_METRICS, "tl_gain_normalised", "tl_early_gain_normalised"):
                value = getattr(target, metric)
                if _scalar(value):
                    rows.append({"seed": seed, "cell": cell, "policy": "tl", "metric": metric, "value": value})
            for learner, by_level in (target.steps_to_reach or {}).items():
                policy = "tl" if learner == "tl" else "drl_scratch_full"
                rows += [{"seed": seed, "cell": cell, "policy": policy, "metric": f"steps_to_{level}", "value": steps}
                         for level, steps in by_level.items()]
    return rows


def write_rows_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = COLUMNS) -> Path:
    """Write rows as CSV atomically (NaN as an empty field); returns the path."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    path = Path(path)
    write_text(path, buf.getvalue())
    return path
