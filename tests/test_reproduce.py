"""`pyslice reproduce --quick`: every figure and table entry is produced and finite; resume skips
finished phases; a second run into the same folder is refused."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario
from pyslice.base.statistics import VERDICTS
from pyslice.study.executor import SerialExecutor
from pyslice.study.aggregate import spearman
from pyslice.study.config import PHASES, ReproduceConfig, default_targets
from pyslice.study.experiment import reproduce
from pyslice.study.methods import METHODS
from pyslice.study.results import StudyResults


def _finite_numbers(obj, path="results"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _finite_numbers(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _finite_numbers(v, f"{path}[{i}]")
    elif isinstance(obj, float):
        yield path, obj


@pytest.mark.slow
def test_quick_run_produces_every_figure_and_finite_table(quick_run):
    out, cfg, results = quick_run
    for name in ("fig3_traffic_mask", "fig5_satisfaction_ccdf", "fig6_delay_cdf", "fig7_distance",
                 "fig8_gain_vs_distance", "fig8_gain_curve"):
        data = (out / results["figures"][name]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    for k in default_targets(Scenario.paper()):
        assert (out / results["figures"][f"fig4_reward_cell{k + 1}"]).is_file()
    table = results["table"]
    for metric in ("mean_min_throughput_satisfaction", "share_below_0.95", "mean_max_slice_delay_ms"):
        for policy in METHODS:
            assert math.isfinite(table[metric][policy]["mean"]), (metric, policy)
    for metric in ("median_max_slice_delay_ms", "p95_max_slice_delay_ms", "mean_drop_rate"):
        for policy in METHODS:
            value = table[metric][policy]["mean"]
            assert math.isfinite(value) and value >= 0, (metric, policy)
        assert table["mean_drop_rate"][policy]["mean"] <= 1
    for key in ("tl_gain_over_drl", "nearest_vs_farthest_early_gain", "within_group_distance", "across_group_distance"):
        assert math.isfinite(table[key]["mean"]), key
    claims = results["claims"]
    assert len(claims) == 11 and all(isinstance(c["holds"], bool) and c["verdict"] in VERDICTS for c in claims)
    # the baseline phase came from pretraining's follower replica, with the separate run's bits
    # (tests/test_followers.py), and its done marker says so
    marker = json.loads((out / "seed0" / "baseline" / "done.json").read_text())
    assert marker["follower_of"] == "pretrain" and marker["seconds"] == 0.0
    followers = np.load(out / "seed0" / "pretrain" / "followers.npz")
    baseline = np.load(out / "seed0" / "baseline" / "baseline.npz")
    np.testing.assert_array_equal(baseline["reward"], followers["reward"][:, 0])
    # the new-cell DRL / baseline ratio: per (seed, target) from the evaluation windows, min <= mean
    ratio = table["scratch_over_baseline"]
    per = [t["eval"]["drl_scratch"]["mean_min_throughput_satisfaction"] / t["eval"]["baseline"]["mean_min_throughput_satisfaction"]
           for r in results["per_seed"] for t in r["targets"].values()]
    assert ratio["min"] == pytest.approx(min(per)) and ratio["min"] <= ratio["mean"] + 1e-12
    assert set(results["ablation_strategies"]) == {"integrated", "scratch", "model", "feature", "instance"}
    for m in results["ablation_measures"].values():
        assert math.isfinite(m["regret"]["mean"]) and m["regret"]["mean"] >= 0
    assert results["seeds"] == 1  # one seed: the differences have a mean but no interval
    no_interval = [p for p, v in _finite_numbers(results["differences"], "differences") if not math.isfinite(v)]
    assert no_interval and all(p.rsplit(".", 1)[1] in ("lo", "hi", "se") for p in no_interval)
    # NaN only where one seed has no interval, where a rank correlation is undefined, or where a learner
    # did not reach a level within its run (censored)
    bad = [(p, v) for p, v in _finite_numbers(json.loads((out / "results.json").read_text())) if not math.isfinite(v)
           and "spearman" not in p and p.rsplit(".", 1)[1] not in ("lo", "hi", "se") and ".steps_to_reach." not in p]
    assert not bad, bad[:5]
    report = (out / "report.md").read_text()
    for name, rel in results["figures"].items():
        assert f"]({rel})" in report
    assert sum(results["phase_seconds"].values()) > 0


ROW_METRICS = {"mean min-slice throughput satisfaction": ("mean_min_throughput_satisfaction", 1.0, 5e-4),
               "share of steps below 0.95": ("share_below_0.95", 100.0, 0.05),
               "mean max-slice delay (ms)": ("mean_max_slice_delay_ms", 1.0, 5e-4),
               "95th percentile max-slice delay (ms)": ("p95_max_slice_delay_ms", 1.0, 5e-4),
               "dropped share of offered traffic": ("mean_drop_rate", 100.0, 0.05)}
POLICIES = {"traffic-aware baseline": "baseline", "DRL (converged)": "drl",
            "DRL (new cell, same steps as TL)": "drl_scratch", "TL (integrated, nearest source)": "tl",
            "max-min reference (knows the loads)": "maxmin"}


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", cell)]


def test_results_record_the_build_that_summarised_them(quick_run):
    """results.json keeps pyslice.build_info() of the summarising process (builds round differently),
    it survives the round trip through StudyResults, and report.md names the SIMD level."""
    import pyslice
    out, cfg, results = quick_run
    assert results["build"] == pyslice.build_info() and results["build"]["simd_level"]
    assert StudyResults.from_dict(results).build == results["build"]
    assert f"SIMD level {results['build']['simd_level']}" in (out / "report.md").read_text()
    kept = json.loads((Path(__file__).resolve().parent.parent / "docs" / "data" / "paper.json").read_text())
    assert StudyResults.from_dict({k: v for k, v in kept.items() if k != "build"}).build == {}


@pytest.mark.slow
def test_report_shows_the_results_it_was_given(quick_run):
    """report.md's table, verdicts and intervals are results.json's numbers (parsed back from the
    markdown, to the printed precision), the paper column is results.json's ``paper``."""
    out, cfg, results = quick_run
    report = (out / "report.md").read_text()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in report.splitlines()
            if line.startswith("| ") and line.count("|") == 5]
    checked = 0
    for metric_label, policy_label, paper_cell, ours in rows:
        if metric_label not in ROW_METRICS or policy_label not in POLICIES:
            continue
        key, scale, tol = ROW_METRICS[metric_label]
        policy = POLICIES[policy_label]
        stat = results["table"][key][policy]
        got = _numbers(ours)
        assert abs(got[0] - scale * stat["mean"]) <= tol, (metric_label, policy_label, ours)
        if len(got) > 1:  # "mean ± std" with more than one seed
            assert abs(got[1] - scale * stat["std"]) <= tol
        want_paper = results["paper"].get(key, {}).get(policy)
        if want_paper is None:
            assert paper_cell == "—"
        else:
            assert abs(_numbers(paper_cell)[0] - scale * want_paper) <= 0.5 * scale * 1e-2 + 1e-9
        checked += 1
    assert checked == len(ROW_METRICS) * len(POLICIES)
    lines = report.splitlines()
    bullets = [i for i, line in enumerate(lines) if line.startswith("- **")]
    assert len(bullets) == len(results["claims"])
    for i, claim in zip(bullets, results["claims"]):
        assert lines[i].startswith(f"- **{claim['verdict']}**: {claim['claim']}")
        for line, name in zip(lines[i + 1:], claim["evidence"]):  # one line per difference it rests on
            assert line.startswith(f"  - {name}: ")
            ci = results["differences"][name]
            shown = _numbers(line.split(f"{name}: ", 1)[1])
            if math.isfinite(ci["lo"]):
                assert shown[:3] == pytest.approx([ci["mean"], ci["lo"], ci["hi"]], rel=5e-3, abs=1e-12)
            else:
                assert shown[0] == pytest.approx(ci["mean"], rel=5e-3, abs=1e-12) and "no interval" in line
    per_cell_rows = [line for line in report.splitlines() if re.match(r"\| \d+ \| ", line)]
    assert len(per_cell_rows) == len(results["per_cell"]) * len(POLICIES)


