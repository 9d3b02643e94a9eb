"""Streamed simulations (``pyslice simulate``): the files hold what an in-memory run computes, a run
killed at any write resumes to the same bytes, per-UE samples agree with the slice KPIs, and bad
output directories or resumes are refused before anything changes."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice.base import atomic
from pyslice.base.order_statistics import streamed_percentiles
from pyslice.sim.simulate import run_policy
from pyslice.sim.simulator import Simulator, SimulatorBatch
from pyslice.sim.stream import StreamSpec, simulate_streamed
from pyslice.sim.stream_formats import KPI_COLUMNS, UE_COLUMNS
from helpers import with_ues

SC = with_ues(4)
pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the test extra")


def read(path) -> dict[str, np.ndarray]:
    """A streamed table (Parquet or CSV) as columns."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return {name: table.column(name).to_numpy() for name in table.column_names}
    rows = list(csv.DictReader(open(path, newline="")))
    return {k: np.array([float(r[k]) if r[k] not in ("True", "False") else r[k] == "True" for r in rows])
            for k in rows[0]}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "npz"])
def test_streamed_files_hold_the_in_memory_run(tmp_path, fmt):
    steps, seed = 23, 4
    result = simulate_streamed(SC, StreamSpec(steps=steps, seed=seed, chunk_steps=7, fmt=fmt), tmp_path)
    memory = run_policy(SC, steps, seed, "traffic-aware")
    expected = memory.summary()
    for key, value in expected.items():
        if key != "steps_per_second":
            np.testing.assert_allclose(result.summary[key], value, rtol=1e-12, atol=1e-15, err_msg=key)
    assert result.summary["median_max_slice_delay_ms"] == expected["median_max_slice_delay_ms"]  # exact percentiles
    assert result.summary["p95_max_slice_delay_ms"] == expected["p95_max_slice_delay_ms"]
    assert not (tmp_path / ".stream").exists()
    if fmt == "npz":
        data = np.load(tmp_path / "kpis.npz")
        for name in ("throughput", "delay", "shares", "users", "cell_load", "mask"):
            np.testing.assert_array_equal(data[name], memory.arrays[name], err_msg=name)
        np.testing.assert_array_equal(data["reward"], memory.reward)
        return
    cols = read(tmp_path / f"kpis.{fmt}")
    assert list(cols) == list(KPI_COLUMNS)
    shape = (steps, SC.n_cells, SC.n_slices)
    np.testing.assert_array_equal(cols["step"].reshape(shape)[:, 0, 0], np.arange(1, steps + 1))
    np.testing.assert_array_equal(cols["throughput_bps"].reshape(shape), memory.arrays["throughput"])
    np.testing.assert_array_equal(cols["backlog_bits"].reshape(shape), memory.arrays["backlog"])
    np.testing.assert_array_equal(cols["reward"].reshape(shape)[..., 0], memory.reward)
    if fmt == "parquet":
        meta = pq.ParquetFile(tmp_path / "kpis.parquet").metadata
        assert meta.num_row_groups == 4  # one per chunk of 7 steps
        assert [meta.row_group(i).num_rows for i in range(4)] == [n * SC.n_cells * SC.n_slices for n in (7, 7, 7, 2)]


def test_replicas_are_the_seeds_run_alone(tmp_path):
    simulate_streamed(SC, StreamSpec(steps=6, seed=10, replicas=2, threads=2, fmt="parquet", chunk_steps=4),
                      tmp_path)
    cols = read(tmp_path / "kpis.parquet")
    for r in (0, 1):
        alone = run_policy(SC, 6, 10 + r, "traffic-aware")
        mine = cols["throughput_bps"][cols["replica"] == r].reshape(6, SC.n_cells, SC.n_slices)
        np.testing.assert_array_equal(mine, alone.arrays["throughput"])


