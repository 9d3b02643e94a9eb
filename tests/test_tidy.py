"""Long-format results tables, and run files readable by collaborators (the umask decides)."""
from __future__ import annotations

import csv
import dataclasses
import math
import os
import stat

import pytest

from pyslice.base.atomic import current_umask, write_json, write_text
from pyslice.study.methods import GAIN_METRICS, METHODS
from pyslice.study.tidy import COLUMNS, result_rows, write_rows_csv

from helpers import study_results, target_result, window


def _results():
    base = dataclasses.replace(window(0.9), drop_rate_per_slice=[0.1, 0.0], mean_drop_rate=0.05)
    tl = dataclasses.replace(window(0.95), p95_max_slice_delay_ms=float("nan"))
    t3 = target_result([1, 2], [0.1, 0.2], eval={"baseline": base, "drl": window(), "drl_scratch": window(), "tl": tl,
                                                     "maxmin": window()},
                       tl_gain_over_drl=0.25)
    return study_results({1: {3: t3, 0: target_result([1], [0.1])}, 0: {2: target_result([4], [0.3])}})


def test_result_rows_hold_every_scalar_once():
    study = _results()
    rows = result_rows(study)
    assert result_rows(study.to_dict()) == rows  # the JSON form gives the same rows
    keys = [(r["seed"], r["cell"], r["policy"], r["metric"]) for r in rows]
    # per target: 5 window statistics of every method and the 8 TL gains; cell 3's baseline adds its drops
    assert len(keys) == len(set(keys)) == 3 * (5 * len(METHODS) + len(GAIN_METRICS)) + 3
    assert keys[0] == (1, 0, "baseline", "mean_min_throughput_satisfaction")  # cells in order within a seed
    value = {k: r["value"] for k, r in zip(keys, rows)}
    assert value[(1, 3, "baseline", "drop_rate_per_slice[0]")] == 0.1
    assert value[(1, 3, "baseline", "mean_drop_rate")] == 0.05
    assert value[(1, 3, "tl", "tl_gain_over_drl")] == 0.25
    assert value[(1, 3, "tl", "share_below_0.95")] == 0.0
    assert math.isnan(value[(1, 3, "tl", "p95_max_slice_delay_ms")])
    assert (1, 0, "baseline", "mean_drop_rate") not in value  # absent, not NaN


def test_sample_efficiency_rows_name_the_learner_and_keep_unreached_levels_empty(tmp_path):
    t = target_result([1], [0.1], steps_to_reach={"tl": {"0.9": 200.0, "0.95": float("nan")},
                                                  "scratch": {"0.9": 3600.0, "0.95": 3900.0}},
                      horizon={"tl": 4000, "scratch": 8500}, tl_gain_normalised=0.05)
    rows = result_rows(study_results({0: {2: t}}))
    value = {(r["policy"], r["metric"]): r["value"] for r in rows}
    assert value[("tl", "steps_to_0.9")] == 200.0 and value[("drl_scratch_full", "steps_to_0.95")] == 3900.0
    assert value[("tl", "tl_gain_normalised")] == 0.05
    assert math.isnan(value[("tl", "steps_to_0.95")])
    write_rows_csv(tmp_path / "r.csv", rows)
    assert "0,2,tl,steps_to_0.95,\n" in (tmp_path / "r.csv").read_text()  # not reached: an empty field


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
