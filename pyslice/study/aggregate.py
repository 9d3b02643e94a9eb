"""Aggregation of a ``pyslice reproduce`` study: per (seed, target) statistics from the phases'
files, means over seeds, the paired differences and the claims' verdicts (:mod:`pyslice.study.claims`),
``results.json``/``results.csv``, the report and the figures (:func:`aggregate`).
"""
from __future__ import annotations

import dataclasses
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pyslice import _core
from pyslice.base.atomic import write_json
from pyslice.learn.train_log import read_log
from pyslice.sim.satisfaction import kpi_summary
from pyslice.sim.scenario import Scenario
from pyslice.study import figures
from pyslice.study.claims import PAPER, judge_claims, nan_if_none, paired_differences, source_choice_intervals
from pyslice.study.efficiency import (LEVELS, normalised_gain, normalised_gain_curve, sample_efficiency_summary,
                                     steps_to_reach)
from pyslice.study.config import (ABLATION_STRATEGIES, AUTO_TARGETS, PHASES, ReproduceConfig, cell_groups,
                                  study_targets, sweep_targets_of)
from pyslice.study.generalist_study import generalist_comparison
from pyslice.study.methods import METHODS, WINDOW_METRICS
from pyslice.study.report import write_report
from pyslice.study.source_choice import source_choice
from pyslice.study.results import SeedResult, StudyResults, Summary, TableEntry, TargetResult, WindowStats
from pyslice.study.similarity import (group_separation, load_distances, plot_distance_matrix,
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
              wall: float | None = None, memory: dict[str, float] | None = None) -> dict[str, Any]:
    """Numbers, claims, ablations, figures and ``report.md`` from the per-seed folders."""
    out = Path(out)
    targets = study_targets(scenario, cfg)
    groups = cell_groups(scenario)
    ev = slice(cfg.tl_steps, cfg.tl_steps + cfg.train.evaluation_steps)
    w = min(cfg.early_window, cfg.tl_steps) or 1
    per_seed: list[SeedResult] = []
    pooled: dict[str, list[np.ndarray]] = {f"{kpi}_{p}": [] for kpi in ("sat", "delay") for p in METHODS}
    curves: dict[int, dict[str, list[np.ndarray]]] = {k: {} for k in targets}
    gain_curves: list[list[np.ndarray]] = []  # per seed, per target: Fig. 8's normalised gain curve
    nearest_source: dict[tuple[int, int], int] = {}
    for s in range(cfg.seeds):
        root = out / f"seed{s}"
        evaluation = dict(np.load(root / "evaluate" / "evaluation.npz", allow_pickle=False))
        distances = load_distances(root / "similarity")
        D = distances[cfg.source_measure]
        within, across = _group_distance(D, groups)
        posterior = root / "similarity" / "posterior.json"
        row = SeedResult(seed=s, within_group_distance=within, across_group_distance=across, targets={},
                         pick_accuracy_all_cells={m: source_group_accuracy(distances[m], groups) for m in distances},
                         # Lemma 1's premise (absent in runs saved before it was recorded)
                         posterior_variance=json.loads(posterior.read_text()) if posterior.is_file() else None)
        gain_curves.append([])
        for k in targets:
            t, sweep, nearest, farthest, full = _target_entry(root, k, distances, D, groups, evaluation, cfg, ev, w)
            row.targets[k] = t
            nearest_source[(s, k)] = sweep.sources[nearest]
            rows = {"tl": (sweep, nearest), "drl_scratch": (sweep, -1)}
            for p in METHODS:
                if p in rows:
                    run, j = rows[p]
                    pooled[f"sat_{p}"].append(run.throughput_satisfaction[j, ev])
                    pooled[f"delay_{p}"].append(run.max_delay_ms[j, ev])
                else:
                    pooled[f"sat_{p}"].append(evaluation[f"{p}_satisfaction"][ev, k])
                    pooled[f"delay_{p}"].append(evaluation[f"{p}_delay_ms"][ev, k])
            # Fig. 4: every curve on the TL runs' traffic (seed and steps): the baseline and converged
            # DRL from the evaluate phase, the learners from the transfer phase
            scratch = sweep.target_reward[-1] if full is None else full.target_reward[-1]
            c = curves[k]
            c.setdefault("traffic-aware baseline", []).append(evaluation["baseline_reward"][:, k])
            c.setdefault("DRL (converged)", []).append(evaluation["drl_reward"][:, k])
            c.setdefault("max-min reference", []).append(evaluation["maxmin_reward"][:, k])
            c.setdefault("DRL, new cell from scratch", []).append(scratch)
            c.setdefault("TL from nearest source", []).append(sweep.target_reward[nearest])
            c.setdefault("TL from farthest source", []).append(sweep.target_reward[farthest])
            if full is not None:
                gain_curves[-1].append(normalised_gain_curve(sweep.target_reward[nearest, :sweep.steps],
                                                             full.target_reward[-1, :full.steps],
                                                             evaluation["drl_reward"][:, k],
                                                             full.scratch_exploration_steps))
        per_seed.append(row)
    summary = _summarise(per_seed, targets, cfg)
    figs = _figures(scenario, cfg, out, pooled, curves, gain_curves, targets) if cfg.figures else {}
    if cfg.generalist:
        summary["generalist"] = generalist_comparison(out, cfg.seeds, targets, nearest_source, w, ev)
    study = StudyResults(**summary, wall_seconds=wall, peak_memory=memory or {},
                         phase_seconds=_phase_seconds(seconds, out, cfg), figures={name: str(path.relative_to(out)) for name, path in figs.items()},
                         build={"version": version("pyslice"), **_core.build_info()})  # pyslice.build_info, from floor 0
    results = study.to_dict()
    write_json(out / "results.json", results)
    write_rows_csv(out / "results.csv", result_rows(results))
    write_report(out / "report.md", scenario, cfg, study)
    return results

