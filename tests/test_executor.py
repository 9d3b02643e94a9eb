"""Executors: a process pool returns exactly what running the tasks in order returns."""
from __future__ import annotations

import dataclasses

import numpy as np

from pyslice.executor import LocalExecutor, SerialExecutor


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
