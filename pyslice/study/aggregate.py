"""Aggregation of a ``pyslice reproduce`` study: per (seed, target) statistics from the phases'
files, means over seeds, the paired differences and the claims' verdicts (:mod:`pyslice.study.claims`),
``results.json``/``results.csv``, the report and the figures (:func:`aggregate`).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pyslice.base.atomic import write_json
from pyslice.learn.train_log import read_log
from pyslice.sim.satisfaction import kpi_summary
from pyslice.sim.scenario import Scenario
from pyslice.study import figures
from pyslice.study.claims import PAPER, judge_claims, paired_differences
from pyslice.study.config import ABLATION_STRATEGIES, PHASES, ReproduceConfig, cell_groups, study_targets, sweep_targets_of
from pyslice.study.methods import METHODS, WINDOW_METRICS
from pyslice.study.report import write_report
from pyslice.study.results import SeedResult, StudyResults, Summary, TableEntry, TargetResult, WindowStats
from pyslice.study.similarity import (MEASURES, group_separation, load_distances, plot_distance_matrix,
                                      source_group_accuracy)
from pyslice.study.tidy import result_rows, write_rows_csv
from pyslice.study.transfer import TransferResult


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if either is constant."""
    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for value in np.unique(v):  # average ranks of ties
            tied = v == value
            r[tied] = r[tied].mean()
        return r
    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _mean_std(values: list[float]) -> Summary:
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).any():
        return Summary(mean=float("nan"), std=float("nan"), n=0)
    return Summary(mean=float(np.nanmean(v)), std=float(np.nanstd(v)), n=int(np.isfinite(v).sum()))


def aggregate(scenario: Scenario, cfg: ReproduceConfig, out: str | Path, seconds: list[dict[str, float]] | None = None,
              wall: float | None = None) -> dict[str, Any]:
    """Numbers, claims, ablations, figures and ``report.md`` from the per-seed folders."""
    out = Path(out)
    targets = study_targets(scenario, cfg)
    groups = cell_groups(scenario)
    ev = slice(cfg.tl_steps, cfg.tl_steps + cfg.train.evaluation_steps)
    w = min(cfg.early_window, cfg.tl_steps) or 1
    per_seed: list[SeedResult] = []
    pooled: dict[str, list[np.ndarray]] = {k: [] for k in ("sat_baseline", "sat_drl", "sat_tl", "sat_scratch",
                                                             "delay_baseline", "delay_drl", "delay_tl", "delay_scratch")}
    curves: dict[int, dict[str, list[np.ndarray]]] = {k: {} for k in targets}
    for s in range(cfg.seeds):
        root = out / f"seed{s}"
        evaluation = dict(np.load(root / "evaluate" / "evaluation.npz", allow_pickle=False))
        distances = load_distances(root / "similarity")
        D = distances[cfg.source_measure]
        within, across = _group_distance(D, groups)
        posterior = root / "similarity" / "posterior.json"
        row = SeedResult(seed=s, within_group_distance=within, across_group_distance=across, targets={},
                         pick_accuracy_all_cells={m: source_group_accuracy(distances[m], groups) for m in MEASURES},
                         # Lemma 1's premise (absent in runs saved before it was recorded)
                         posterior_variance=json.loads(posterior.read_text()) if posterior.is_file() else None)
        log = read_log(root / "pretrain" / "train_log.csv")
        with np.load(root / "baseline" / "baseline.npz", allow_pickle=False) as z:
            baseline_curve = z["reward"]  # the pretraining timeline, like the DRL curve
        for k in targets:
            t, sweep, nearest, farthest = _target_entry(root, k, distances, D, groups, evaluation, cfg, ev, w)
            row.targets[k] = t
            pooled["sat_baseline"].append(evaluation["baseline_satisfaction"][ev, k])
            pooled["sat_drl"].append(evaluation["drl_satisfaction"][ev, k])
            pooled["sat_tl"].append(sweep.throughput_satisfaction[nearest, ev])
            pooled["sat_scratch"].append(sweep.throughput_satisfaction[-1, ev])
            pooled["delay_baseline"].append(evaluation["baseline_delay_ms"][ev, k])
            pooled["delay_drl"].append(evaluation["drl_delay_ms"][ev, k])
            pooled["delay_tl"].append(sweep.max_delay_ms[nearest, ev])
            pooled["delay_scratch"].append(sweep.max_delay_ms[-1, ev])
            c = curves[k]
            c.setdefault("traffic-aware baseline", []).append(baseline_curve[:, k])
            c.setdefault("DRL (pretraining run)", []).append(log["reward"][:, k])
            c.setdefault("DRL, new cell from scratch", []).append(sweep.target_reward[-1])
            c.setdefault("TL from nearest source", []).append(sweep.target_reward[nearest])
            c.setdefault("TL from farthest source", []).append(sweep.target_reward[farthest])
        per_seed.append(row)
    summary = _summarise(per_seed, targets, cfg)
    figs = _figures(scenario, cfg, out, per_seed, pooled, curves, targets) if cfg.figures else {}
    study = StudyResults(**summary, wall_seconds=wall, phase_seconds=_phase_seconds(seconds, out, cfg),
                         figures={name: str(path.relative_to(out)) for name, path in figs.items()})
    results = study.to_dict()
    write_json(out / "results.json", results)
    write_rows_csv(out / "results.csv", result_rows(results))
    write_report(out / "report.md", scenario, cfg, study)
    return results