def test_ue_samples_agree_with_the_slice_kpis(tmp_path):
    simulate_streamed(SC, StreamSpec(steps=9, seed=2, ue_every=3, fmt="parquet", chunk_steps=4), tmp_path)
    ues, kpis = read(tmp_path / "ues.parquet"), read(tmp_path / "kpis.parquet")
    assert list(ues) == list(UE_COLUMNS)
    assert sorted(set(ues["step"])) == [3, 6, 9]
    sim = Simulator(SC, 2)
    for t in range(1, 10):
        sim.step_policy("traffic-aware")
        if t % 3:
            continue
        mine = {k: v[ues["step"] == t] for k, v in ues.items()}
        np.testing.assert_array_equal(mine["sinr_db"], sim.ue_samples()["sinr_db"])
        np.testing.assert_array_equal(mine["serving_cell"], sim.state()["serving"])
        step_kpis = {k: v[kpis["step"] == t].reshape(SC.n_cells, SC.n_slices) for k, v in kpis.items()}
        served = mine["throughput_bps"] > 0
        assert not np.any(served & ~mine["active"])
        for c in range(SC.n_cells):
            for s in range(SC.n_slices):
                group = served & (mine["serving_cell"] == c) & (mine["slice"] == s)
                mean = mine["throughput_bps"][group].mean() if group.any() else 0.0
                assert mean == pytest.approx(step_kpis["throughput_bps"][c, s], rel=1e-12, abs=1e-9), (t, c, s)


def _simulate_cli(out, fmt, env=None, resume=False):
    args = [sys.executable, "-m", "pyslice.cli", "simulate", "--scenario", "paper", "--steps", "40", "--seed", "6",
            "--chunk-steps", "9", "--ue-every", "10", "--format", fmt, "--out", str(out), "--quiet"]
    return subprocess.run(args + (["--resume"] if resume else []), env=env, capture_output=True, text=True,
                          cwd=Path(out).parent)  # not the checkout root, whose source tree has no _core


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, fmt):
    whole = tmp_path / "whole"
    assert _simulate_cli(whole, fmt).returncode == 0
    names = [f"kpis.{fmt}", f"ues.{fmt}"]
    # killed (os._exit, like kill -9) right after its n-th file write: parts and checkpoints alternate
    for n in (1, 4, 7, 11):
        out = tmp_path / f"killed{n}"
        killed = _simulate_cli(out, fmt, env={**os.environ, atomic.FAULT_ENV: str(n)})
        assert killed.returncode == 86, killed.stderr
        assert (out / ".stream").is_dir()
        fresh = _simulate_cli(out, fmt)
        assert fresh.returncode == 2 and "--resume" in fresh.stderr  # never restarted over it by accident
        if n == 4:  # a kill inside an append: a side file longer than its checkpoint says
            with open(out / ".stream" / "max_delay.f64", "ab") as fh:
                fh.write(b"\x00" * 13)
        resumed = _simulate_cli(out, fmt, resume=True)
        assert resumed.returncode == 0, resumed.stderr
        for name in names:
            assert (out / name).read_bytes() == (whole / name).read_bytes(), (n, name)
        assert not (out / ".stream").exists()


