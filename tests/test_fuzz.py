"""Fuzz harness (issue 27): scenario dicts and TOML files mutated at and past every limit and type,
shares of every bad kind, damaged checkpoints and pickles, and rule-based sequences of the stepping
and state calls of Simulator and SimulatorBatch end in a clean refusal (ValueError/TypeError naming
what is wrong, nothing changed) or finite results of the documented shapes.

The strategies and checks are in fuzz_strategies.py; ``python tools/fuzz.py --cases N`` runs them
for many more cases. Here: a fixed, derandomized set (1,100 cases and 60 programs of up to 20
calls), then one regression test per finding of the harness."""
from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import fuzz_strategies as fs
from pyslice import Scenario, Simulator, SimulatorBatch, _core
from pyslice.sim.core_config import core_config


def ci(examples: int) -> settings:
    """Deterministic CI settings: ``examples`` derandomized cases, no database, no deadline."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@ci(200)
@given(fs.scenario_cases())
def test_scenario_dicts(case):
    fs.check_scenario_case(case)


@ci(150)
@given(fs.toml_cases())
def test_scenario_toml_files(case):
    fs.check_toml_case(case)


@ci(200)
@given(fs.sim_specs(), fs.shares_cases())
def test_simulator_step_inputs(spec, case):
    fs.check_sim_step(spec, case)


@ci(150)
@given(fs.batch_specs(), fs.shares_cases(), fs.mixed_policies())
def test_batch_step_inputs(spec, case, policies):
    fs.check_batch_step(spec, case, policies)


@ci(150)
@given(fs.sim_specs(), fs.damages())
def test_simulator_damaged_states(spec, damage):
    fs.check_sim_state(spec, damage)


@ci(100)
@given(fs.batch_specs(), fs.batch_damages())
def test_batch_damaged_states(spec, damage):
    fs.check_batch_state(spec, damage)


@ci(150)
@given(fs.sim_specs(), fs.batch_specs(), fs.pickle_cases())
def test_damaged_pickles(sim, batch, case):
    fs.check_pickle(sim, batch, case)


def test_the_fuzz_tool_counts_cases_per_target(tmp_path):
    """tools/fuzz.py runs each target in a subprocess and prints its cases and outcomes (run outside
    the checkout, where the installed package is imported)."""
    tool = Path(__file__).resolve().parents[1] / "tools" / "fuzz.py"
    proc = subprocess.run([sys.executable, str(tool), "--cases", "30", "--targets", "simulator_step,batch_machine"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[1:4]}
    assert set(rows) == {"simulator_step", "batch_machine", "total"}
    assert int(rows["simulator_step"][0]) == 15 and int(rows["batch_machine"][0]) >= 15
    assert proc.stdout.rstrip().endswith("no failures")


SEQUENCES = settings(max_examples=30, stateful_step_count=20, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


class TestSimulatorSequences(fs.SimulatorMachine.TestCase):
    settings = SEQUENCES


class TestBatchSequences(fs.BatchMachine.TestCase):
    settings = SEQUENCES


# ---- regressions: one per finding ----------------------------------------------------------------


def tiny() -> Scenario:
    return fs.scenarios()["tiny"]


@pytest.mark.parametrize("dtype", [[("a", "f8"), ("b", "f8")], "V8"])
def test_shares_that_cannot_become_float64_are_a_type_error(dtype):
    """An array whose cast to float64 fails (a structured dtype) crashed the core (a null array)."""
    sim = Simulator(tiny(), 1)
    with pytest.raises(TypeError, match="shares must be convertible to float64"):
        sim.step(np.zeros((sim.n_cells, sim.n_slices), dtype=dtype))
    with pytest.raises(TypeError, match="convertible to float64"):
        _core.spectral_efficiency(np.zeros(3, dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # complex -> float64 warns, and a warning as an error fails the cast
        with pytest.raises(TypeError, match="complex128"):
            sim.step(np.full((sim.n_cells, sim.n_slices), 1.0 / sim.n_slices, dtype=complex))


def test_every_damaged_byte_of_a_state_is_refused():
    """A damaged checkpoint crashed the simulator (indices read from it were used unchecked): states
    carry a checksum now, so any change is refused and the simulator is unchanged."""
    sim = Simulator(tiny(), 1)
    sim.step_policy("equal")
    state = sim.get_state()
    for pos in range(len(state)):
        damaged = state[:pos] + bytes([state[pos] ^ 0x10]) + state[pos + 1:]
        with pytest.raises(ValueError, match="state"):
            sim.set_state(damaged)
    assert sim.get_state() == state
    follower = SimulatorBatch(tiny(), [2, 2], shared_world=True).get_state()[1]
    batch = SimulatorBatch(tiny(), [2, 2], shared_world=True)
    with pytest.raises(ValueError, match="replica 1: follower state is corrupt"):
        batch.set_state([batch.get_state()[0], follower[:-1] + bytes([follower[-1] ^ 1])])


def test_a_state_of_another_version_is_named():
    sim = Simulator(tiny(), 1)
    state = bytearray(sim.get_state())
    state[8] ^= 0xFF  # the version follows the 8-byte magic
    with pytest.raises(ValueError, match="another version"):
        sim.set_state(bytes(state))


def test_shared_world_reset_with_unequal_seeds_keeps_the_seeds():
    """The refused reset had already stored the seeds, so later resets and pickles failed."""
    batch = SimulatorBatch(tiny(), [3, 3], shared_world=True)
    with pytest.raises(ValueError, match="same seed"):
        batch.reset([1, 2])
    assert batch.seeds == [3, 3]
    batch.reset()
    pickle.loads(pickle.dumps(batch)).step_policy("equal")


def test_shared_world_follower_of_another_time_is_refused():
    """Accepted before, and the follower silently took the leader's time (its state did not read back)."""
    batch = SimulatorBatch(tiny(), [3, 3], shared_world=True)
    unstepped = batch.get_state()
    batch.step_policy("equal")
    stepped = batch.get_state()
    with pytest.raises(ValueError, match="replica 1: follower state of time 0, the leader's is 1"):
        batch.set_state([stepped[0], unstepped[1]])
    assert batch.get_state() == stepped