def _target_entry(root: Path, k: int, distances: dict[str, np.ndarray], D: np.ndarray, groups: list[list[int]],
                  evaluation: dict[str, np.ndarray], cfg: ReproduceConfig, ev: slice,
                  w: int) -> tuple[TargetResult, TransferResult, int, int]:
    """One seed's results for target ``k``: early and equal-step gains, the evaluation window of every
    policy, the measure ablation (swept targets) and the strategy ablation; with the sweep and the
    rows of its nearest and farthest source."""
    sweep = TransferResult.load(root / "transfer" / f"target{k}" / "integrated")
    S = len(sweep.sources)
    # rows of the sweep by this run's distances (ties by cell index, as phase_transfer orders
    # them), so a run re-analysed with other distances reads its own nearest and farthest
    order = sorted(range(S), key=lambda j: (D[sweep.sources[j], k], sweep.sources[j]))
    nearest, farthest = order[0], order[-1]
    early = sweep.mean_reward(w)
    gains_early = sweep.gain_over_scratch(w)
    train_gain = sweep.gain_over_scratch((0, cfg.tl_steps)) if cfg.tl_steps else np.full(S, np.nan)
    windows = {
            "baseline": _window_stats(evaluation["baseline_satisfaction"][ev, k], evaluation["baseline_delay_ms"][ev, k],
                                      _drops(evaluation, "baseline", ev, k)),
            "drl": _window_stats(evaluation["drl_satisfaction"][ev, k], evaluation["drl_delay_ms"][ev, k],
                                 _drops(evaluation, "drl", ev, k)),
            "drl_scratch": _window_stats(sweep.throughput_satisfaction[-1, ev], sweep.max_delay_ms[-1, ev],
                                         None if sweep.drop_rate is None else sweep.drop_rate[-1, ev]),
            "tl": _window_stats(sweep.throughput_satisfaction[nearest, ev], sweep.max_delay_ms[nearest, ev],
                                None if sweep.drop_rate is None else sweep.drop_rate[nearest, ev]),
    }
    swept = S == D.shape[0] - 1  # every other cell is a source: the measure ablation applies
    measures = {}
    for m in MEASURES if swept else ():
        dm = distances[m][sweep.sources, k]
        picked = int(np.argmin(dm))
        measures[m] = {"spearman_distance_vs_gain": spearman(dm, gains_early),
                       "regret": float(gains_early.max() - gains_early[picked]),
                       "picked_source": int(sweep.sources[picked]),
                       "picked_in_group": float(_same_group(groups, int(sweep.sources[picked]), k))}
    strategies = {"integrated": {"early_reward": float(early[nearest]),
                                 "eval_reward": float(sweep.target_reward[nearest, ev].mean())},
                  "scratch": {"early_reward": float(early[-1]),
                              "eval_reward": float(sweep.target_reward[-1, ev].mean())}}
    if cfg.ablations:
        for strategy in ABLATION_STRATEGIES:
            if not (root / "transfer" / f"target{k}" / strategy / "done.json").is_file():
                continue  # strategies run on the sweep targets only
            r = TransferResult.load(root / "transfer" / f"target{k}" / strategy)
            strategies[strategy] = {"early_reward": float(r.mean_reward(w)[0]),
                                    "eval_reward": float(r.target_reward[0, ev].mean())}
    t = TargetResult(
        sources=sweep.sources, distance=[float(D[i, k]) for i in sweep.sources],
        early_reward_nearest=float(early[nearest]), early_reward_farthest=float(early[farthest]),
        early_reward_scratch=float(early[-1]),
        nearest_vs_farthest_early_gain=float(early[nearest] / early[farthest] - 1.0),
        tl_gain_over_drl=float(train_gain[nearest]), tl_early_gain_over_drl=float(gains_early[nearest]),
        **_equal_training_step_gains(sweep, nearest, w), eval=windows, measures=measures, strategies=strategies,
        swept=swept)
    return t, sweep, nearest, farthest