@pytest.mark.slow
def test_resume_skips_finished_phases_and_refuses_overwrite(quick_run, tmp_path):
    out, cfg, results = quick_run
    with pytest.raises(FileExistsError):
        reproduce(Scenario.paper(), cfg, out, executor=SerialExecutor(), progress=False)
    markers = {p: (out / "seed0" / p / "done.json").read_text() for p in PHASES}
    again = reproduce(Scenario.paper(), cfg, out, executor=SerialExecutor(), resume=True, progress=False)
    assert {p: (out / "seed0" / p / "done.json").read_text() for p in PHASES} == markers  # nothing redone
    assert again["table"] == results["table"]
    # the run's wall time and peak memory cover both sessions
    assert again["wall_seconds"] > results["wall_seconds"] > 0
    for key in ("all_processes_mb", "largest_process_mb"):
        assert again["peak_memory"][key] >= results["peak_memory"][key] > 0
    with pytest.raises(ValueError, match="another scenario or configuration"):
        reproduce(Scenario.paper(), replace(cfg, tl_steps=cfg.tl_steps + 1), out, executor=SerialExecutor(),
                  resume=True, progress=False)


def test_spearman_closed_forms():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


@pytest.mark.slow
def test_pick_statistics_are_shares_and_consistent(quick_run):
    """Each measure's in-group pick share is a mean of 0/1 picks of the study's targets."""
    out, cfg, results = quick_run
    for name, m in results["ablation_measures"].items():
        assert 0.0 <= m["picked_in_group"]["mean"] <= 1.0 and 0.0 <= m["pick_accuracy_all_cells"]["mean"] <= 1.0
        picks = [t["measures"][name]["picked_in_group"] for r in results["per_seed"] for t in r["targets"].values()
                 if t["swept"]]  # the measure ablation needs the all-sources sweep
        assert set(picks) <= {0.0, 1.0}
        assert m["picked_in_group"]["mean"] == pytest.approx(sum(picks) / len(picks))


