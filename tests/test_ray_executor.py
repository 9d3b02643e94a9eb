"""The Ray executor runs the study's tasks on a (here: local, 2-CPU) Ray cluster and gives the same
results as the serial executor; a task failing twice is reported by name, finished work is kept.
Needs the ``ray`` extra (CI installs it)."""
from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray cluster per module and whole studies

from helpers import tiny_scenario  # noqa: E402

from pyslice.study.executor import RayExecutor, SerialExecutor, TaskFailures  # noqa: E402
from pyslice.study.experiment import ReproduceConfig  # noqa: E402
from pyslice.learn.train import TrainConfig  # noqa: E402
from pyslice.learn.vae import VAEConfig  # noqa: E402
from test_executor import broken_task  # noqa: E402

TINY_STUDY = ReproduceConfig(seeds=2, train=TrainConfig(exploration_steps=20, training_steps=30, evaluation_steps=10,
                                                        checkpoint_every=0),
                             tl_steps=20, samples_per_agent=24, target_samples=12, vae=VAEConfig(epochs=3),
                             early_window=10, targets=(0, 3, 5))


@pytest.fixture(scope="module")
def ray_executor():
    from pathlib import Path

    # the workers import this test folder's helper tasks (test_executor) by name
    tests = str(Path(__file__).resolve().parent)
    # ray.init(num_cpus=2, include_dashboard=False) from the executor (which starts the job outside
    # a source checkout, so the workers import the installed pyslice)
    executor = RayExecutor(num_cpus=2, runtime_env={"env_vars": {"PYTHONPATH": tests}})
    try:
        yield executor
    finally:
        ray.shutdown()


def _tables(results):
    keep = ("table", "differences", "claims", "per_cell", "per_seed", "ablation_measures", "ablation_strategies")
    return json.loads(json.dumps({k: results[k] for k in keep}, sort_keys=True, default=str))


def test_ray_and_serial_studies_agree(tmp_path, ray_executor):
    from pyslice.study.experiment import reproduce

    assert ray_executor.workers == 2
    serial = reproduce(tiny_scenario(), TINY_STUDY, tmp_path / "serial", executor=SerialExecutor(), progress=False)
    on_ray = reproduce(tiny_scenario(), TINY_STUDY, tmp_path / "ray", executor=ray_executor, progress=False)
    assert _tables(on_ray) == _tables(serial)
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "serial" / "results.csv").read_bytes()


def test_ray_quick_study_equals_the_serial_one(quick_run, tmp_path, ray_executor):
    from pyslice import Scenario
    from pyslice.study.experiment import reproduce

    out, cfg, serial = quick_run
    on_ray = reproduce(Scenario.paper(), cfg, tmp_path / "quick", executor=ray_executor, progress=False)
    assert _tables(on_ray) == _tables(serial)
    assert (tmp_path / "quick" / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_ray_reports_failed_tasks_by_name_and_keeps_the_rest(tmp_path, ray_executor):
    tasks = [{"out": str(tmp_path), "value": v} for v in (1, 3, 5)]
    with pytest.raises(TaskFailures) as info:
        ray_executor.map(broken_task, tasks)
    (name, error), = info.value.failures
    assert name == "broken_task value=3" and "value 3 is broken" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done1", "done5"]