def _target_entry(root: Path, k: int, distances: dict[str, np.ndarray], D: np.ndarray, groups: list[list[int]],
                  evaluation: dict[str, np.ndarray], cfg: ReproduceConfig, ev: slice,
                  w: int) -> tuple[TargetResult, TransferResult, int, int, TransferResult | None]:
    """One seed's results for target ``k``: early and equal-step gains, the evaluation window of every
    policy, the source choice and measure ablation (targets with every source's early reward), the
    strategy ablation and the sample efficiency; with the sweep, the rows of its nearest and
    farthest source and the long DRL-from-scratch run (None without it)."""
    folder = root / "transfer" / f"target{k}"
    sweep = TransferResult.load(folder / "integrated")
    full = _long_scratch(folder)
    S = len(sweep.sources)
    # rows of the sweep by this run's distances (ties by cell index, as phase_transfer orders
    # them), so a run re-analysed with other distances reads its own nearest and farthest
    order = sorted(range(S), key=lambda j: (D[sweep.sources[j], k], sweep.sources[j]))
    nearest, farthest = order[0], order[-1]
    early = sweep.mean_reward(w)
    gains_early = sweep.gain_over_scratch(w)
    train_gain = sweep.gain_over_scratch((0, cfg.tl_steps)) if cfg.tl_steps else np.full(S, np.nan)

    def window(rows: Any, row: int) -> WindowStats:
        return _window_stats(rows.throughput_satisfaction[row, ev], rows.max_delay_ms[row, ev],
                             None if rows.drop_rate is None else rows.drop_rate[row, ev])

    windows = {label: _window_stats(evaluation[f"{label}_satisfaction"][ev, k], evaluation[f"{label}_delay_ms"][ev, k],
                                    _drops(evaluation, label, ev, k)) for label in ("baseline", "drl", "maxmin")}
    windows.update(drl_scratch=window(sweep, -1), tl=window(sweep, nearest))
    windows = {m: windows[m] for m in METHODS}  # results.json lists the methods in one order
    by_source = _early_by_source(folder, sweep, w)
    complete = len(by_source) == D.shape[0] - 1  # every other cell: the measure ablation applies
    measures = _measure_ablation(by_source, float(early[-1]), distances, groups, k) if complete else {}
    choice = source_choice(by_source, distances, k) if complete else None
    strategies = {"integrated": {"early_reward": float(early[nearest]),
                                 "eval_reward": float(sweep.target_reward[nearest, ev].mean())},
                  "scratch": {"early_reward": float(early[-1]),
                              "eval_reward": float(sweep.target_reward[-1, ev].mean())}}
    if cfg.ablations:
        for strategy in ABLATION_STRATEGIES:
            if not (folder / strategy / "done.json").is_file():
                continue  # strategies run on the sweep targets only
            r = TransferResult.load(folder / strategy)
            strategies[strategy] = {"early_reward": float(r.mean_reward(w)[0]),
                                    "eval_reward": float(r.target_reward[0, ev].mean())}
    t = TargetResult(
        sources=sweep.sources, distance=[float(D[i, k]) for i in sweep.sources],
        early_reward_nearest=float(early[nearest]), early_reward_farthest=float(early[farthest]),
        early_reward_scratch=float(early[-1]),
        nearest_vs_farthest_early_gain=float(early[nearest] / early[farthest] - 1.0),
        tl_gain_over_drl=float(train_gain[nearest]), tl_early_gain_over_drl=float(gains_early[nearest]),
        **_equal_training_step_gains(sweep, nearest, w), eval=windows, measures=measures, strategies=strategies,
        swept=complete, early_reward_by_source=by_source if complete else None, source_choice=choice,
        **_sample_efficiency(full, sweep, nearest, evaluation["drl_reward"][:, k], w))
    return t, sweep, nearest, farthest, full


