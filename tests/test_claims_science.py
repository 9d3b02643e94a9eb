"""The science of the study's claims (pyslice.study.claims and the numbers they rest on): each claim
follows the sign of its own difference in the paper's direction, reads the right window (the early
one or the evaluation window after convergence), reports the t-interval on the per-seed means, and
the inputs (sample efficiency, source choice, the figures) are what the study's numbers say.

Every expected value here is computed in the test from the synthetic data, not read back from the code."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from helpers import target_result
from pyslice.study.claims import (BEST_OVER_PICK, DELAY, EARLY_EQUAL, EARLY_NORMALISED, EQUAL, GROUPS,
                                  LOG_STEPS_MARGIN, LOW, MARGINS, NEAREST, NORMALISED, PICK_OVER_RANDOM, RELATIVE,
                                  REWARD_MARGIN, SAT, STEPS, judge_claims, log_steps_ratio, paired_differences)
from pyslice.study.efficiency import normalised_gain, normalised_gain_curve, steps_to_reach
from pyslice.study.results import SeedResult, WindowStats
from pyslice.study.source_choice import source_choice

SEEDS, CELLS = 5, (1, 4, 7, 10)
MEASURE = "vae-kl-equal-sigma"  # the study's source measure in these synthetic results


def win(sat=0.8, low=0.3, delay=2.0):
    return WindowStats(mean_min_throughput_satisfaction=sat, share_below_095=low, mean_max_slice_delay_ms=delay,
                       median_max_slice_delay_ms=delay, p95_max_slice_delay_ms=2 * delay)


def evals(sat=0.0, low=0.0, delay=0.0):
    """Evaluation windows where TL beats DRL and DRL beats the baseline by the given amounts (each in
    the paper's direction: satisfaction up, share below 0.95 and delay down)."""
    return {"baseline": win(), "drl": win(0.8 + sat, 0.3 - low, 2.0 - delay),
            "tl": win(0.8 + 2 * sat, 0.3 - 2 * low, 2.0 - 2 * delay), "drl_scratch": win(), "maxmin": win()}


def effects(effect, jitter):
    """[seeds, cells] per-(seed, target) effects: ``effect`` plus noise whose seed means are
    effect + jitter·(s − 2) (so they average to ``effect`` exactly and have a spread)."""
    s, j = np.meshgrid(np.arange(SEEDS), np.arange(len(CELLS)), indexing="ij")
    return effect + jitter * ((s - 2) + 0.5 * (j - 1.5))


def per_seed(fields, d):
    """Synthetic results: target (s, k) gets ``fields(d[s, j])``; the seed's across − within group
    distance is its mean effect."""
    return [SeedResult(seed=s, within_group_distance=0.1, across_group_distance=0.1 + float(d[s].mean()),
                       pick_accuracy_all_cells={},
                       targets={k: target_result([0], [0.1], **fields(float(d[s, j]))) for j, k in enumerate(CELLS)})
            for s in range(SEEDS)]


def judge(seeds, early_window=50, worst_ratio=1.0):
    diff = paired_differences(seeds, CELLS, MEASURE)
    return diff, judge_claims(diff, worst_ratio, early_window)


def claim_on(claims, links):
    found = [c for c in claims if c.evidence == links]
    assert len(found) == 1, [c.evidence for c in claims]
    return found[0]


def steps_fields(level, d):
    """Scratch needs exp(d) × TL's steps to reach ``level`` and exp(−d) × to reach the other level."""
    other = {0.9: 0.95, 0.95: 0.9}[level]
    return {"steps_to_reach": {"tl": {"0.9": 100.0, "0.95": 100.0},
                               "scratch": {f"{level:g}": 100.0 * math.exp(d), f"{other:g}": 100.0 * math.exp(-d)}},
            "horizon": {"tl": 1000, "scratch": 1000}}


#: claim -> (its links, direction, margin, sign of the raw difference for an effect in the paper's
#: direction, the target fields giving that effect)
CASES = {
    "satisfaction": ([f"{SAT}: tl - drl", f"{SAT}: drl - baseline"], "greater", MARGINS[SAT], 1,
                     lambda d: {"eval": evals(sat=d)}),
    "share below 0.95": ([f"{LOW}: tl - drl", f"{LOW}: drl - baseline"], "less", MARGINS[LOW], -1,
                         lambda d: {"eval": evals(low=d)}),
    "delay": ([f"{DELAY}: tl - drl", f"{DELAY}: drl - baseline"], "less", MARGINS[DELAY], -1,
              lambda d: {"eval": evals(delay=d)}),
    "early": ([EARLY_EQUAL], "greater", MARGINS[RELATIVE], 1, lambda d: {"tl_early_gain_equal_training_steps": d}),
    "equal steps": ([NORMALISED], "greater", MARGINS[RELATIVE], 1, lambda d: {"tl_gain_normalised": d}),
    "steps 0.9": ([STEPS[0.9]], "greater", LOG_STEPS_MARGIN, 1, lambda d: steps_fields(0.9, d)),
    "steps 0.95": ([STEPS[0.95]], "greater", LOG_STEPS_MARGIN, 1, lambda d: steps_fields(0.95, d)),
    "source pick": ([PICK_OVER_RANDOM], "greater", REWARD_MARGIN, 1, lambda d: {"source_choice": {
        MEASURE: {"picked_source": 0.0, "gain_over_random": d, "shortfall_from_best": 0.0},
        "other measure": {"picked_source": 2.0, "gain_over_random": -d, "shortfall_from_best": 0.0}}}),
    "nearest": ([NEAREST], "greater", MARGINS[RELATIVE], 1, lambda d: {"nearest_vs_farthest_early_gain": d}),
    "groups": ([GROUPS], "greater", None, 1, lambda d: {}),
}


@pytest.mark.parametrize("state, expected", [(1, "holds"), (-1, "does not hold"), (0, "equivalent")])
@pytest.mark.parametrize("case", list(CASES))
def test_each_claim_follows_the_sign_of_its_difference(case, state, expected):
    links, direction, margin, sign, fields = CASES[case]
    scale = 0.05 if margin is None else margin  # effects well beyond the margin, noise well within it
    d = effects(state * 5 * scale, scale / 10)
    diff, claims = judge(per_seed(fields, d))
    c = claim_on(claims, links)
    if margin is None and expected == "equivalent":
        expected = "not resolved"  # no margin: no equivalence verdict
    assert (c.direction, c.margin) == (direction, margin)
    assert c.verdict == expected and c.holds == (expected == "holds")
    assert c.link_verdicts == dict.fromkeys(links, expected)
    # the reported interval is the t-interval on the per-seed means of the raw differences
    means = sign * d.mean(axis=1)
    half = stats.t.ppf(0.975, SEEDS - 1) * means.std(ddof=1) / math.sqrt(SEEDS)
    for link in links:
        ci = diff[link]
        assert (ci.n_seeds, ci.df, ci.n) == (SEEDS, SEEDS - 1, SEEDS * (len(CELLS) if case != "groups" else 1))
        assert ci.mean == pytest.approx(means.mean(), abs=1e-9)
        assert (ci.lo, ci.hi) == (pytest.approx(means.mean() - half, abs=1e-9),
                                  pytest.approx(means.mean() + half, abs=1e-9))


@pytest.mark.parametrize("ratio, expected", [(0.8, "holds"), (0.79, "does not hold")])
def test_sound_learner_check_is_the_worst_scratch_over_baseline_ratio(ratio, expected):
    _, claims = judge(per_seed(lambda d: {}, effects(0.0, 0.01)), worst_ratio=ratio)
    assert claim_on(claims, []).verdict == expected


def test_claims_without_their_data_are_left_out_and_equal_steps_falls_back_to_raw_rewards():
    _, claims = judge(per_seed(lambda d: {"tl_gain_equal_training_steps": d}, effects(0.1, 0.002)))
    evidence = [c.evidence for c in claims]
    assert [STEPS[0.9]] not in evidence and [STEPS[0.95]] not in evidence and [PICK_OVER_RANDOM] not in evidence
    assert claim_on(claims, [EQUAL]).verdict == "holds"


@pytest.mark.parametrize("sign", [1, -1])
def test_convergence_claims_read_the_evaluation_window_not_the_early_one(sign):
    expected = "holds" if sign > 0 else "does not hold"
    early = -sign * 0.5  # every early number says the opposite
    seeds = per_seed(lambda d: {"eval": evals(sat=d, low=d, delay=d), "tl_early_gain_equal_training_steps": early,
                                "tl_early_gain_over_drl": early, "tl_early_gain_normalised": early,
                                "early_reward_nearest": 0.5 + early / 2, "early_reward_scratch": 0.5 - early / 2,
                                "strategies": {"integrated": {"early_reward": 0.5 + early / 2, "eval_reward": 0.5},
                                               "scratch": {"early_reward": 0.5 - early / 2, "eval_reward": 0.5}}},
                     effects(sign * 0.05, 0.001))
    _, claims = judge(seeds)
    for links in (CASES["satisfaction"][0], CASES["share below 0.95"][0], CASES["delay"][0]):
        assert claim_on(claims, links).verdict == expected, links


@pytest.mark.parametrize("sign", [1, -1])
def test_early_claim_reads_the_early_window_at_equal_training_steps(sign):
    """Early, at equal training steps: TL better (both measures of it); over the whole run, or early
    but against scratch's exploration, worse."""
    expected = "holds" if sign > 0 else "does not hold"
    seeds = per_seed(lambda d: {"tl_early_gain_equal_training_steps": d, "tl_early_gain_normalised": d,
                                "tl_gain_equal_training_steps": -d, "tl_gain_normalised": -d,
                                "tl_early_gain_over_drl": -d, "tl_gain_over_drl": -d}, effects(sign * 0.2, 0.005))
    _, claims = judge(seeds)
    (early,) = [c for c in claims if c.claim.startswith("TL starts far higher")]
    assert early.evidence[0] in (EARLY_EQUAL, EARLY_NORMALISED) and early.verdict == expected
    assert "first 50 training steps" in early.claim


@pytest.mark.parametrize("normalised", [True, False])
@pytest.mark.parametrize("sign", [1, -1])
def test_equal_steps_claim_reads_the_whole_run(sign, normalised):
    """TL's whole run against scratch's after its exploration (relative to converged DRL where the
    long scratch run allows): the early window says the opposite."""
    expected = "holds" if sign > 0 else "does not hold"

    def fields(d):
        whole = {"tl_gain_normalised": d, "tl_gain_equal_training_steps": -d} if normalised else \
            {"tl_gain_equal_training_steps": d}
        return {**whole, "tl_early_gain_normalised": -d if normalised else None,
                "tl_early_gain_equal_training_steps": -d}

    _, claims = judge(per_seed(fields, effects(sign * 0.2, 0.005)))
    (c,) = [c for c in claims if c.claim.startswith("TL gains over DRL at equal training steps")]
    assert c.evidence == [NORMALISED if normalised else EQUAL] and c.verdict == expected


def test_equal_training_step_gains_compare_tl_with_scratch_after_its_exploration():
    """aggregate's raw gains: TL's steps [0, W) against scratch's [E, E + W), over the first
    ``early`` training steps and over the whole training window (hand-made rewards)."""
    from pyslice.study.aggregate import _equal_training_step_gains
    E, T = 20, 100
    tl = np.r_[np.full(10, 0.9), np.full(T - 10, 0.3)]
    scratch = np.r_[np.full(E, 0.05), np.full(10, 0.3), np.full(T - E - 10, 0.8)]
    sweep = SimpleNamespace(scratch_exploration_steps=E, steps=T, include_scratch=True,
                            target_reward=np.stack([tl, scratch]))
    gains = _equal_training_step_gains(sweep, 0, 10)
    assert gains["tl_early_gain_equal_training_steps"] == pytest.approx(0.9 / 0.3 - 1)  # > 0 early
    whole = (10 * 0.9 + 70 * 0.3) / 80 / ((10 * 0.3 + 70 * 0.8) / 80) - 1  # W = T - E = 80
    assert gains["tl_gain_equal_training_steps"] == pytest.approx(whole) and whole < 0


def test_steps_to_reach_a_share_of_converged_drl():
    ramp = np.arange(200) / 100  # reward t/100 at step t
    # the mean of the last 10 rewards after n steps, (n − 5.5)/100, first reaches 0.9 at n = 96
    assert steps_to_reach(ramp, np.ones(200), 0.9, 10) == 96
    assert math.isnan(steps_to_reach(np.minimum(ramp, 0.5), np.ones(200), 0.9, 10))  # censored
    assert math.isnan(steps_to_reach(ramp, np.ones(50), 0.9, 10))  # only the steps both runs have
    # against converged DRL on the same steps: it drops from 1 to 0.5 at step 50, so a constant 0.5
    # reaches 0.9 of it once the last 5 steps hold no 1: after 55 steps
    assert steps_to_reach(np.full(100, 0.5), np.r_[np.ones(50), np.full(50, 0.5)], 0.9, 5) == 55
    assert steps_to_reach(np.full(10, 0.9), np.ones(10), 0.9, 1) == 1  # reaching counts


def test_log_steps_ratio_is_scratch_over_tl_and_counts_the_horizon_when_censored():
    t = target_result([0], [0.1], steps_to_reach={"tl": {"0.9": 100.0, "0.95": math.nan},
                                                  "scratch": {"0.9": 400.0, "0.95": math.nan}},
                      horizon={"tl": 500, "scratch": 2000})
    assert log_steps_ratio(t, 0.9) == pytest.approx(math.log(4))  # TL 4 × faster: > 0
    assert log_steps_ratio(t, 0.95) == pytest.approx(math.log(2000 / 500))
    assert math.isnan(log_steps_ratio(target_result([0], [0.1]), 0.9))


def test_normalised_gain_and_its_curve_by_hand():
    E = 20
    tl = np.r_[np.full(10, 0.8), np.full(90, 0.3)]
    scratch = np.r_[np.zeros(E), np.full(100, 0.4)]
    drl = np.r_[np.full(50, 1.0), np.full(70, 0.5)]
    # whole run (W = 100): TL 35 of DRL's 75 on [0, 100), scratch 40 of DRL's 65 on [20, 120)
    assert normalised_gain(tl, scratch, drl, E) == pytest.approx((35 / 75) / (40 / 65) - 1)
    # the first 10 training steps: TL 8 of 10, scratch 4 of 10 after its exploration
    assert normalised_gain(tl, scratch, drl, E, 10) == pytest.approx(8 / 4 - 1)
    assert (35 / 75) / (40 / 65) - 1 < 0 < 8 / 4 - 1  # the early and the whole-run gain differ in sign
    assert math.isnan(normalised_gain(tl, np.zeros(120), drl, E))  # scratch never rewarded
    curve = normalised_gain_curve(tl, scratch, drl, E)
    assert curve.shape == (100,)
    assert curve[9] == pytest.approx(8 / 10 - 4 / 10)
    assert curve[-1] == pytest.approx(35 / 75 - 40 / 65)


def test_source_choice_picks_the_nearest_source_and_scores_it_against_random_and_best():
    early = {0: 0.5, 2: 0.8, 3: 0.2, 5: 0.6}
    D = np.full((6, 6), 9.0)
    D[[0, 2, 3, 5], 1] = [0.3, 0.5, 0.1, 0.9]  # D[source, target 1]
    D[4, 1] = 0.01  # not a source
    D[1, [0, 2, 3, 5]] = [0.0, 0.0, 0.0, 0.0]  # the transposed entries: must not be read
    tie = np.full((6, 6), 9.0)
    tie[[2, 5], 1] = 0.2
    out = source_choice(early, {"a": D, "tie": tie}, target=1)
    mean = (0.5 + 0.8 + 0.2 + 0.6) / 4
    assert out["a"]["picked_source"] == 3
    assert out["a"]["gain_over_random"] == pytest.approx(0.2 - mean)
    assert out["a"]["shortfall_from_best"] == pytest.approx(0.8 - 0.2)
    assert out["tie"] == pytest.approx({"picked_source": 2, "gain_over_random": 0.8 - mean, "shortfall_from_best": 0})


def test_source_pick_claims_read_the_study_measure():
    d = effects(0.05, 0.001)
    _, claims = judge(per_seed(CASES["source pick"][4], d))
    diff = paired_differences(per_seed(CASES["source pick"][4], d), CELLS, "other measure")
    assert claim_on(claims, [PICK_OVER_RANDOM]).verdict == "holds"
    assert diff[PICK_OVER_RANDOM].mean == pytest.approx(-0.05) and diff[BEST_OVER_PICK].mean == 0


#: Figs. 5 and 6's legend labels (besides DRL in the new cell, labelled with its steps).
LABELS = {"traffic-aware baseline": "baseline", "DRL (converged)": "drl", "TL from nearest source": "tl",
          "max-min reference": "maxmin"}


@pytest.mark.slow
def test_fig5_and_fig6_plot_the_evaluation_windows_of_results_json(quick_run, tmp_path, monkeypatch):
    """Re-aggregate a copy of the quick run, keeping what Figs. 5 and 6 are handed and draw: each
    method's samples are its (seed, target) evaluation windows of results.json, and the plotted
    CCDF at 0.95 is 1 − the table's share below 0.95."""
    import matplotlib.pyplot as plt

    from pyslice import Scenario
    from pyslice.study import aggregate as agg
    from pyslice.study import figures
    out, cfg, _ = quick_run
    study = tmp_path / "study"
    shutil.copytree(out, study)
    given, drawn = {}, {}
    for name in ("ccdf", "cdf"):
        def keep(samples, path, *a, _name=name, _f=getattr(figures, name), **k):
            given[_name] = {label: np.asarray(x) for label, x in samples.items()}
            return _f(samples, path, *a, **k)
        monkeypatch.setattr(figures, name, keep)
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.setdefault(Path(path).name, fig) and Path(path))
    agg.aggregate(Scenario.paper(), cfg, study)
    results = json.loads((out / "results.json").read_text())
    assert json.loads((study / "results.json").read_text())["table"] == results["table"]
    E = cfg.train.evaluation_steps
    ev = slice(cfg.tl_steps, cfg.tl_steps + E)
    evaluation = np.load(out / "seed0" / "evaluate" / "evaluation.npz")
    lines = {line.get_label(): line for line in drawn["fig5_satisfaction_ccdf.png"].axes[0].get_lines()}
    pairs = [(s, k) for s in range(cfg.seeds) for k in results["targets"]]
    for label, sat in given["ccdf"].items():
        method = "drl_scratch" if label.startswith("DRL (new cell") else LABELS[label]
        delay = given["cdf"][label]
        assert sat.shape == delay.shape == (len(pairs) * E,)
        for i, (s, k) in enumerate(pairs):  # one evaluation window per (seed, target), in order
            w = results["per_seed"][s]["targets"][str(k)]["eval"][method]
            chunk = sat[i * E:(i + 1) * E]
            assert chunk.mean() == pytest.approx(w["mean_min_throughput_satisfaction"], abs=1e-12)
            assert (chunk < 0.95).mean() == pytest.approx(w["share_below_0.95"], abs=1e-12)
            assert np.median(delay[i * E:(i + 1) * E]) == pytest.approx(max(w["median_max_slice_delay_ms"], 1e-3))
            if method in ("baseline", "drl", "maxmin"):  # the evaluate phase's steps after the TL run's
                np.testing.assert_array_equal(chunk, evaluation[f"{method}_satisfaction"][ev, k])
        x, y = lines[label].get_xdata(), lines[label].get_ydata()
        assert not np.any(x == 0.95)
        i = np.searchsorted(x, 0.95, side="right") - 1
        plotted = 1.0 if i < 0 else y[i]  # the step curve 1 − F at 0.95
        assert 1 - plotted == pytest.approx(results["table"]["share_below_0.95"][method]["mean"], abs=1e-12)
    assert len(given["ccdf"]) == 5
    plt.close("all")