def test_target_cells_keep_only_their_few_samples():
    import numpy as np

    from pyslice.study.experiment import few_target_samples

    samples = np.arange(4 * 10 * 2, dtype=float).reshape(4, 10, 2)
    agents = few_target_samples(samples, (1, 3), 4)
    assert [a.shape[0] for a in agents] == [10, 4, 10, 4]
    np.testing.assert_array_equal(agents[1], samples[1, :4])  # the first samples, in time order
    assert [a.shape[0] for a in few_target_samples(samples, (1, 3), None)] == [10] * 4


@pytest.mark.parametrize("field, value, match", [
    ("target_samples", 1, "target_samples"), ("target_samples", 501, "target_samples"),
    ("target_samples", 2.5, "target_samples"), ("instance_rewards", "mine", "instance_rewards"),
    ("source_measure", "cosine", "source_measure")])
def test_config_rejects_bad_study_options(field, value, match):
    with pytest.raises(ValueError, match=match):
        ReproduceConfig(**{field: value})


def test_config_from_old_runs_keeps_their_analysis():
    """A reproduce.json written before these options existed resumes with the old behaviour."""
    from pyslice.study.config import config_from_dict

    d = ReproduceConfig().to_dict()
    for key in ("target_samples", "instance_rewards", "source_measure"):
        d.pop(key)
    cfg = config_from_dict(d)
    assert (cfg.target_samples, cfg.instance_rewards, cfg.source_measure) == (None, "source", "vae-kl-equal-sigma")