def _long_scratch(folder: Path) -> TransferResult | None:
    """The target's DRL-from-scratch run on the whole pretraining schedule, if the study ran it."""
    return TransferResult.load(folder / "scratch_full") if (folder / "scratch_full" / "done.json").is_file() else None


def _early_by_source(folder: Path, sweep: TransferResult, w: int) -> dict[int, float]:
    """Mean target reward over the first ``w`` steps of TL from each source that ran: the sweep's
    sources and the early-window runs of the others."""
    early = sweep.mean_reward(w)
    out = {int(src): float(early[j]) for j, src in enumerate(sweep.sources)}
    if (folder / "early_sources" / "done.json").is_file():
        rest = TransferResult.load(folder / "early_sources")
        out.update({int(src): float(v) for src, v in zip(rest.sources, rest.mean_reward(w))})
    return dict(sorted(out.items()))


def _measure_ablation(by_source: dict[int, float], scratch_early: float, distances: dict[str, np.ndarray],
                      groups: list[list[int]], k: int) -> dict[str, dict[str, float]]:
    """Per measure: Spearman(distance, early gain over scratch), the regret of its pick and whether
    the pick is in the target's requirement group."""
    sources = list(by_source)
    gains = np.array([by_source[i] for i in sources]) / scratch_early - 1.0
    out = {}
    for m, Dm in distances.items():
        dm = Dm[sources, k]
        picked = int(np.argmin(dm))
        out[m] = {"spearman_distance_vs_gain": spearman(dm, gains), "regret": float(gains.max() - gains[picked]),
                  "picked_source": int(sources[picked]),
                  "picked_in_group": float(_same_group(groups, int(sources[picked]), k))}
    return out


