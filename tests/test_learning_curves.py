"""pyslice.learn.learning_curves: windowed statistics against a paired baseline (issue 11 criteria)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyslice.learn.learning_curves import collapse_windows, learning_report, steps_to_reach, window_means


@settings(max_examples=50, deadline=None)
@given(r=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)), elements=st.floats(0, 1)),
       w=st.integers(1, 40))
def test_window_means_equal_the_naive_means(r, w):
    if w > r.shape[0]:
        with pytest.raises(ValueError, match="window"):
            window_means(r, w)
        return
    naive = np.array([r[i:i + w].mean(axis=0) for i in range(r.shape[0] - w + 1)])
    np.testing.assert_allclose(window_means(r, w), naive, atol=1e-12)


def test_collapse_and_reach_on_constructed_curves():
    T, w = 1000, 100
    base = np.full((T, 3), 0.8)
    agent = np.full((T, 3), 0.9)
    agent[200:500, 0] = 0.0           # cell 0 collapses for 300 steps: 201 windows fully inside, and
                                      # 11 each side with <= 11 steps of 0.9 (mean 0.099 < 0.1): 223
    agent[:, 1] = 0.05                # cell 1 never learns ...
    base[:, 1] = 0.5                  # ... but its baseline is below 0.6: not a collapse
    agent[:300, 2] = 0.45             # cell 2 reaches 0.95 * 0.8 = 0.76 once a window holds >= 69 steps of 0.9
    np.testing.assert_array_equal(collapse_windows(agent, base, w), [223, 0, 0])
    reach = steps_to_reach(agent, base, 0.95, w)
    # cell 0: at once; cell 1: 0.05 < 0.475 never; cell 2: (0.45 (100 - g) + 0.9 g) / 100 >= 0.76 -> g >= 68.9
    assert reach.tolist() == [100, -1, 300 + 69]


def test_learning_report_phases_and_errors():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=(60, 2)), rng.uniform(size=(60, 2))
    rep = learning_report(a, b, exploration_steps=10, training_steps=40, window=10)
    np.testing.assert_allclose(rep["eval_agent"], a[50:].mean(0))
    np.testing.assert_allclose(rep["eval_baseline"], b[50:].mean(0))
    assert rep["training_mean"] == pytest.approx(a[10:50].mean())
    np.testing.assert_array_equal(rep["collapse_windows"], collapse_windows(a[10:50], b[10:50], 10))
    with pytest.raises(ValueError, match="same shape"):
        learning_report(a, b[:, :1], 10, 40, 10)
    with pytest.raises(ValueError, match="finite"):
        collapse_windows(np.full(5, np.nan), np.zeros(5), 2)
    with pytest.raises(ValueError, match="training_steps"):
        learning_report(a, b, 10, 5, 10)
