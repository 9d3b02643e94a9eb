"""One policy for integer arguments everywhere (pyslice.base.validation.check_int): the wrong type
is a TypeError, a wrong value a ValueError, both naming the argument, and bools are not ints."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyslice import Scenario, Simulator, SimulatorBatch
from pyslice.base.validation import check_int
from pyslice.learn.learning_curves import window_means
from pyslice.learn.train import TrainConfig
from pyslice.learn.vae import VAEConfig
from pyslice.sim.simulate import run_policy


@given(st.integers(-10**6, 10**6), st.integers(-100, 100))
def test_check_int_accepts_ints_at_or_above_the_bound(value, lo):
    if value >= lo:
        assert check_int("n", value, lo) == value
        assert check_int("n", np.int64(value), lo) == value
        assert type(check_int("n", np.int64(value), lo)) is int  # numpy ints come back as int
    else:
        with pytest.raises(ValueError, match=r"n must be an int >= "):
            check_int("n", value, lo)


@pytest.mark.parametrize("bad", [1.0, 2.5, "3", None, True, np.bool_(False), np.float64(4.0)])
def test_check_int_rejects_other_types(bad):
    with pytest.raises(TypeError, match="n must be an int"):
        check_int("n", bad, 0)


CASES = {  # name -> (call with a value, the argument's name, a wrong value, its lower bound)
    "Simulator seed": (lambda v: Simulator(Scenario.paper(), seed=v), "seed", -1),
    "SimulatorBatch threads": (lambda v: SimulatorBatch(Scenario.paper(), [0], threads=v), "threads", 0),
    "run_policy steps": (lambda v: run_policy(Scenario.paper(), v), "steps", 0),
    "window_means window": (lambda v: window_means(np.ones((5, 2)), v), "window", 0),
    "TrainConfig training_steps": (lambda v: TrainConfig(training_steps=v), "training_steps", -1),
    "TrainConfig buffer_capacity": (lambda v: TrainConfig(buffer_capacity=v), "buffer_capacity", 0),
    "VAEConfig epochs": (lambda v: VAEConfig(epochs=v), "epochs", 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_entry_points_follow_the_policy(case):
    call, name, too_small = CASES[case]
    with pytest.raises(TypeError, match=name):
        call(2.0)
    with pytest.raises(TypeError, match=name):
        call(True)
    with pytest.raises(ValueError, match=name):
        call(too_small)