def _sample_efficiency(full: TransferResult | None, sweep: TransferResult, row: int, drl: np.ndarray,
                       w: int) -> dict[str, Any]:
    """Steps to reach each level of converged DRL's reward (TL from the nearest source, DRL from
    scratch on the whole pretraining schedule) and the normalised gains at equal training steps;
    empty without the long scratch run ``full``."""
    if full is None:
        return {}
    tl, scratch, E = sweep.target_reward[row, :sweep.steps], full.target_reward[-1, :full.steps], \
        full.scratch_exploration_steps
    return {"steps_to_reach": {"tl": {f"{q:g}": steps_to_reach(tl, drl, q, w) for q in LEVELS},
                               "scratch": {f"{q:g}": steps_to_reach(scratch, drl, q, w) for q in LEVELS}},
            "horizon": {"tl": int(sweep.steps), "scratch": int(full.steps)},
            "tl_gain_normalised": normalised_gain(tl, scratch, drl, E),
            "tl_early_gain_normalised": normalised_gain(tl, scratch, drl, E, w)}


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
    table["tl_gain_normalised"] = over(lambda t: nan_if_none(t.tl_gain_normalised))
    table["tl_early_gain_normalised"] = over(lambda t: nan_if_none(t.tl_early_gain_normalised))
    differences = paired_differences(per_seed, targets, cfg.source_measure)
    claims = judge_claims(differences, float(np.nanmin(ratios)), cfg.early_window)
    measures = {name: {"spearman_distance_vs_gain": over(lambda t, n=name: t.measures[n]["spearman_distance_vs_gain"]),
                       "regret": over(lambda t, n=name: t.measures[n]["regret"]),
                       "picked_in_group": over(lambda t, n=name: t.measures[n]["picked_in_group"]),
                       "pick_accuracy_all_cells": _mean_std([r.pick_accuracy_all_cells[name] for r in per_seed])}
                for name in dict.fromkeys(m for r in per_seed for m in r.pick_accuracy_all_cells)}
    strategies = {}
    names = ["integrated", "scratch"] + (list(ABLATION_STRATEGIES) if cfg.ablations else [])
    for name in names:
        strategies[name] = {"early_reward": over(lambda t, n=name: t.strategies[n]["early_reward"]),
                            "eval_reward": over(lambda t, n=name: t.strategies[n]["eval_reward"])}
    per_cell = {int(k): {p: WindowStats.from_dict({m: float(np.nanmean([r.targets[k].eval[p].get(m) for r in per_seed]))
                                                   for m in WINDOW_METRICS}) for p in METHODS} for k in targets}
    return {"paper": PAPER, "table": table, "claims": claims, "differences": differences, "per_cell": per_cell,
            "ablation_measures": measures, "ablation_strategies": strategies, "targets": list(targets),
            "seeds": cfg.seeds, "per_seed": per_seed, "source_choice": source_choice_intervals(per_seed, targets),
            "sample_efficiency": sample_efficiency_summary(per_seed, targets)}


def _phase_seconds(seconds: list[dict[str, float]] | None, out: Path, cfg: ReproduceConfig) -> dict[str, float]:
    totals = {p: 0.0 for p in PHASES}
    for s in range(cfg.seeds):
        for p in PHASES:
            marker = out / f"seed{s}" / p / "done.json"
            if marker.is_file():
                totals[p] += json.loads(marker.read_text())["seconds"]
    return totals


