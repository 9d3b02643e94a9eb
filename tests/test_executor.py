"""Executors: a process pool returns exactly what running the tasks in order returns; failed tasks
are retried once, then reported by name without losing the finished ones."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyslice.study.executor import LocalExecutor, SerialExecutor, TaskFailures, describe_task, make_executor


def simulate_task(seed: int, steps: int) -> list[float]:
    """A deterministic task: mean throughput per step of a small traffic-aware run."""
    from pyslice import Scenario, Simulator

    sc = Scenario.paper()
    sc = dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=3))
    sim = Simulator(sc, seed)
    return [float(sim.step_policy("traffic-aware").throughput.mean()) for _ in range(steps)]


def test_local_pool_equals_serial():
    tasks = [{"seed": s, "steps": 20} for s in (3, 1, 2)]
    serial = SerialExecutor().map(simulate_task, tasks)
    pooled = LocalExecutor(2).map(simulate_task, tasks)
    assert pooled == serial  # bit-identical, in task order
    assert not np.allclose(serial[0], serial[1])  # the tasks really differ


def flaky_task(marker: str, value: int) -> int:
    """Fails on its first attempt (no marker file yet), succeeds on the retry."""
    from pathlib import Path

    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("transient failure")
    return value * 2


def broken_task(out: str, value: int) -> int:
    """Writes its output, except for value 3, which always fails."""
    from pathlib import Path

    if value == 3:
        raise ValueError(f"value {value} is broken")
    Path(out, f"done{value}").write_text(str(value))
    return value


@pytest.mark.parametrize("executor", [SerialExecutor(), LocalExecutor(2)], ids=["serial", "local"])
def test_a_failed_task_is_retried_once(tmp_path, executor):
    tasks = [{"marker": str(tmp_path / f"m{i}"), "value": i} for i in range(3)]
    assert executor.map(flaky_task, tasks) == [0, 2, 4]
    assert all((tmp_path / f"m{i}").exists() for i in range(3))  # every task failed once


@pytest.mark.parametrize("executor", [SerialExecutor(), LocalExecutor(2)], ids=["serial", "local"])
def test_tasks_failing_twice_are_reported_by_name_after_the_others_finish(tmp_path, executor):
    tasks = [{"out": str(tmp_path), "value": v} for v in (1, 3, 5, 7)]
    with pytest.raises(TaskFailures) as info:
        executor.map(broken_task, tasks)
    assert info.value.failures == [("broken_task value=3", "ValueError: value 3 is broken")]
    assert "--resume" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done1", "done5", "done7"]  # nothing lost


def test_describe_task_leaves_out_bulky_arguments():
    name = describe_task(broken_task, {"scenario_dict": {"a": 1}, "out": "x" * 80, "seed": 2, "phases": ("pretrain",),
                                       "targets": [0, 2]})
    assert name == "broken_task seed=2 phases=pretrain targets=0,2"


def test_make_executor_checks_its_arguments():
    assert isinstance(make_executor("local", 1), SerialExecutor)
    assert make_executor("local", 3).workers == 3
    for args, message in ((("local", 0), "--workers"), (("spark",), "--executor"),
                          (("local", None, "auto"), "--ray-address needs --executor ray"),
                          (("ray", 2), "--workers applies")):
        with pytest.raises(ValueError, match=message):
            make_executor(*args)


@pytest.mark.parametrize("address, match", [("127.0.0.1:1", "nothing answers"), ("nonsense", "HOST:PORT"),
                                            ("host:99999", "HOST:PORT"), (":6379", "HOST:PORT")])
def test_a_ray_address_that_does_not_answer_fails_before_any_work(tmp_path, capsys, address, match):
    """Refused before Ray is imported or anything is written (no Ray needed)."""
    from pyslice.cli import main
    out = tmp_path / "run"
    assert main(["reproduce", "--quick", "--executor", "ray", "--ray-address", address, "--out", str(out),
                 "--quiet"]) == 2
    assert match in capsys.readouterr().err and not out.exists()
