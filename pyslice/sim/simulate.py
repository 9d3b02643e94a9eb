"""Run the simulator under a fixed share policy and keep every step's KPIs in memory (for short runs
and analysis in Python; ``pyslice simulate`` streams to disk instead: :mod:`pyslice.sim.stream`)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from pyslice.sim.core_config import site_positions
from pyslice.sim.satisfaction import kpi_summary, reward, step_kpis
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import CELL_SLICE_FIELDS, Simulator
from pyslice.base.validation import check_int

RECORDED = CELL_SLICE_FIELDS  # every per-(cell, slice) output of the core


@dataclass
class SimulationRecord:
    """KPIs of a run: per-step arrays [T, K, N] (``cell_load`` [T, K], ``mask`` [T, N])."""

    arrays: dict[str, np.ndarray]
    reward: np.ndarray  # [T, K] paper eq. 2
    req_throughput: np.ndarray  # [K, N] bit/s
    wall_seconds: float
    final_state: dict[str, np.ndarray]  # Simulator.state() after the last step
    unserved_delay_s: float | None = None  # the delay an all-outage slice counts (None: the core's 0)

    def summary(self) -> dict[str, Any]:
        """Headline numbers: satisfaction (eq. 2), the paper's Fig. 5/6 statistics and drops under
        the names of :func:`pyslice.sim.satisfaction.kpi_summary`, loads, speed."""
        a = self.arrays
        tput_sat, delay_max, drop = step_kpis(a, self.req_throughput, self.unserved_delay_s)
        steps = a["throughput"].shape[0]
        return {
            "steps": int(steps),
            **kpi_summary(tput_sat, delay_max, reward=self.reward, drop=drop),
            "mean_cell_load": float(a["cell_load"].mean()),
            "mean_iterations": float(a["iterations"].mean()),
            "outage_ratio": float(a["outage"].sum() / max(1, a["users"].sum())),
            "steps_per_second": float(steps / self.wall_seconds) if self.wall_seconds > 0 else float("nan"),
        }


def run_policy(
    scenario: Scenario,
    steps: int,
    seed: int = 0,
    policy: str = "traffic-aware",
    progress: Callable[[int], None] | None = None,
) -> SimulationRecord:
    """Simulate ``steps`` steps with a built-in share policy and keep every step's KPIs."""
    steps = check_int("steps", steps, 1)
    sim = Simulator(scenario, seed)
    k, n = sim.n_cells, sim.n_slices
    arrays = {name: np.zeros((steps, k, n), dtype=np.int32 if name in ("users", "outage") else float) for name in RECORDED}
    arrays["cell_load"] = np.zeros((steps, k))
    arrays["mask"] = np.zeros((steps, n))
    arrays["iterations"] = np.zeros(steps, dtype=np.int32)
    start = time.perf_counter()
    for t in range(steps):
        r = sim.step_policy(policy)
        for name in RECORDED:
            arrays[name][t] = getattr(r, name)
        arrays["cell_load"][t] = r.cell_load
        arrays["mask"][t] = r.mask
        arrays["iterations"][t] = r.iterations
        if progress is not None:
            progress(1)
    wall = time.perf_counter() - start
    req_tput, req_delay = scenario.requirement_matrices(len(site_positions(scenario)))
    rewards = reward(arrays["throughput"], arrays["delay"], arrays["users"], req_tput, req_delay)
    return SimulationRecord(arrays, rewards, req_tput, wall, sim.state(), scenario.traffic.max_delay_s)
