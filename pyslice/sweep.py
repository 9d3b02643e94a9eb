"""``pyslice sweep``: a grid of settings × seeds, each point a normal ``reproduce`` run directory.

    pyslice sweep --grid td3.actor_lr=5e-4,1e-4 --grid reproduce.tl_steps=1000,4000 --seeds 3 --out runs/lr

runs the product of the grid's values (here 4 points), every point with the command's other
settings (``--quick``, ``--set``, ``--config``), all points' tasks together through one executor
(:func:`pyslice.study.experiment.reproduce_many`). The sweep directory holds ``point00/ …`` (each a
complete study: results.json, results.csv, report.md, config.toml), ``points.json`` (the settings
of each point), ``sweep.csv`` (every point's results.csv in one long table, with the grid's
settings as columns) and ``summary.md``/``summary.csv`` (per point, policy and metric: the mean
over (seed, cell) and its 95 % t-interval on the per-seed means, :mod:`pyslice.base.statistics`).
"""
from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyslice.base.atomic import write_json, write_text
from pyslice.base.runlock import RunLock
from pyslice.base.statistics import seed_mean_interval
from pyslice.settings import Settings, parse_value
from pyslice.study.experiment import reproduce_many
from pyslice.study.methods import WINDOW_METRICS
from pyslice.study.tidy import COLUMNS, result_rows, write_rows_csv

__all__ = ["SUMMARY_METRICS", "parse_grid", "run_sweep", "split_values"]

#: Metrics of the summary table (the full set is in sweep.csv).
SUMMARY_METRICS = WINDOW_METRICS[:3]  # satisfaction, share below 0.95, mean max-slice delay


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` at commas outside brackets and quotes (``[48,24],[64,32]`` is two values)."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["td3.actor_lr=5e-4,1e-4", ...]`` → ``[("td3.actor_lr", [5e-4, 1e-4]), ...]``."""
    grid: list[tuple[str, list[Any]]] = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or len(key.split(".")) < 2 or not all(key.split(".")):
            raise ValueError(f"--grid expects section.key=v1,v2,..., got {item!r}")
        if any(key == k for k, _ in grid):
            raise ValueError(f"--grid names {key!r} twice; give all its values in one --grid")
        texts = split_values(text)
        if not all(texts):
            raise ValueError(f"--grid {item!r}: empty value (values are comma-separated TOML literals)")
        values = [parse_value(t) for t in texts]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise ValueError(f"--grid {item!r}: repeated values")
        grid.append((key, values))
    return grid


def _points(grid: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(values for _, values in grid))]


def run_sweep(settings: Settings, grid: list[tuple[str, list[Any]]], out: str | Path, executor: Any = None,
              resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run every grid point (checked, all of them, before anything runs) and write the sweep's
    tables. ``settings``: the reproduce settings every point starts from
    (:func:`pyslice.settings.reproduce_settings`). Returns ``{"points", "table"}``."""
    out = Path(out)
    if not grid:
        raise ValueError("--grid is required: section.key=v1,v2 (repeatable)")
    points = _points(grid)
    runs = []
    for i, point in enumerate(points):
        s = copy.deepcopy(settings)
        objects = s.update([(tuple(key.split(".")), value, f"--grid {key}={value!r}") for key, value in point.items()],
                           "--grid point " + ", ".join(f"{k}={v!r}" for k, v in point.items()))
        runs.append((objects["scenario"], objects["reproduce"], out / f"point{i:02d}"))

    with RunLock(out):  # one writer per sweep directory
        marker = out / "points.json"
        listing = {f"point{i:02d}": point for i, point in enumerate(points)}
        if marker.exists():
            if not resume:
                raise FileExistsError(f"{out} already holds a sweep; pass --resume to continue it or choose another --out")
            if json.loads(marker.read_text()) != json.loads(json.dumps(listing)):
                raise ValueError(f"{out} was started with another grid; resume with the same --grid")
        write_json(marker, listing)
        write_text(out / "config.toml", settings.toml())
        results = reproduce_many(runs, executor, resume=resume, progress=progress)

        keys = [k for k, _ in grid]
        rows = []
        for (name, point), res in zip(listing.items(), results):
            values = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in point.items()}
            rows += [{"point": name, **values, **row} for row in result_rows(res)]
        write_rows_csv(out / "sweep.csv", rows, ("point", *keys, *COLUMNS))
        summary_rows = _summary(rows, listing, keys)
        write_rows_csv(out / "summary.csv", summary_rows, ("point", *keys, "policy", "metric", "mean", "lo", "hi",
                                                          "n_seeds", "n"))
        table = _table(summary_rows, keys)
        write_text(out / "summary.md", "# Sweep summary\n\nMean over (seed, target cell) with the 95 % "
                   "t-interval on the per-seed means (none with one seed).\n\n" + table + "\n")
        return {"points": listing, "table": table}


def _summary(rows: list[dict[str, Any]], listing: dict[str, dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:

    out = []
    for name in listing:
        mine = [r for r in rows if r["point"] == name]
        for policy in dict.fromkeys(r["policy"] for r in mine):
            for metric in SUMMARY_METRICS:
                by_seed: dict[int, list[float]] = {}
                for r in mine:
                    if r["policy"] == policy and r["metric"] == metric:
                        by_seed.setdefault(r["seed"], []).append(float(r["value"]))
                if not by_seed:
                    continue
                try:
                    ci = seed_mean_interval(by_seed)
                except ValueError:  # no finite value
                    continue
                out.append({"point": name, **{k: mine[0][k] for k in keys}, "policy": policy, "metric": metric,
                            **{k: ci[k] for k in ("mean", "lo", "hi", "n_seeds", "n")}})
    return out


def _table(summary: list[dict[str, Any]], keys: list[str]) -> str:
    head = ["point", *keys, "policy", *SUMMARY_METRICS]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in summary:
        row = cells.setdefault((r["point"], r["policy"]), {"point": r["point"], "policy": r["policy"],
                                                             **{k: str(r[k]) for k in keys}})
        row[r["metric"]] = f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.get(h, "") for h in head) + " |" for row in cells.values()]
    return "\n".join(lines)