def _equal_training_step_gains(sweep: Any, row: int, early: int) -> dict[str, float]:
    """TL (sweep row ``row``) against DRL from scratch at the same number of *training* steps, as the
    paper's Fig. 4 reads it: TL's steps [0, W) against the scratch run's steps [E, E + W) after its
    E exploration steps, over the whole training window W = steps − E and over its first ``early``
    steps. NaN when the scratch run has no training steps."""
    E, T = sweep.scratch_exploration_steps, sweep.steps
    out = {}
    for key, W in (("tl_gain_equal_training_steps", T - E), ("tl_early_gain_equal_training_steps", min(early, T - E))):
        if W <= 0 or not sweep.include_scratch:
            out[key] = float("nan")
            continue
        scratch = float(sweep.target_reward[-1, E:E + W].mean())
        out[key] = float(sweep.target_reward[row, :W].mean() / scratch - 1.0) if scratch > 0 else float("nan")
    return out


def _same_group(groups: list[list[int]], a: int, b: int) -> bool:
    return any(a in g and b in g for g in groups)


def _group_distance(D: np.ndarray, groups: list[list[int]]) -> tuple[float, float]:

    return tuple(float(v) for v in group_separation(D, groups))  # type: ignore[return-value]


def _drops(evaluation: dict[str, np.ndarray], label: str, ev: slice, k: int) -> np.ndarray | None:
    key = f"{label}_drop_rate"
    return evaluation[key][ev, k] if key in evaluation else None  # absent in runs of an earlier version


def _window_stats(sat: np.ndarray, delay_ms: np.ndarray, drop: np.ndarray | None = None) -> WindowStats:

    return WindowStats.from_dict(kpi_summary(sat, 1e-3 * np.asarray(delay_ms), drop=drop))  # drop: [T, N] rates