def _figures(scenario: Scenario, cfg: ReproduceConfig, out: Path, pooled: dict[str, list[np.ndarray]],
             curves: dict[int, dict[str, list[np.ndarray]]], gain_curves: list[list[np.ndarray]],
             targets: tuple[int, ...]) -> dict[str, Path]:
    """The paper's figures from the study's files: every figure of one target draws its curves from
    the same seeds and traffic."""
    fig_dir = out / "figures"
    figs: dict[str, Path] = {}
    base = np.load(out / "seed0" / "baseline" / "baseline.npz", allow_pickle=False)
    figs["fig3_traffic_mask"] = figures.traffic_mask(base["mask"], [s.name for s in scenario.slices],
                                                     fig_dir / "fig3_traffic_mask.png")

    drl = np.stack([read_log(out / f"seed{s}" / "pretrain" / "train_log.csv")["reward"] for s in range(cfg.seeds)])
    with_base = np.stack([np.load(out / f"seed{s}" / "baseline" / "baseline.npz", allow_pickle=False)["reward"] for s in range(cfg.seeds)])
    T, K = min(drl.shape[1], with_base.shape[1]), drl.shape[2]
    # every cell up to the paper's 12; a larger network: its targets and one panel of the mean over all cells
    cells = list(range(K)) if K <= AUTO_TARGETS else list(targets)
    panels = [{"traffic-aware baseline": with_base[:, :T, k], "DRL (pretraining run)": drl[:, :T, k]} for k in cells]
    titles = [f"cell {k + 1}" for k in cells]
    if K > AUTO_TARGETS:
        panels.append({"traffic-aware baseline": with_base[:, :T].mean(axis=2),
                       "DRL (pretraining run)": drl[:, :T].mean(axis=2)})
        titles.append(f"mean over all {K} cells")
    figs["fig4_all_cells"] = figures.reward_panels(
        panels, titles, fig_dir / "fig4_all_cells.png", window=max(1, min(250, T // 10)),
        title="Reward of every cell during pretraining" if K <= AUTO_TARGETS else
        f"Reward during pretraining: the {len(cells)} target cells and all {K} cells")
    shown = sweep_targets_of(scenario, cfg) or targets[:1]  # Fig. 4 and 8 for the swept targets
    for k in shown:
        c = curves[k]
        length = min(len(v) for series in c.values() for v in series)
        figs[f"fig4_reward_cell{k + 1}"] = figures.reward_curves(
            {label: np.stack([v[:min(map(len, series))] for v in series]) for label, series in c.items()},
            fig_dir / f"fig4_reward_cell{k + 1}.png", window=max(1, min(50, length // 10)),
            title=f"Reward of cell {k + 1} on the TL runs' traffic (mean over seeds, band = min-max)")
    labels = {"baseline": "traffic-aware baseline", "drl": "DRL (converged)",
              "drl_scratch": f"DRL (new cell, {cfg.tl_steps} steps)", "tl": "TL from nearest source",
              "maxmin": "max-min reference"}
    figs["fig5_satisfaction_ccdf"] = figures.ccdf(
        {labels[p]: np.concatenate(pooled[f"sat_{p}"]) for p in METHODS},
        fig_dir / "fig5_satisfaction_ccdf.png", "minimum per-slice throughput satisfaction",
        "CCDF of min-slice throughput satisfaction (target cells, evaluation)")
    figs["fig6_delay_cdf"] = figures.cdf(
        {labels[p]: np.maximum(np.concatenate(pooled[f"delay_{p}"]), 1e-3) for p in METHODS},
        fig_dir / "fig6_delay_cdf.png", "maximum per-slice delay (ms)", "CDF of max-slice delay (target cells, evaluation)")
    mean_D = np.mean([load_distances(out / f"seed{s}" / "similarity")[cfg.source_measure] for s in range(cfg.seeds)],
                     axis=0)
    figs["fig7_distance"] = plot_distance_matrix(
        mean_D, fig_dir / "fig7_distance.png",
        title=f"Inter-agent distance D[source, target] ({cfg.source_measure}), mean over {cfg.seeds} seed(s)")
    if any(gain_curves):
        W = min(len(g) for seed in gain_curves for g in seed)
        per_seed = np.stack([np.mean([g[:W] for g in seed], axis=0) for seed in gain_curves if seed])
        figs["fig8_gain_curve"] = figures.mean_with_band(
            per_seed, fig_dir / "fig8_gain_curve.png", "training steps (scratch: after its exploration)",
            "TL − scratch, mean reward so far / converged DRL's (pp)",
            f"TL gain over DRL from scratch at equal training steps, {len(targets)} targets")

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
