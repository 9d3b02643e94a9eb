"""Hierarchical bootstrap intervals and three-state verdicts (pyslice.base.statistics)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice.base.statistics import bootstrap_mean_ci, chain_verdict, verdict

groups = st.lists(st.lists(st.floats(-10, 10), min_size=1, max_size=6), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(values=groups, seed=st.integers(0, 100))
def test_interval_brackets_the_mean_within_the_data_range(values, seed):
    ci = bootstrap_mean_ci(values, n_boot=200, seed=seed)
    flat = np.concatenate([np.asarray(v, float) for v in values])
    assert ci["mean"] == pytest.approx(flat.mean())
    assert flat.min() - 1e-9 <= ci["lo"] <= ci["hi"] <= flat.max() + 1e-9
    assert ci["n"] == flat.size and ci["n_seeds"] == len(values)


@settings(max_examples=30, deadline=None)
@given(values=groups, shift=st.floats(-5, 5))
def test_interval_is_shift_equivariant_and_deterministic(values, shift):
    a = bootstrap_mean_ci(values, n_boot=200, seed=3)
    b = bootstrap_mean_ci([[x + shift for x in v] for v in values], n_boot=200, seed=3)
    assert b["lo"] == pytest.approx(a["lo"] + shift, abs=1e-9) and b["hi"] == pytest.approx(a["hi"] + shift, abs=1e-9)
    assert bootstrap_mean_ci(values, n_boot=200, seed=3) == a


def test_constant_data_gives_a_point_interval_and_nan_is_left_out():
    ci = bootstrap_mean_ci({0: [2.0, 2.0], 1: [2.0, float("nan")]}, n_boot=100)
    assert (ci["lo"], ci["mean"], ci["hi"], ci["n"]) == (2.0, 2.0, 2.0, 3)


def test_coverage_of_a_known_mean():
    """Over many synthetic studies (6 seeds × 4 cells, seed effect + cell noise), the 95 % interval
    covers the true mean about 95 % of the time (the percentile bootstrap with few seeds runs a little
    short: we accept 85-99 %)."""
    rng = np.random.default_rng(0)
    hits = 0
    n = 200
    for i in range(n):
        data = [rng.normal(1.0 + rng.normal(0, 0.5), 0.3, 4) for _ in range(6)]
        ci = bootstrap_mean_ci(data, n_boot=400, seed=i)
        hits += ci["lo"] <= 1.0 <= ci["hi"]
    assert 0.85 <= hits / n <= 0.99


def test_more_seeds_narrow_the_interval():
    rng = np.random.default_rng(1)
    few = bootstrap_mean_ci([rng.normal(0, 1, 4) for _ in range(3)], seed=0)
    many = bootstrap_mean_ci([rng.normal(0, 1, 4) for _ in range(30)], seed=0)
    assert many["hi"] - many["lo"] < few["hi"] - few["lo"]


def test_verdicts():
    two = {"n_seeds": 5}
    assert verdict({"lo": 0.1, "hi": 0.3, **two}) == "holds"
    assert verdict({"lo": -0.3, "hi": -0.1, **two}) == "does not hold"
    assert verdict({"lo": -0.1, "hi": 0.3, **two}) == "not resolved"
    assert verdict({"lo": -0.3, "hi": -0.1, **two}, "less") == "holds"
    assert verdict({"lo": 0.1, "hi": 0.3, "n_seeds": 1}) == "not resolved"  # one seed decides nothing
    assert verdict({"lo": float("nan"), "hi": 0.3, **two}) == "not resolved"
    assert chain_verdict(["holds", "holds"]) == "holds"
    assert chain_verdict(["holds", "not resolved"]) == "not resolved"
    assert chain_verdict(["not resolved", "does not hold"]) == "does not hold"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_mean_ci([[1.0]], n_boot=10)
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean_ci([[1.0]], level=1.5)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean_ci([[float("nan")]])
    with pytest.raises(ValueError, match="direction"):
        verdict({"lo": 0, "hi": 1}, "up")
    with pytest.raises(ValueError, match="unknown verdict"):
        chain_verdict(["maybe"])
