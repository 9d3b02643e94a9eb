"""`pyslice sweep`: every grid point is a normal study directory with its settings; the tidy CSV
holds every point's results.csv rows; the summary's intervals contain their means."""
from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import replace

import pytest
from helpers import tiny_scenario

from pyslice.study.executor import SerialExecutor
from pyslice.study.experiment import ReproduceConfig
from pyslice.settings import reproduce_settings
from pyslice.sweep import parse_grid, run_sweep
from pyslice.learn.train import TrainConfig
from pyslice.learn.vae import VAEConfig

TINY = ReproduceConfig(seeds=2, train=TrainConfig(exploration_steps=20, training_steps=20, evaluation_steps=10,
                                                  checkpoint_every=0),
                       tl_steps=15, samples_per_agent=24, target_samples=12, vae=VAEConfig(epochs=2),
                       early_window=10, targets=(0, 3), ablations=False)


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    grid = parse_grid(["td3.actor_lr=5e-4,1e-2"])
    summary = run_sweep(reproduce_settings(tiny_scenario(), TINY), grid, out, executor=SerialExecutor(),
                        progress=False)
    return out, summary


@pytest.mark.slow
def test_every_point_is_a_study_with_its_settings(sweep_run):
    out, summary = sweep_run
    points = json.loads((out / "points.json").read_text())
    assert points == {"point00": {"td3.actor_lr": 5e-4}, "point01": {"td3.actor_lr": 1e-2}}
    for name, point in points.items():
        run = out / name
        for f in ("results.json", "results.csv", "report.md", "config.toml", "reproduce.json"):
            assert (run / f).is_file(), (name, f)
        cfg = tomllib.loads((run / "config.toml").read_text())
        assert cfg["train"]["td3"]["actor_lr"] == point["td3.actor_lr"]
        assert json.loads((run / "reproduce.json").read_text())["config"]["train"]["td3"]["actor_lr"] == point["td3.actor_lr"]


@pytest.mark.slow
def test_the_tidy_csv_is_every_points_results_csv(sweep_run):
    out, _ = sweep_run
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert list(rows[0]) == ["point", "td3.actor_lr", "seed", "cell", "policy", "metric", "value"]
    for name in ("point00", "point01"):
        own = list(csv.DictReader((out / name / "results.csv").open()))
        mine = [{k: r[k] for k in own[0]} for r in rows if r["point"] == name]
        assert mine == own and len(own) > 0
    assert {r["seed"] for r in rows} == {"0", "1"} and {r["cell"] for r in rows} == {"0", "3"}


@pytest.mark.slow
def test_summary_intervals_contain_their_means(sweep_run):
    out, summary = sweep_run
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert {r["point"] for r in rows} == {"point00", "point01"}
    for r in rows:
        assert float(r["lo"]) <= float(r["mean"]) <= float(r["hi"])
        assert r["n_seeds"] == "2" and r["n"] == "4"  # 2 seeds x 2 target cells
    assert "| point | td3.actor_lr | policy |" in summary["table"]
    assert summary["table"] in (out / "summary.md").read_text()


@pytest.mark.slow
def test_a_sweep_directory_is_not_overwritten_and_resumes_only_the_same_grid(sweep_run):
    out, _ = sweep_run
    settings = reproduce_settings(tiny_scenario(), TINY)
    with pytest.raises(FileExistsError, match="--resume"):
        run_sweep(settings, parse_grid(["td3.actor_lr=5e-4,1e-2"]), out, executor=SerialExecutor(), progress=False)
    with pytest.raises(ValueError, match="another grid"):
        run_sweep(settings, parse_grid(["td3.actor_lr=5e-4"]), out, executor=SerialExecutor(), resume=True,
                  progress=False)
    before = (out / "sweep.csv").read_bytes()
    run_sweep(settings, parse_grid(["td3.actor_lr=5e-4,1e-2"]), out, executor=SerialExecutor(), resume=True,
              progress=False)  # everything done: only re-aggregated, same numbers
    assert (out / "sweep.csv").read_bytes() == before


def test_points_are_checked_before_anything_runs(tmp_path):
    settings = reproduce_settings(tiny_scenario(), replace(TINY, seeds=1))
    with pytest.raises(ValueError, match="actor_lr must be > 0"):
        run_sweep(settings, parse_grid(["td3.actor_lr=5e-4,-1"]), tmp_path / "s", executor=SerialExecutor(),
                  progress=False)
    assert not (tmp_path / "s").exists()
