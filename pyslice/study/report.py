"""``report.md`` of a reproduce run: our numbers beside the paper's, each claim marked, ablations,
figures and the wall-time breakdown."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pyslice.base.atomic import atomic_open
from pyslice.sim.scenario import Scenario
from pyslice.study.methods import METHOD_NAMES, METHODS
from pyslice.study.generalist_study import REDUCTION, comparison_rows
from pyslice.study.results import Claim, Interval, StudyResults, Summary


def _ci(ci: Interval) -> str:
    if not (math.isfinite(ci.lo) and math.isfinite(ci.hi)):
        return f"{ci.mean:.3g} (no interval from {ci.n_seeds} seed{'s' if ci.n_seeds != 1 else ''})"
    return f"{ci.mean:.3g} [{ci.lo:.3g}, {ci.hi:.3g}]"


def _ms(stat: Summary, pct: bool = False, digits: int = 3) -> str:
    scale = 100.0 if pct else 1.0
    unit = " %" if pct else ""
    if stat.n <= 1:
        return f"{scale * stat.mean:.{digits if not pct else 1}f}{unit}"
    return f"{scale * stat.mean:.{digits if not pct else 1}f} ± {scale * stat.std:.{digits if not pct else 1}f}{unit}"


def write_report(path: Path, scenario: Scenario, cfg: Any, results: StudyResults | dict[str, Any]) -> Path:
    """``report.md``: our numbers beside the paper's, the claims and their intervals, ablations,
    figures and wall times (from the study's results or their ``results.json`` form)."""
    study = results if isinstance(results, StudyResults) else StudyResults.from_dict(results)
    lines = (_numbers_section(scenario, cfg, study) + _claims_section(study) + _efficiency_section(cfg, study)
             + _source_choice_section(cfg, study) + _generalist_section(cfg, study) + _ablations_section(cfg, study)
             + _figures_and_time_section(study))
    with atomic_open(path) as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _numbers_section(scenario: Scenario, cfg: Any, study: StudyResults) -> list[str]:
    """The heading and our numbers beside the paper's."""
    t, paper, summary = study.table, study.paper, study.summary
    targets = ", ".join(str(k + 1) for k in study.targets)
    lines = [
        f"# pyslice reproduction of Hu et al., scenario `{scenario.name}`",
        "",
        f"{study.seeds} seed(s); pretraining {cfg.train.exploration_steps} + {cfg.train.training_steps} + "
        f"{cfg.train.evaluation_steps} steps; TL {cfg.tl_steps} + {cfg.train.evaluation_steps} steps on target "
        f"cell(s) {targets} (paper labels, 1-based). Values are mean ± std over seeds; the evaluation metrics are "
        f"taken on the target cells over the final {cfg.train.evaluation_steps} greedy steps of the TL runs, "
        "with the baseline and the converged DRL agents run on the same window (same seed, same traffic).",
        "",
        "## Our numbers beside the paper's",
        "",
        "| metric | policy | paper | ours |",
        "|---|---|---|---|",
    ]
    for metric, label, pct in (("mean_min_throughput_satisfaction", "mean min-slice throughput satisfaction", False),
                               ("share_below_0.95", "share of steps below 0.95", True),
                               ("mean_max_slice_delay_ms", "mean max-slice delay (ms)", False),
                               ("median_max_slice_delay_ms", "median max-slice delay (ms)", False),
                               ("p95_max_slice_delay_ms", "95th percentile max-slice delay (ms)", False),
                               ("mean_drop_rate", "dropped share of offered traffic", True)):
        if metric not in t:
            continue
        for p in METHODS:
            pv = paper.get(metric, {}).get(p)
            pv_s = "—" if pv is None else (f"{100 * pv:.0f} %" if pct else f"{pv}")
            lines.append(f"| {label} | {METHOD_NAMES[p]} | {pv_s} | {_ms(summary(metric, p), pct)} |")
    if "drop_rate_per_slice" in t:
        for p in METHODS:
            per_slice: list[float] = t["drop_rate_per_slice"][p]  # type: ignore[index,assignment]
            per = " / ".join(f"{100 * v:.2f}" for v in per_slice)
            lines.append(f"| dropped share per slice, % (slices 1-{len(per_slice)}) | {METHOD_NAMES[p]} | — | "
                         f"{per} |")
    lines += [
        f"| TL gain over DRL at equal training steps (TL's first steps vs DRL's steps after its exploration, as "
        f"long as DRL trains) | TL vs new-cell DRL | {100 * paper['tl_gain_over_drl']:.0f} % | "
        f"{_ms(summary('tl_gain_equal_training_steps'), True) if 'tl_gain_equal_training_steps' in t else '—'} |",
        f"| the same, first {cfg.early_window} training steps | TL vs new-cell DRL | — | "
        f"{_ms(summary('tl_early_gain_equal_training_steps'), True) if 'tl_early_gain_equal_training_steps' in t else '—'} |",
        f"| TL gain over DRL over the {cfg.tl_steps} TL steps, DRL's exploration included | TL vs new-cell DRL | — | "
        f"{_ms(summary('tl_gain_over_drl'), True)} |",
        f"| TL gain over DRL, first {cfg.early_window} steps, DRL exploring | TL vs new-cell DRL | — | "
        f"{_ms(summary('tl_early_gain_over_drl'), True)} |",
        f"| new-cell DRL / baseline satisfaction, final window (worst seed and target: "
        f"{summary('scratch_over_baseline').min:.3f}) | DRL (new cell) | — | {_ms(summary('scratch_over_baseline'))} |",
        f"| nearest vs farthest source, first {cfg.early_window} steps | TL | ≈ {100 * paper['nearest_vs_farthest_early_gain']:.0f} % | "
        f"{_ms(summary('nearest_vs_farthest_early_gain'), True)} |",
        f"| distance of the source pick ({cfg.source_measure}) within / across requirement groups | — | within < across | "
        f"{_ms(summary('within_group_distance'))} / {_ms(summary('across_group_distance'))} |",
        f"| VAE posterior variance σ², median (Lemma 1's premise) | — | below 1e-5 | "
        f"{summary('posterior_sigma2_median').mean:.2e} |",
        "",
        "## The paper's claims on our simulator",
        "",
    ]
    return lines


def _claims_section(study: StudyResults) -> list[str]:
    """The claims with their verdicts, the paired differences and the per-cell table."""
    lines: list[str] = []
    diffs = study.differences
    lines += ["Each verdict comes from the 95 % t-interval on the per-seed means of the paired difference behind "
              "it (`pyslice.base.statistics`): **holds** when the interval excludes 0 in the paper's direction, "
              "**does not hold** when it excludes 0 the other way, **equivalent** when neither and the 90 % interval "
              "lies within ± the claim's margin (two one-sided tests), **not resolved** otherwise or with fewer than "
              "2 seeds. A chain (A > B > C) holds when every link holds and is equivalent when the others hold and a "
              "link is equivalent. Where the paper gives an effect size, the line says whether the interval excludes it.",
              ""]
    lines += _claim_lines(study.claims, diffs)
    if diffs:
        lines += ["", "### Paired differences (per seed and target, same traffic)", "",
                  "| difference | mean | 95 % interval | seeds × targets |", "|---|---|---|---|"]
        for name, ci in diffs.items():
            lines.append(f"| {name} | {ci.mean:.4g} | [{ci.lo:.4g}, {ci.hi:.4g}] | {ci.n} |")
    if study.per_cell:
        lines += ["", "## Per target cell (evaluation window, mean over seeds)", "",
                  "| cell | policy | satisfaction | steps < 0.95 | max-slice delay mean / median / p95 (ms) | dropped |",
                  "|---|---|---|---|---|---|"]
        for k, by_policy in study.per_cell.items():
            for p, st in by_policy.items():
                lines.append(f"| {int(k) + 1} | {METHOD_NAMES[p]} | {st.mean_min_throughput_satisfaction:.3f} | "
                             f"{100 * st.share_below_095:.1f} % | {st.mean_max_slice_delay_ms:.2f} / "
                             f"{st.median_max_slice_delay_ms:.2f} / {st.p95_max_slice_delay_ms:.2f} | "
                             f"{100 * st.get('mean_drop_rate'):.2f} % |")
    return lines


def _claim_lines(claims: list[Claim], diffs: dict[str, Interval]) -> list[str]:
    """Each claim's verdict, then each difference it rests on with its interval and own verdict."""
    lines = []
    for c in claims:
        lines.append(f"- **{c.verdict}**: {c.claim}" + (f" (margin ± {c.margin:g})" if c.margin is not None else ""))
        for name in c.evidence:
            if name not in diffs:
                continue
            paper = ""
            if name in c.paper_effect and math.isfinite(diffs[name].lo):
                excluded = c.paper_effect_excluded.get(name)
                paper = (f"; paper {c.paper_effect[name]:+.3g}, "
                         f"{'excluded' if excluded else 'not excluded'} by the interval")
            lines.append(f"  - {name}: {_ci(diffs[name])} — {c.link_verdicts.get(name, c.verdict)}{paper}")
    return lines


def _generalist_section(cfg: Any, study: StudyResults) -> list[str]:
    """The authors' generalist against integrated TL on the same traffic."""
    g = study.generalist
    if g is None:
        return []
    held = ("each kept from its own target alone (leave-one-out)" if cfg.generalist_folds is None
            else f"each kept from one of {cfg.generalist_folds} folds of the targets")
    lines = ["", "## The authors' generalist (TL-DIRP) against integrated TL", "",
             f"Per seed, shared generalists {held}, trained on the pretraining's schedule in every other cell; in "
             f"each target as they are (zero-shot) and fine-tuned for {cfg.tl_steps} steps, on the TL runs' traffic. "
             f"Early: the first {cfg.early_window} steps (DRL from scratch: after its exploration); evaluation: the final {cfg.train.evaluation_steps} greedy "
             "steps. Worst-slice violation: 1 − min-slice throughput satisfaction; its reduction is against the "
             "traffic-aware baseline, per seed (authors: about 15 %).", "",
             "| policy | early reward | eval reward | satisfaction | worst-slice violation | reduction vs baseline |",
             "|---|---|---|---|---|---|"]
    for rows in comparison_rows(g):
        red = rows["violation_reduction"]
        lines.append(f"| {rows['method']} | {rows['early_reward']:.3f} | {rows['eval_reward']:.3f} | "
                     f"{rows['mean_min_throughput_satisfaction']:.3f} | {rows['worst_slice_violation']:.3f} | "
                     f"{'—' if red is None else _ci(red)} |")
    lines += [""] + _claim_lines(g.claims, {**g.differences,
                                            **{REDUCTION + m: ci for m, ci in g.violation_reduction.items()}})
    return lines


def _efficiency_section(cfg: Any, study: StudyResults) -> list[str]:
    """Steps to reach a share of converged DRL's reward: TL against DRL from scratch."""
    if not study.sample_efficiency:
        return []
    lines = ["", "## Sample efficiency: steps to reach converged DRL's reward", "",
             f"Per (seed, target): the steps after which a learner's trailing {cfg.early_window}-step mean reward "
             "first reaches the share of converged DRL's on the same traffic (exploration counted). TL runs "
             f"{cfg.tl_steps} steps, DRL from scratch the whole pretraining schedule "
             f"({cfg.train.exploration_steps} + {cfg.train.training_steps}); a run that never reaches the share counts "
             "its whole length in the ratio (a bound). The earliest a trailing mean can reach it is step "
             f"{cfg.early_window}, so a TL median of {cfg.early_window} means TL starts there and the ratio is a lower "
             "bound.", "",
             "| share of converged DRL | TL reached | TL median steps | scratch reached | scratch median steps | "
             "ratio scratch / TL (geometric mean, 95 % interval) |", "|---|---|---|---|---|---|"]
    for level, row in study.sample_efficiency.items():
        name = next((n for n in study.differences if n.startswith(f"steps to {100 * float(level):g} %")), None)
        ratio = "—"
        if name is not None:
            ci = study.differences[name]
            ratio = f"{math.exp(ci.mean):.2f}" + (f" [{math.exp(ci.lo):.2f}, {math.exp(ci.hi):.2f}]"
                                                  if math.isfinite(ci.lo) else "")
        lines.append(f"| {100 * float(level):g} % | {100 * row['tl_reached']:.0f} % | {row['tl_median_steps']:.0f} | "
                     f"{100 * row['scratch_reached']:.0f} % | {row['scratch_median_steps']:.0f} | {ratio} |")
    return lines


def _source_choice_section(cfg: Any, study: StudyResults) -> list[str]:
    """What each measure's pick of source buys over a random pick, and what it leaves to the best."""
    if not study.source_choice:
        return []
    lines = ["", "## Source choice: what a measure's pick buys", "",
             f"Per (seed, target) with TL from every source over the first {cfg.early_window} steps: the early "
             "reward of the source a measure picks (eq. 10) minus a random pick's (the mean over the sources), and "
             "the best source's minus the pick's; mean and 95 % interval over seeds.", "",
             "| measure | pick − random | best − pick |", "|---|---|---|"]
    for measure, by in study.source_choice.items():
        mark = " (the study's)" if measure == cfg.source_measure else ""
        lines.append(f"| {measure}{mark} | {_ci(by['gain_over_random'])} | {_ci(by['shortfall_from_best'])} |")
    return lines


def _ablations_section(cfg: Any, study: StudyResults) -> list[str]:
    """The strategy and measure ablations."""
    lines: list[str] = []
    lines += ["", "## Ablation: transfer strategies (target-cell reward)", "",
              f"| strategy | first {cfg.early_window} steps | evaluation |", "|---|---|---|"]
    for name, s in study.ablation_strategies.items():
        lines.append(f"| {name} | {_ms(s['early_reward'])} | {_ms(s['eval_reward'])} |")
    lines += ["", "## Ablation: similarity measures as predictors of the TL gain", "",
              "Spearman correlation between a measure's distance and the measured early TL gain over every "
              "source of each target that ran TL from every source "
              "(negative is good: nearer sources gain more), the regret of the source it picks (best gain − "
              "gain of the picked source), and how often eq. 10's pick is in the target's requirement group, "
              "for those targets and for every cell of the distance matrix as target (chance: 5 of 11).", "",
              "| measure | Spearman(distance, gain) | regret | pick in group: targets | all cells |",
              "|---|---|---|---|---|"]
    for name, m in study.ablation_measures.items():
        lines.append(f"| {name} | {_ms(m['spearman_distance_vs_gain'])} | {_ms(m['regret'], True)} | "
                     f"{_ms(m['picked_in_group'], True) if 'picked_in_group' in m else '—'} | "
                     f"{_ms(m['pick_accuracy_all_cells'], True) if 'pick_accuracy_all_cells' in m else '—'} |")
    return lines


def _figures_and_time_section(study: StudyResults) -> list[str]:
    """The figures and the wall time per phase."""
    lines: list[str] = []
    lines += ["", "## Figures", ""]
    for name, rel in study.figures.items():
        lines += [f"### {name}", "", f"![{name}]({rel})", ""]
    lines += ["## Wall time", "", "| phase | seconds (sum over seeds) |", "|---|---|"]
    for phase, sec in study.phase_seconds.items():
        lines.append(f"| {phase} | {sec:.1f} |")
    if study.wall_seconds is not None:
        lines.append(f"| **total wall time** | **{study.wall_seconds:.1f}** |")
    if study.build:
        b = study.build
        lines += ["", f"Summarised by pyslice {b.get('version')} ({b.get('build')} build, {b.get('compiler')}, "
                      f"SIMD level {b.get('simd_level')})."]
    return lines