def _summarise(per_seed: list[SeedResult], targets: tuple[int, ...], cfg: ReproduceConfig) -> dict[str, Any]:

    def over(fn: Callable[[TargetResult], float]) -> Summary:
        # mean over targets within a seed (those that have the value), then mean ± std over seeds
        per: list[float] = []
        for r in per_seed:
            values = []
            for k in targets:
                try:
                    values.append(fn(r.targets[k]))
                except KeyError:  # e.g. the measure ablation on a target without the all-sources sweep
                    continue
            per.append(float(np.mean(values)) if values else float("nan"))
        return _mean_std(per)

    table: dict[str, TableEntry] = {}
    for metric in WINDOW_METRICS:
        table[metric] = {p: over(lambda t, p=p, m=metric: t.eval[p].get(m)) for p in METHODS}
    table["drop_rate_per_slice"] = {
        p: [float(v) for v in np.nanmean([[t.eval[p].drop_rate_per_slice or [float("nan")]
                                          for t in r.targets.values()] for r in per_seed], axis=(0, 1))]
        for p in METHODS}
    # DRL from scratch in the new cell against the baseline on the same final window, per (seed,
    # target): the learner must reach at least 0.8 of the baseline
    def scratch_ratio(t: TargetResult) -> float:
        base = t.eval["baseline"].mean_min_throughput_satisfaction
        return t.eval["drl_scratch"].mean_min_throughput_satisfaction / base if base > 0 else float("nan")

    ratios = [scratch_ratio(r.targets[k]) for r in per_seed for k in targets]
    table["scratch_over_baseline"] = dataclasses.replace(over(scratch_ratio), min=float(np.nanmin(ratios)))
    table["tl_gain_over_drl"] = over(lambda t: t.tl_gain_over_drl)
    table["tl_early_gain_over_drl"] = over(lambda t: t.tl_early_gain_over_drl)
    table["nearest_vs_farthest_early_gain"] = over(lambda t: t.nearest_vs_farthest_early_gain)
    table["within_group_distance"] = _mean_std([r.within_group_distance for r in per_seed])
    table["posterior_sigma2_median"] = _mean_std([(r.posterior_variance or {}).get("sigma2_median", float("nan"))
                                                   for r in per_seed])
    table["across_group_distance"] = _mean_std([r.across_group_distance for r in per_seed])
    table["tl_gain_equal_training_steps"] = over(lambda t: t.tl_gain_equal_training_steps)
    table["tl_early_gain_equal_training_steps"] = over(lambda t: t.tl_early_gain_equal_training_steps)
    differences = paired_differences(per_seed, targets)
    claims = judge_claims(differences, float(np.nanmin(ratios)), cfg.early_window)
    measures = {name: {"spearman_distance_vs_gain": over(lambda t, n=name: t.measures[n]["spearman_distance_vs_gain"]),
                       "regret": over(lambda t, n=name: t.measures[n]["regret"]),
                       "picked_in_group": over(lambda t, n=name: t.measures[n]["picked_in_group"]),
                       "pick_accuracy_all_cells": _mean_std([r.pick_accuracy_all_cells[name] for r in per_seed])}
                for name in MEASURES}
    strategies = {}
    names = ["integrated", "scratch"] + (list(ABLATION_STRATEGIES) if cfg.ablations else [])
    for name in names:
        strategies[name] = {"early_reward": over(lambda t, n=name: t.strategies[n]["early_reward"]),
                            "eval_reward": over(lambda t, n=name: t.strategies[n]["eval_reward"])}
    per_cell = {int(k): {p: WindowStats.from_dict({m: float(np.nanmean([r.targets[k].eval[p].get(m) for r in per_seed]))
                                                   for m in WINDOW_METRICS}) for p in METHODS} for k in targets}
    return {"paper": PAPER, "table": table, "claims": claims, "differences": differences, "per_cell": per_cell, "ablation_measures": measures,
            "ablation_strategies": strategies, "targets": list(targets), "seeds": cfg.seeds, "per_seed": per_seed}


def _phase_seconds(seconds: list[dict[str, float]] | None, out: Path, cfg: ReproduceConfig) -> dict[str, float]:
    totals = {p: 0.0 for p in PHASES}
    for s in range(cfg.seeds):
        for p in PHASES:
            marker = out / f"seed{s}" / p / "done.json"
            if marker.is_file():
                totals[p] += json.loads(marker.read_text())["seconds"]
    return totals


