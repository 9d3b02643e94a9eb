"""Seed-level t-intervals, TOST equivalence and four-state verdicts (pyslice.base.statistics)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pyslice.base.statistics import (VERDICTS, chain_verdict, effect_excluded, equivalent, seed_mean_interval,
                                     verdict)

groups = st.lists(st.lists(st.floats(-10, 10), min_size=1, max_size=6), min_size=2, max_size=6)


def reference_interval(values, level=0.95):
    """The textbook t-interval on the per-seed means, written out."""
    means = [sum(v) / len(v) for v in values]
    S = len(means)
    m = sum(means) / S
    sd = math.sqrt(sum((x - m) ** 2 for x in means) / (S - 1))
    q = stats.t.ppf(1 - (1 - level) / 2, S - 1)
    return m - q * sd / math.sqrt(S), m + q * sd / math.sqrt(S)


@settings(max_examples=60, deadline=None)
@given(values=groups)
def test_interval_is_the_t_interval_on_seed_means(values):
    ci = seed_mean_interval(values)
    lo, hi = reference_interval(values)
    assert ci["lo"] == pytest.approx(lo, abs=1e-9) and ci["hi"] == pytest.approx(hi, abs=1e-9)
    assert ci["lo"] <= ci["mean"] <= ci["hi"]
    assert ci["n"] == sum(map(len, values)) and ci["n_seeds"] == len(values) and ci["df"] == len(values) - 1


@settings(max_examples=30, deadline=None)
@given(values=groups, shift=st.floats(-5, 5), scale=st.floats(0.1, 10))
def test_interval_is_affine_equivariant(values, shift, scale):
    a = seed_mean_interval(values)
    b = seed_mean_interval([[scale * x + shift for x in v] for v in values])
    assert b["lo"] == pytest.approx(scale * a["lo"] + shift, abs=1e-6)
    assert b["hi"] == pytest.approx(scale * a["hi"] + shift, abs=1e-6)
    narrow = seed_mean_interval(values, level=0.8)
    assert a["lo"] <= narrow["lo"] + 1e-12 and narrow["hi"] <= a["hi"] + 1e-12


def test_one_seed_gives_no_interval_and_nan_is_left_out():
    ci = seed_mean_interval([[1.0, 3.0, float("nan")]])
    assert ci["mean"] == 2.0 and ci["n"] == 2 and ci["n_seeds"] == 1 and math.isnan(ci["lo"]) and math.isnan(ci["se"])
    ci = seed_mean_interval({0: [2.0, 2.0], 1: [2.0, float("nan")], 2: [float("nan")]})
    assert (ci["lo"], ci["mean"], ci["hi"], ci["n"], ci["n_seeds"]) == (2.0, 2.0, 2.0, 3, 2)


@pytest.mark.parametrize("seeds, cells", [(5, 12), (3, 2)])
@pytest.mark.parametrize("cell_noise", ["normal", "skewed"])
def test_coverage_of_a_known_mean(seeds, cells, cell_noise):
    """Synthetic studies with a known mean (a seed effect shared by its cells, plus cell noise that is
    normal or skewed): the 95 % interval covers the mean in ≥ 93 % of 2000 studies (binomial standard
    error at 95 %: 0.5 points)."""
    rng = np.random.default_rng(seeds * 100 + cells)
    n, hits = 2000, 0
    for _ in range(n):
        seed_effect = rng.normal(0, 0.02, (seeds, 1))
        noise = rng.normal(0, 0.03, (seeds, cells)) if cell_noise == "normal" else \
            rng.exponential(0.03, (seeds, cells)) - 0.03
        ci = seed_mean_interval(0.5 + seed_effect + noise)
        hits += ci["lo"] <= 0.5 <= ci["hi"]
    assert 0.93 <= hits / n <= 0.975


def test_more_seeds_narrow_the_interval():
    rng = np.random.default_rng(1)
    few = seed_mean_interval([rng.normal(0, 1, 4) for _ in range(3)])
    many = seed_mean_interval([rng.normal(0, 1, 4) for _ in range(30)])
    assert many["hi"] - many["lo"] < few["hi"] - few["lo"]


def _ci(mean, se, df=4):
    half = stats.t.ppf(0.975, df) * se
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "se": se, "df": df, "n_seeds": df + 1}


def test_tost_is_the_90_percent_interval_inside_the_margin():
    q90 = stats.t.ppf(0.95, 4)
    assert equivalent(_ci(0.0, 0.01), 0.01 * q90 * 1.001)
    assert not equivalent(_ci(0.0, 0.01), 0.01 * q90 * 0.999)
    assert not equivalent(_ci(0.005, 0.001, df=0), 0.1)  # one seed: no test
    with pytest.raises(ValueError, match="margin"):
        equivalent(_ci(0.0, 0.01), 0.0)


def test_four_verdicts():
    assert verdict(_ci(0.2, 0.02)) == "holds"
    assert verdict(_ci(-0.2, 0.02)) == "does not hold"
    assert verdict(_ci(-0.2, 0.02), "less") == "holds"
    assert verdict(_ci(0.001, 0.002), margin=0.01) == "equivalent"
    assert verdict(_ci(0.001, 0.002)) == "not resolved"  # no margin, no equivalence
    assert verdict(_ci(0.001, 0.05), margin=0.01) == "not resolved"  # too wide for either
    assert verdict(_ci(0.05, 0.001), margin=0.1) == "holds"  # significance first
    assert verdict({**_ci(0.2, 0.02), "n_seeds": 1}) == "not resolved"  # one seed decides nothing
    assert verdict({**_ci(0.2, 0.02), "lo": float("nan")}) == "not resolved"
    assert effect_excluded(_ci(0.0, 0.002), 0.02) and not effect_excluded(_ci(0.0, 0.02), 0.02)
    assert not effect_excluded({"lo": float("nan"), "hi": 1.0}, 0.5)


@given(st.lists(st.sampled_from(VERDICTS), min_size=1, max_size=4))
def test_chain_verdicts(links):
    v = chain_verdict(links)
    assert v in VERDICTS
    assert (v == "does not hold") == ("does not hold" in links)
    assert (v == "holds") == all(x == "holds" for x in links)
    assert (v == "equivalent") == (set(links) <= {"holds", "equivalent"} and "equivalent" in links)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="level"):
        seed_mean_interval([[1.0]], level=1.5)
    with pytest.raises(ValueError, match="finite"):
        seed_mean_interval([[float("nan")]])
    with pytest.raises(ValueError, match="direction"):
        verdict({"lo": 0, "hi": 1}, "up")
    with pytest.raises(ValueError, match="unknown verdict"):
        chain_verdict(["maybe"])


def test_power_matches_a_simulated_t_test_and_seeds_needed_is_the_first_to_reach_it():
    from pyslice.base.statistics import power, seeds_needed

    rng = np.random.default_rng(7)
    effect, sd, seeds = 0.03, 0.036, 8
    means = rng.normal(effect, sd, size=(4000, seeds))
    m, se = means.mean(axis=1), means.std(axis=1, ddof=1) / np.sqrt(seeds)
    simulated = np.mean(m - stats.t.ppf(0.975, seeds - 1) * se > 0)
    assert power(effect, sd, seeds) == pytest.approx(simulated, abs=0.025)
    n = seeds_needed(effect, sd)
    assert power(effect, sd, n) >= 0.8 > power(effect, sd, n - 1)
    # the normal-approximation answer ((z_0.975 + z_0.8) sd / effect)^2 plus about one seed
    assert abs(n - ((1.96 + 0.8416) * sd / effect) ** 2) < 3
    assert seeds_needed(-effect, sd) == n  # symmetric in the sign of the effect
    with pytest.raises(ValueError, match="needs more than"):
        seeds_needed(0.0, sd)
    with pytest.raises(ValueError, match="seeds"):
        power(effect, sd, 1)