def test_bad_outputs_and_resumes_are_refused_untouched(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="out must be a writable directory"):
        simulate_streamed(SC, StreamSpec(steps=3), blocker / "run")
    run = tmp_path / "run"
    simulate_streamed(SC, StreamSpec(steps=5, seed=1, chunk_steps=2), run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(ValueError, match="no interrupted simulation"):
        simulate_streamed(SC, StreamSpec(steps=5, seed=2, chunk_steps=2), run, resume=True)
    # an interrupted run of seed 1, resumed as seed 2 or as another scenario
    (run / ".stream").mkdir()
    (run / ".stream" / "run.json").write_text(
        json.dumps({"scenario": SC.to_dict(), "steps": 5, "seed": 1, "policy": "traffic-aware",
                                  "replicas": 1, "chunk_steps": 2, "ue_every": 0, "fmt": "csv"}))
    with pytest.raises(ValueError, match="differs in seed"):
        simulate_streamed(SC, StreamSpec(steps=5, seed=2, chunk_steps=2), run, resume=True)
    with pytest.raises(ValueError, match="differs in scenario"):
        simulate_streamed(with_ues(3), StreamSpec(steps=5, seed=1, chunk_steps=2), run, resume=True)
    with pytest.raises(ValueError, match="interrupted simulation"):
        simulate_streamed(SC, StreamSpec(steps=5, seed=1, chunk_steps=2), run)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    # a finished run resumes to itself
    again = simulate_streamed(SC, StreamSpec(steps=5, seed=1, chunk_steps=2), tmp_path / "done")
    assert simulate_streamed(SC, StreamSpec(steps=5, seed=1, chunk_steps=2), tmp_path / "done",
                             resume=True).summary == again.summary
    for bad, match in ((dict(steps=0), "steps"), (dict(steps=3, fmt="xlsx"), "fmt"), (dict(steps=3, policy="x"), "policy"),
                       (dict(steps=3, ue_every=-1), "ue_every"), (dict(steps=3, replicas=0), "replicas")):
        with pytest.raises(ValueError, match=match):
            StreamSpec(**bad)


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 10.0]), min_size=1,
                       max_size=400),
       qs=st.lists(st.floats(0, 100), min_size=1, max_size=4), block=st.integers(1, 64))
def test_streamed_percentiles_are_numpys(values, qs, block):
    x = np.array(values)
    assert streamed_percentiles(x, qs, block=block) == [float(np.percentile(x, q)) for q in qs]
    assert streamed_percentiles(x, qs, block=block, scale=1e3) == [float(np.percentile(1e3 * x, q)) for q in qs]


def test_streamed_percentiles_narrow_large_inputs():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.exponential(size=200_000), np.full(50_000, 10.0)])  # a large tie at a cap
    rng.shuffle(x)
    assert streamed_percentiles(x, [50, 95, 99.5], block=10_007) == [float(np.percentile(x, q)) for q in (50, 95, 99.5)]


def test_batch_ue_samples_match_single_simulators():
    batch = SimulatorBatch(SC, [3, 3], shared_world=True)
    single = Simulator(SC, 3)
    for _ in range(3):
        batch.step_policy("max-min")
        single.step_policy("max-min")
    for r in (0, 1):
        for key, value in single.ue_samples().items():
            np.testing.assert_array_equal(batch.ue_samples(r)[key], value, err_msg=f"{r} {key}")


def test_the_documented_queries_agree(tmp_path):
    """docs/usage.md's pandas, polars and DuckDB queries on a streamed run: the same numbers."""
    pd = pytest.importorskip("pandas", reason="pandas comes with the test extra")
    pl = pytest.importorskip("polars", reason="polars is in the test extra")
    duckdb = pytest.importorskip("duckdb", reason="DuckDB is in the test extra")
    simulate_streamed(SC, StreamSpec(steps=12, seed=3, chunk_steps=5, ue_every=4, fmt="parquet"), tmp_path)
    kpis, ues = str(tmp_path / "kpis.parquet"), str(tmp_path / "ues.parquet")
    mean_pd = pd.read_parquet(kpis).groupby("cell")["reward"].mean()
    mean_pl = pl.scan_parquet(kpis).group_by("cell").agg(pl.col("reward").mean()).sort("cell").collect()
    mean_db = duckdb.sql(f"SELECT cell, avg(reward) AS r FROM '{kpis}' GROUP BY cell ORDER BY cell").fetchall()
    np.testing.assert_allclose(mean_pd.to_numpy(), mean_pl["reward"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(mean_pd.to_numpy(), [r for _, r in mean_db], rtol=1e-12)
    median = (pl.scan_parquet(ues).filter(pl.col("active")).group_by("serving_cell")
              .agg(pl.col("sinr_db").median()).sort("serving_cell").collect())
    frame = pd.read_parquet(ues)
    np.testing.assert_allclose(median["sinr_db"].to_numpy(),
                               frame[frame["active"]].groupby("serving_cell")["sinr_db"].median().to_numpy())