def _figures(scenario: Scenario, cfg: ReproduceConfig, out: Path, per_seed: list[SeedResult],
             pooled: dict[str, list[np.ndarray]], curves: dict[int, dict[str, list[np.ndarray]]],
             targets: tuple[int, ...]) -> dict[str, Path]:

    fig_dir = out / "figures"
    figs: dict[str, Path] = {}
    base = np.load(out / "seed0" / "baseline" / "baseline.npz", allow_pickle=False)
    figs["fig3_traffic_mask"] = figures.traffic_mask(base["mask"], [s.name for s in scenario.slices],
                                                     fig_dir / "fig3_traffic_mask.png")

    drl = np.stack([read_log(out / f"seed{s}" / "pretrain" / "train_log.csv")["reward"] for s in range(cfg.seeds)])
    with_base = np.stack([np.load(out / f"seed{s}" / "baseline" / "baseline.npz", allow_pickle=False)["reward"] for s in range(cfg.seeds)])
    T = min(drl.shape[1], with_base.shape[1])
    figs["fig4_all_cells"] = figures.reward_panels(
        [{"traffic-aware baseline": with_base[:, :T, k], "DRL (pretraining run)": drl[:, :T, k]}
         for k in range(drl.shape[2])], [f"cell {k + 1}" for k in range(drl.shape[2])],
        fig_dir / "fig4_all_cells.png", window=max(1, min(250, T // 10)),
        title="Reward of every cell during pretraining")
    shown = sweep_targets_of(scenario, cfg) or targets[:1]  # Fig. 4 and 8 for the swept targets
    for k in shown:
        c = curves[k]
        length = min(len(v) for series in c.values() for v in series)
        figs[f"fig4_reward_cell{k + 1}"] = figures.reward_curves(
            {label: np.stack([v[:min(map(len, series))] for v in series]) for label, series in c.items()},
            fig_dir / f"fig4_reward_cell{k + 1}.png", window=max(1, min(50, length // 10)),
            solid_until={"DRL (pretraining run)": cfg.tl_steps},
            title=f"Reward of cell {k + 1} during training (mean over seeds, band = min-max)")
    labels = {"baseline": "traffic-aware baseline", "drl": "DRL (converged)", "scratch": "DRL (new cell, 4000 steps)",
              "tl": "TL from nearest source"}
    figs["fig5_satisfaction_ccdf"] = figures.ccdf(
        {labels[p]: np.concatenate(pooled[f"sat_{p}"]) for p in ("baseline", "drl", "scratch", "tl")},
        fig_dir / "fig5_satisfaction_ccdf.png", "minimum per-slice throughput satisfaction",
        "CCDF of min-slice throughput satisfaction (target cells, evaluation)")
    figs["fig6_delay_cdf"] = figures.cdf(
        {labels[p]: np.maximum(np.concatenate(pooled[f"delay_{p}"]), 1e-3) for p in ("baseline", "drl", "scratch", "tl")},
        fig_dir / "fig6_delay_cdf.png", "maximum per-slice delay (ms)", "CDF of max-slice delay (target cells, evaluation)")
    figs["fig7_distance"] = plot_distance_matrix(load_distances(out / "seed0" / "similarity")[cfg.source_measure],
                                                 fig_dir / "fig7_distance.png",
                                                 title="Inter-agent distance D[source, target] (VAE, eqs. 7 + 9), seed 0")

    sweep = TransferResult.load(out / "seed0" / "transfer" / f"target{shown[0]}" / "integrated")
    # Gain at equal steps: mean reward over the first t steps of TL minus that of DRL from scratch
    # (a difference, not a ratio: the scratch reward starts near 0, so a ratio explodes).
    steps = np.arange(1, cfg.tl_steps + 1)
    cum_tl = np.cumsum(sweep.target_reward[: len(sweep.sources), : cfg.tl_steps], axis=1) / steps
    cum_scratch = np.cumsum(sweep.target_reward[-1, : cfg.tl_steps]) / steps
    figs["fig8_gain_vs_distance"] = figures.gain_vs_distance(
        cum_tl - cum_scratch, np.asarray(sweep.distance), fig_dir / "fig8_gain_vs_distance.png", window=1,
        title=f"TL gain over DRL vs training steps, target cell {shown[0] + 1}, seed 0",
        ylabel="mean reward so far, TL − DRL (percentage points)")
    return figs