@pytest.mark.slow
def test_claims_carry_verdicts_from_paired_intervals(quick_run):
    from pyslice.base.statistics import VERDICTS

    out, cfg, results = quick_run
    diffs = results["differences"]
    for c in results["claims"]:
        assert c["verdict"] in VERDICTS and c["holds"] == (c["verdict"] == "holds")
        assert all(name in diffs for name in c["evidence"])
        if c["evidence"]:  # the quick run has one seed: no interval may decide a claim
            assert c["verdict"] == "not resolved"
    for name, ci in diffs.items():  # one seed: a mean, no interval
        assert ci["n_seeds"] <= 1 and math.isnan(ci["lo"]) and math.isnan(ci["hi"]), name
    # the paired difference is the mean of per-target differences
    sat = "mean_min_throughput_satisfaction"
    per = [t["eval"]["tl"][sat] - t["eval"]["drl"][sat] for r in results["per_seed"] for t in r["targets"].values()]
    assert diffs[f"{sat}: tl - drl"]["mean"] == pytest.approx(sum(per) / len(per))
    assert "### Paired differences" in (out / "report.md").read_text()


def test_transfer_units_sweep_only_the_sweep_targets():
    import numpy as np

    from pyslice.study.experiment import _target_chunks, transfer_units

    D = np.arange(144, dtype=float).reshape(12, 12) % 7
    cfg = ReproduceConfig()
    listed = transfer_units(cfg, D, (0, 3, 5), (3,))
    units = {u.folder: u.spec for u in listed}
    assert set(units) == {f"target{k}/{kind}" for k in (0, 3, 5) for kind in ("integrated", "scratch_full")} | {
        "target3/model", "target3/feature", "target3/instance", "target0/early_sources", "target5/early_sources"}
    ranked5 = sorted((i for i in range(12) if i != 5), key=lambda i: (D[i, 5], i))
    assert units["target5/integrated"].sources == (ranked5[0], ranked5[-1])  # nearest and farthest
    # every other source gets the early window; nothing twice
    assert units["target5/early_sources"].sources == tuple(ranked5[1:-1])
    assert len(units["target3/integrated"].sources) == 11
    assert units["target3/model"].sources == (units["target3/integrated"].sources[0],)
    steps = {u.folder: (u.steps, u.eval_steps) for u in listed}
    assert steps["target5/integrated"] == (cfg.tl_steps, cfg.train.evaluation_steps)
    assert steps["target5/early_sources"] == (min(cfg.early_window, cfg.tl_steps), 0)
    assert steps["target5/scratch_full"] == (cfg.train.exploration_steps + cfg.train.training_steps, 0)
    assert units["target5/scratch_full"].sources == () and units["target5/scratch_full"].include_scratch
    lean = ReproduceConfig(ablations=False, all_sources=False, sample_efficiency=False)
    assert [u.folder for u in transfer_units(lean, D, (3,), (3,))] == ["target3/integrated"]
    # chunks cover every target once and keep the workers busy
    for n_targets, seeds, workers in ((12, 5, 2), (12, 1, 2), (2, 3, 2), (1, 1, 8)):
        chunks = _target_chunks(tuple(range(n_targets)), seeds, workers)
        assert sorted(k for c in chunks for k in c) == list(range(n_targets))
        assert seeds * len(chunks) >= min(workers, seeds * n_targets)


def test_config_rejects_bad_sweep_targets():
    with pytest.raises(ValueError, match="sweep_targets"):
        ReproduceConfig(sweep_targets=(1, 1))
    assert ReproduceConfig(sweep_targets=()).sweep_targets == ()  # no sweep: nearest and farthest only
    with pytest.raises(ValueError, match="targets"):
        ReproduceConfig(targets=())


