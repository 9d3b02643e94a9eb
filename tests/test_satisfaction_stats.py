"""Delay and drop statistics of pyslice.sim.satisfaction: closed forms and the outage convention."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyslice.sim.satisfaction import delay_statistics, drop_rate, max_slice_delay, reward


def test_all_outage_slice_counts_as_unserved_in_reward_and_delay():
    """A slice with users but none served (all in outage): the core reports delay 0 and throughput
    0. Eq. 2 gives it satisfaction 0; with the outage convention its delay is the starved cap, not 0."""
    delay = np.array([[0.001, 0.0, 0.002]])
    tput = np.array([[5e6, 0.0, 5e6]])
    users = np.array([[3, 2, 0]])
    outage = np.array([[0, 2, 0]])
    req_t, req_d = np.full((1, 3), 1e6), np.full((1, 3), 0.003)
    assert reward(tput, delay, users, req_t, req_d)[0] == 0.0
    assert max_slice_delay(delay, users)[0] == pytest.approx(0.001)  # without the convention: 0 for the slice
    assert max_slice_delay(delay, users, outage, 10.0)[0] == 10.0
    # a slice without users is ignored either way (the third slice's 2 ms does not count)
    assert max_slice_delay(delay, users, np.zeros_like(outage), 10.0)[0] == pytest.approx(0.001)


@settings(max_examples=50, deadline=None)
@given(demand=hnp.arrays(np.float64, (3, 4), elements=st.one_of(st.just(0.0), st.floats(1.0, 1e7))),
       frac=hnp.arrays(np.float64, (3, 4), elements=st.floats(0, 1)))
def test_drop_rate_is_the_dropped_share(demand, frac):
    rate = drop_rate(frac * demand, demand)
    assert ((rate >= 0) & (rate <= 1)).all()
    np.testing.assert_allclose(rate[demand > 0], frac[demand > 0], rtol=1e-12)
    assert (rate[demand == 0] == 0).all()


def test_delay_statistics_closed_form():
    d = np.arange(1, 101) * 1e-3  # 1..100 ms
    s = delay_statistics(d.reshape(10, 10))
    assert s["mean_max_slice_delay_ms"] == pytest.approx(50.5)
    assert s["median_max_slice_delay_ms"] == pytest.approx(50.5)
    assert s["p95_max_slice_delay_ms"] == pytest.approx(95.05)  # linear interpolation between 95 and 96
