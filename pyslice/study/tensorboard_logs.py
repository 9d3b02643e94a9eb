"""TensorBoard logs of a reproduce study (``pyslice reproduce --tensorboard DIR``; optional extra
``pyslice[tensorboard]``): see :func:`log_study`. The writer and the window means are those of
training runs (:mod:`pyslice.learn.tensorboard`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pyslice.learn.tensorboard import Scalars, summary_writer, write_curves
from pyslice.learn.train_log import read_log
from pyslice.study.config import ABLATION_STRATEGIES
from pyslice.study.results import StudyResults, TargetResult
from pyslice.study.transfer import TransferResult


def _seeds(run_dir: Path, study: StudyResults) -> list[tuple[int, dict[int, TargetResult]]]:
    if study.per_seed:
        return [(r.seed, r.targets) for r in study.per_seed]
    found: list[tuple[int, dict[int, TargetResult]]] = []
    for p in run_dir.glob("seed*"):
        if p.name[4:].isdigit():
            found.append((int(p.name[4:]), {}))
    return sorted(found, key=lambda x: x[0])


def _targets(root: Path, results: dict[int, TargetResult]) -> list[int]:
    targets = set(results)
    for p in (root / "transfer").glob("target*"):
        if p.name[6:].isdigit():
            targets.add(int(p.name[6:]))
    return sorted(targets)


def _load_transfer(path: Path) -> Any:
    try:
        return TransferResult.load(path)
    except (OSError, KeyError, ValueError):
        return None


def _log_pretrain(tb_dir: Path, root: Path, s: int, every: int) -> None:
    path = root / "pretrain" / "train_log.csv"
    if not path.is_file():
        return
    try:
        log = read_log(path)
    except (OSError, ValueError, IndexError):
        return
    if not len(log["step"]):
        return
    writer = summary_writer(tb_dir / f"seed{s}" / "pretrain", purge_step=0)
    try:
        write_curves(writer, {"reward/mean": log["reward"].mean(axis=1)}, every)
        changes = [f"step {int(t)}: {p} begins" for i, (t, p) in enumerate(zip(log["step"], log["phase"]))
                   if i == 0 or p != log["phase"][i - 1]]
        writer.add_text("phase", "  \n".join(changes), 0)
    finally:
        writer.close()


def _log_target(tb_dir: Path, root: Path, s: int, k: int, info: TargetResult | None, every: int) -> None:
    folder = root / "transfer" / f"target{k}"
    sweep = _load_transfer(folder / "integrated")
    if sweep is None:
        return
    sources = [int(i) for i in sweep.sources]
    S = len(sources)
    distance = None if info is None else info.distance
    if distance is None or len(distance) != S:
        distance = None if sweep.distance is None else [float(d) for d in sweep.distance]
    curves: dict[str, np.ndarray] = {}
    lines = [f"Target cell {k} (0-based; report: cell {k + 1}), seed {s}. Steps 1..{sweep.steps}: learning; "
             f"{sweep.steps + 1}..{sweep.steps + sweep.eval_steps}: greedy evaluation. "
             f"Curves: means over {every} steps."]
    if S:
        # nearest and farthest as aggregate() picks them: by distance, ties by cell index (without
        # distances: the sweep's own order, which phase_transfer sorts by distance)
        order = list(range(S)) if distance is None else sorted(range(S), key=lambda j: (distance[j], sources[j]))
        nearest, farthest = order[0], order[-1]
        curves["reward/tl_nearest"] = sweep.target_reward[nearest]
        curves["reward/tl_farthest"] = sweep.target_reward[farthest]
        d = (lambda j: f", distance {distance[j]:.4g}") if distance is not None else (lambda j: "")
        lines.append(f"- TL nearest source: cell {sources[nearest]}{d(nearest)}")
        lines.append(f"- TL farthest source: cell {sources[farthest]}{d(farthest)}")
        if S > 2:  # a sweep over many sources: every source's curve
            for j, src in enumerate(sources):
                curves[f"reward_by_source/cell_{src}"] = sweep.target_reward[j]
    if sweep.include_scratch:
        curves["reward/scratch"] = sweep.target_reward[S]
        lines.append(f"- DRL from scratch: first {sweep.scratch_exploration_steps} steps exploration")
    for strategy in ABLATION_STRATEGIES:
        if (folder / strategy / "done.json").is_file():
            r = _load_transfer(folder / strategy)
            if r is not None and len(r.sources):
                curves[f"reward/{strategy}"] = r.target_reward[0]
                lines.append(f"- {strategy} transfer from cell {int(r.sources[0])}")
    writer = summary_writer(tb_dir / f"seed{s}" / f"target{k}", purge_step=0)
    try:
        write_curves(writer, curves, every)
        writer.add_text("curves", "\n".join(lines), 0)
    finally:
        writer.close()


def _log_summary(tb_dir: Path, study: StudyResults) -> None:
    writer = summary_writer(tb_dir / "study", purge_step=0)
    try:
        seconds = {p: float(v) for p, v in study.phase_seconds.items()}
        wall = study.wall_seconds
        values = {f"wall_seconds/{p}": v for p, v in seconds.items()}
        if wall is not None:
            values["wall_seconds/total"] = float(wall)
        Scalars(writer).write(0, values)
        if values:
            rows = "\n".join(f"| {name.split('/', 1)[1]} | {v:.1f} |" for name, v in values.items())
            writer.add_text("wall_seconds", "| phase (summed over seeds) | seconds |\n|---|---|\n" + rows, 0)
        if study.claims:
            rows = "\n".join(f"| {c.verdict} | {c.claim.replace('|', '/')} | {', '.join(c.evidence)} |"
                             for c in study.claims)
            writer.add_text("claims", "| verdict | claim | evidence |\n|---|---|---|\n" + rows, 0)
    finally:
        writer.close()


def log_study(tb_dir: Path, run_dir: Path, results: StudyResults | dict[str, Any], every: int = 10) -> None:
    """TensorBoard logs of an aggregated reproduce study (``pyslice reproduce --tensorboard DIR``).

    Sub-runs of ``tb_dir``: ``seed{s}/pretrain`` (mean reward over the cells during pretraining, and
    the phase changes as text), ``seed{s}/target{k}`` (the target cell's reward under TL from its
    nearest and farthest source, DRL from scratch, every source of a sweep and the ablation
    strategies; the sources and distances as text) and ``study`` (phase wall seconds as scalars and
    a table, the claims' verdicts as a table). Curves are means over ``every`` steps, logged at each
    window's last 1-based step. Folders that are missing or unreadable are skipped; writing again
    into ``tb_dir`` hides the earlier points (``purge_step=0``).
    """
    tb_dir, run_dir = Path(tb_dir), Path(run_dir)
    study = results if isinstance(results, StudyResults) else StudyResults.from_dict(results)
    for s, targets in _seeds(run_dir, study):
        root = run_dir / f"seed{s}"
        if not root.is_dir():
            continue
        _log_pretrain(tb_dir, root, s, every)
        for k in _targets(root, targets):
            _log_target(tb_dir, root, s, k, targets.get(k), every)
    _log_summary(tb_dir, study)