def test_progress_files_count_steps_inside_phases(tmp_path):
    from pyslice.study.experiment import PROGRESS, _Progress, phase_steps

    tick = _Progress(tmp_path / "seed0" / "transfer", 300, tag="3")  # creates the folder
    tick(1)
    assert (tmp_path / "seed0" / "transfer" / f"{PROGRESS}.3").read_text() == "1 300"
    tick(2)  # throttled: at most one write a second
    assert (tmp_path / "seed0" / "transfer" / f"{PROGRESS}.3").read_text() == "1 300"
    tick(300)  # the last step is always written
    assert (tmp_path / "seed0" / "transfer" / f"{PROGRESS}.3").read_text() == "300 300"
    cfg = ReproduceConfig.quick()
    assert phase_steps(cfg, "pretrain") == cfg.train.total_steps
    horizon = max(cfg.tl_steps, cfg.train.exploration_steps + cfg.train.training_steps) + cfg.train.evaluation_steps
    assert phase_steps(cfg, "evaluate") == 3 * horizon  # baseline, converged DRL and max-min


@pytest.mark.slow
def test_a_run_of_an_earlier_version_resumes(quick_run, tmp_path):
    """A reproduce.json without the fields added since (here sweep_targets) still resumes: the saved
    configuration is read with their defaults; a real difference is still refused."""
    import shutil

    out, cfg, results = quick_run
    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "reproduce.json").read_text())
    del meta["config"]["sweep_targets"]
    (copy / "reproduce.json").write_text(json.dumps(meta))
    again = reproduce(Scenario.paper(), cfg, copy, executor=SerialExecutor(), resume=True, progress=False)
    assert again["table"] == results["table"]
    # the run's wall time and peak memory cover both sessions
    assert again["wall_seconds"] > results["wall_seconds"] > 0
    for key in ("all_processes_mb", "largest_process_mb"):
        assert again["peak_memory"][key] >= results["peak_memory"][key] > 0
    with pytest.raises(ValueError, match="another scenario or configuration"):
        reproduce(Scenario.paper(), replace(cfg, tl_steps=cfg.tl_steps + 1), copy, executor=SerialExecutor(),
                  resume=True, progress=False)


def test_study_targets_default_to_every_cell():
    from pyslice.study.config import config_from_dict, study_targets

    sc = Scenario.paper()
    cfg = ReproduceConfig()
    assert cfg.seeds >= 5 and study_targets(sc, cfg) == tuple(range(12))
    assert study_targets(sc, replace(cfg, targets=None)) == default_targets(sc) == (0, 3)
    assert study_targets(sc, replace(cfg, targets=(4, 7))) == (4, 7)
    assert study_targets(sc, replace(cfg, targets="all")) == tuple(range(12))
    assert config_from_dict(json.loads(json.dumps(cfg.to_dict()))).targets == "auto"
    with pytest.raises(ValueError, match="targets"):
        ReproduceConfig(targets="some")


@pytest.mark.slow
def test_every_target_entry_is_a_typed_result(quick_run):
    """results.json's per-target entries are TargetResult's JSON form: they rebuild and serialise
    back to the same document, with one evaluation window per method."""
    from pyslice.study.methods import METHODS
    from pyslice.study.results import StudyResults, TargetResult

    _, _, results = quick_run
    assert StudyResults.from_dict(results).to_dict() == results
    for seed_row in results["per_seed"]:
        for entry in seed_row["targets"].values():
            typed = TargetResult.from_dict(entry)
            assert typed.to_dict() == entry and tuple(typed.eval) == METHODS
    bad = dict(next(iter(results["per_seed"][0]["targets"].values())))
    bad["eval"] = {m: w for m, w in bad["eval"].items() if m != "tl"}
    with pytest.raises(ValueError, match="one window per method"):
        TargetResult.from_dict(bad)


