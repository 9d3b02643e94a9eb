"""Simulator checkpoints: get_state/set_state continue a run bit for bit and reject foreign states."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyslice import Scenario, Simulator, SimulatorBatch
from helpers import with_ues

FIELDS = ("throughput", "delay", "load", "users", "backlog", "cell_load", "sinr_db", "shares")


def small(ues: int = 4, **layout) -> Scenario:
    sc = with_ues(ues)
    if layout:
        sc = dataclasses.replace(sc, layout=dataclasses.replace(sc.layout, **layout))
    return sc


def run(sim: Simulator, steps: int, rng: np.random.Generator) -> list:
    out = []
    for _ in range(steps):
        shares = rng.dirichlet(np.ones(sim.n_slices), size=sim.n_cells)
        out.append(sim.step(shares))
    return out


@pytest.mark.parametrize("policy_steps", [0, 7])
def test_restore_continues_bit_for_bit(policy_steps):
    sc = small()
    a = Simulator(sc, seed=11)
    for _ in range(policy_steps):
        a.step_policy("traffic-aware")
    run(a, 5, np.random.default_rng(0))
    saved = a.get_state()
    ra = run(a, 40, np.random.default_rng(1))
    b = Simulator(sc, seed=999)  # another seed: everything must come from the state
    b.step_policy("equal")
    b.set_state(saved)
    rb = run(b, 40, np.random.default_rng(1))
    for x, y in zip(ra, rb):
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(x, f), getattr(y, f))
    assert a.get_state() == b.get_state()
    assert a.time == b.time == policy_steps + 45


def test_state_of_another_scenario_or_corrupt_is_rejected_without_change():
    a = Simulator(small(4), seed=1)
    a.step_policy("equal")
    other = Simulator(small(3), seed=1)
    before = a.get_state()
    with pytest.raises(ValueError, match="scenario"):
        a.set_state(other.get_state())
    with pytest.raises(ValueError):
        a.set_state(before[: len(before) // 2])
    with pytest.raises(ValueError):
        a.set_state(b"not a state at all")
    with pytest.raises(TypeError):
        a.set_state("text")  # type: ignore[arg-type]
    assert a.get_state() == before


def test_batch_state_round_trip_and_atomic_rejection():
    sc = small(3)
    batch = SimulatorBatch(sc, seeds=[1, 2, 3], threads=2)
    batch.step_policy("traffic-aware")
    saved = batch.get_state()
    first = {k: v.copy() for k, v in batch.step_policy("max-min").items()}
    batch.set_state(saved)
    again = batch.step_policy("max-min")
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    now = batch.get_state()
    broken = list(now)
    broken[2] = broken[2][:50]
    with pytest.raises(ValueError):
        batch.set_state(broken)
    assert batch.get_state() == now
