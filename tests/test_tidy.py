"""Long-format results tables, and run files readable by collaborators (the umask decides)."""
from __future__ import annotations

import csv
import math
import os
import stat

import pytest

from pyslice.base.atomic import current_umask, write_json, write_text
from pyslice.study.tidy import COLUMNS, result_rows, write_rows_csv


def _results():
    eval_ = {"baseline": {"mean_min_throughput_satisfaction": 0.9, "drop_rate_per_slice": [0.1, 0.0]},
             "tl": {"mean_min_throughput_satisfaction": 0.95, "p95_max_slice_delay_ms": float("nan")}}
    return {"per_seed": [
        {"seed": 1, "targets": {3: {"eval": eval_, "tl_gain_over_drl": 0.25, "sources": [1, 2]},
                                0: {"eval": {"drl": {"share_below_0.95": 0.5}}}}},
        {"seed": 0, "targets": {"2": {"eval": {"drl": {"share_below_0.95": 0.25}}, "tl_early_gain_over_drl": None}}},
    ]}


def test_result_rows_hold_every_scalar_once():
    rows = result_rows(_results())
    keys = [(r["seed"], r["cell"], r["policy"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys)) == 8
    assert (1, 0, "drl", "share_below_0.95") == keys[0]  # cells in order within a seed
    value = {k: r["value"] for k, r in zip(keys, rows)}
    assert value[(1, 3, "baseline", "drop_rate_per_slice[0]")] == 0.1
    assert value[(1, 3, "tl", "tl_gain_over_drl")] == 0.25
    assert math.isnan(value[(1, 3, "tl", "p95_max_slice_delay_ms")])
    assert (0, 2, "tl", "tl_early_gain_over_drl") not in value  # None is not a number


def test_rows_csv_round_trip(tmp_path):
    rows = result_rows(_results())
    path = write_rows_csv(tmp_path / "results.csv", rows)
    back = list(csv.DictReader(path.open()))
    assert tuple(back[0]) == COLUMNS and len(back) == len(rows)
    for r, b in zip(rows, back):
        expected = "" if isinstance(r["value"], float) and math.isnan(r["value"]) else r["value"]
        assert b["value"] == ("" if expected == "" else str(expected))
    with pytest.raises(ValueError):
        write_rows_csv(tmp_path / "bad.csv", [{"seed": 0, "nope": 1}])


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        write_text(tmp_path / "a.txt", "x\n")
        write_json(tmp_path / "b.json", {"x": 1})
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives: the reference
    finally:
        os.umask(old)
    for name in ("a.txt", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