@settings(max_examples=40, deadline=None)
@given(rings=st.integers(0, 4), wrap=st.booleans(), n=st.integers(1, 20), profiles=st.sampled_from([(0,), (0, 1), (1, 0, 0)]))
def test_spread_targets_cover_groups_and_edges(rings, wrap, n, profiles):
    """Every cell of a small network; else n distinct cells, one per site while sites last, from both
    requirement groups and, without wrap-around, from edge and interior sites alike."""
    from pyslice.study.config import spread_targets

    sc = Scenario.paper()
    sc = replace(sc, layout=replace(sc.layout, kind="hex", rings=rings, wrap_around=wrap and rings > 0),
                 requirements=replace(sc.requirements, site_profile=profiles))
    K, S = sc.n_cells, sc.layout.n_sites
    t = spread_targets(sc, n)
    assert t == tuple(sorted(set(t))) and all(0 <= k < K for k in t)
    if K <= n:
        assert t == tuple(range(K))
        return
    assert len(t) == n
    sites = [k // 3 for k in t]
    assert len(set(sites)) == min(n, S)  # a site a second time only once every site has one
    groups = {profiles[s % len(profiles)] for s in range(S)}
    if n >= len(groups):
        assert {profiles[s % len(profiles)] for s in sites} == groups
    if not sc.layout.wrap_around and rings >= 2 and n >= 2 * len(groups):
        outer = set(range(1 + 3 * (rings - 1) * rings, S))  # the last ring of the hex grid: the edge
        assert any(s in outer for s in sites) and any(s not in outer for s in sites)


def test_transfer_batches_keep_within_the_replica_budget():
    """Units of one length share a batch until the next would pass BATCH_REPLICA_CELLS replica-cells;
    a unit over the budget runs alone; the paper scenario's default batches are not split."""
    import numpy as np

    from pyslice.study.experiment import BATCH_REPLICA_CELLS, _batches, _replicas, transfer_units

    cfg = ReproduceConfig()
    for K, targets in ((12, tuple(range(6))), (57, (0, 4, 8, 9, 13, 17))):
        D = np.random.default_rng(K).random((K, K))
        units = transfer_units(cfg, D, targets, (0,))
        groups = _batches(units, K)
        assert [u for g in groups for b in g for u in b] == sorted(units, key=lambda u: [
            (x.steps, x.eval_steps) for x in units].index((u.steps, u.eval_steps)))  # grouped, in order
        for g in groups:
            assert len({(u.steps, u.eval_steps) for b in g for u in b}) == 1
            for b in g:
                assert len(b) == 1 or sum(map(_replicas, b)) * K <= BATCH_REPLICA_CELLS
        if K == 12:
            assert all(len(g) == 1 for g in groups)  # the paper's batches as before
        else:
            assert max(len(g) for g in groups) > 1


@settings(max_examples=60, deadline=None)
@given(n_sources=st.integers(1, 120), n=st.one_of(st.none(), st.integers(2, 40)))
def test_sweep_sources_spread_over_the_ranking(n_sources, n):
    from pyslice.study.experiment import spread_sources
    ranked = list(range(100, 100 + n_sources))[::-1]  # any order: the ranking is the list's
    picked = spread_sources(ranked, n)
    assert len(picked) == (n_sources if n is None else min(n, n_sources))
    assert picked[0] == ranked[0] and picked[-1] == ranked[-1]
    positions = [ranked.index(s) for s in picked]
    assert positions == sorted(set(positions))  # distinct, in ranking order
    if n is not None and n_sources > n:  # evenly spread: gaps differ by at most one
        gaps = np.diff(positions)
        assert gaps.max() - gaps.min() <= 1


def test_the_paper_sweep_runs_every_source_and_a_larger_network_a_spread():
    from pyslice.study.experiment import transfer_units
    cfg = ReproduceConfig()
    D = np.random.default_rng(0).random((12, 12))
    sweep = next(u for u in transfer_units(cfg, D, (3,), (3,)) if u.folder == "target3/integrated")
    assert len(sweep.spec.sources) == 11
    D57 = np.random.default_rng(1).random((57, 57))
    units = {u.folder: u for u in transfer_units(cfg, D57, (3,), (3,))}
    assert len(units["target3/integrated"].spec.sources) == 11
    # the rest run the early window, so that every source is measured there
    assert sorted(units["target3/integrated"].spec.sources + units["target3/early_sources"].spec.sources) == \
        [k for k in range(57) if k != 3]
    with pytest.raises(ValueError, match="sweep_sources"):
        ReproduceConfig(sweep_sources=1)