@pytest.mark.parametrize("call", [lambda b: b.set_state(None), lambda b: b.set_state(7), lambda b: b.reset(5)])
def test_batch_arguments_that_are_no_lists_are_named(call):
    batch = SimulatorBatch(tiny(), [1])
    with pytest.raises(TypeError, match="states|seeds"):
        call(batch)
    with pytest.raises(TypeError, match="seeds must be a list"):
        SimulatorBatch(tiny(), None)  # type: ignore[arg-type]


def test_a_huge_finite_interference_radius_steps():
    """The memory estimate squared the radius with ``**`` and raised OverflowError."""
    radio = dataclasses.replace(tiny().radio, interference_radius_m=1.7976931348623157e308)
    sc = dataclasses.replace(tiny(), radio=radio)
    sim = Simulator(sc, 1)
    fs.check_result(sim.step_policy("equal"), sim.n_cells, sim.n_slices, sim.n_ues)


def test_a_minimum_distance_past_half_the_isd_is_refused():
    """A UE drop rejection-samples its sector rhombus for points min_distance_m from the site: with
    min_distance_m >= isd_m / sqrt(3) none exist and Simulator() never returned. Refused past
    isd_m / 2 (where ~9 % of draws are kept) by the scenario and by the core."""
    radio = dataclasses.replace(tiny().radio, min_distance_m=250.0)
    sim = Simulator(dataclasses.replace(tiny(), radio=radio), 1)  # isd_m / 2: drops in ~11 draws
    fs.check_result(sim.step_policy("equal"), sim.n_cells, sim.n_slices, sim.n_ues)
    with pytest.raises(ValueError, match=r"radio.min_distance_m must be <= layout.isd_m / 2 = 250"):
        dataclasses.replace(tiny(), radio=dataclasses.replace(tiny().radio, min_distance_m=300.0))
    config = core_config(tiny())
    config["min_distance_m"] = 300.0
    with pytest.raises(ValueError, match="min_distance_m must be <= isd_m / 2"):
        _core.Simulator(config, 1)


@pytest.mark.parametrize("x", [1e12, 1e300, 1.7976931348623157e308])
def test_sites_too_far_apart_are_refused_by_name(x):
    """Sites 1e300 m apart overflowed the site index's bin counts (a double -> long cast, undefined
    behaviour), and the refusal was std::length_error's "cannot create std::vector larger than max_size()"."""
    layout = dataclasses.replace(tiny().layout, sites_m=((0.0, 0.0), (x, 0.0)))
    with pytest.raises(ValueError, match="layout too sparse for the site index"):
        Simulator(dataclasses.replace(tiny(), layout=layout), 1)


@pytest.mark.parametrize("path", [("traffic", "max_delay_s"), ("requirements", "profiles", 0, "delay_s")])
def test_delays_below_a_picosecond_are_refused(path):
    """max_delay_s = 5e-324 made flow throughputs L / delay infinite, a requirement delay of 5e-324
    the max-min policy's shares NaN (an infinite share need times 0)."""
    tiny_delay = 5e-324 if path[0] == "traffic" else [5e-324, 1e-3]
    with pytest.raises(ValueError, match=r"delay_s(\[0\])? must be >= 1e-12"):
        Scenario.from_dict(fs.apply_mutation(fs.tiny_dict(), fs.Mutation("set", path, tiny_delay)))
    at_floor = 1e-12 if path[0] == "traffic" else [1e-12, 1e-3]
    sim = Simulator(Scenario.from_dict(fs.apply_mutation(fs.tiny_dict(), fs.Mutation("set", path, at_floor))), 1)
    for policy in ("equal", "traffic-aware", "max-min"):
        fs.check_result(sim.step_policy(policy), sim.n_cells, sim.n_slices, sim.n_ues)
    config = core_config(tiny())
    config["max_delay_s"] = 5e-324
    with pytest.raises(ValueError, match="max_delay_s must be >= 1e-12"):
        _core.Simulator(config, 1)


@pytest.mark.parametrize("path", [("name",), ("slices", 0, "name"), ("traffic", "mask")])
def test_text_that_cannot_be_saved_is_refused(path):
    """A lone surrogate was accepted, and then to_toml could not write the scenario."""
    data = fs.apply_mutation(fs.tiny_dict(), fs.Mutation("set", path, "a\ud800"))
    with pytest.raises(ValueError, match=r"\.?name|mask"):
        Scenario.from_dict(data)


def test_damaged_pickles_are_value_or_type_errors():
    """A pickled simulator's dict without a key raised KeyError; a batch's outputs of the wrong
    shape, numpy's message naming nothing."""
    saved = Simulator(tiny(), 1).__getstate__()
    del saved["state"]
    with pytest.raises(ValueError, match="lacks state"):
        Simulator.__new__(Simulator).__setstate__(saved)
    saved = SimulatorBatch(tiny(), [1, 2]).__getstate__()
    saved["out"] = dict(saved["out"], load=np.zeros(3))
    with pytest.raises(ValueError, match="output 'load' does not fit"):
        SimulatorBatch.__new__(SimulatorBatch).__setstate__(saved)
    saved["out"] = {"x": 1}
    with pytest.raises(ValueError, match="out must hold"):
        SimulatorBatch.__new__(SimulatorBatch).__setstate__(saved)
