"""TensorBoard logs of training runs and reproduce studies (optional extra ``pyslice[tensorboard]``).

:class:`TrainLogger` is what :class:`pyslice.train.Trainer` writes when given ``tensorboard=DIR``;
:func:`log_study` is what ``pyslice reproduce --tensorboard DIR`` writes after a study is
aggregated. Steps are the 1-based environment-step counts of ``train_log.csv``'s ``step`` column.

What a training run logs (cells ``k`` and slices ``n`` 0-based, as in ``train_log.csv``):

- every step: ``reward/mean`` (mean reward over the cells) and ``phase`` (0 explore, 1 train,
  2 eval), plus a text entry ``phase`` at the first step of each phase;
- every ``every`` steps (default 10), at the window's last step ``t``, the mean over steps
  ``t - every + 1 .. t``: ``reward/cell_{k}``, ``satisfaction/cell_{k}/slice_{n}`` (min of the
  throughput and delay terms, as in the log) and ``loss/critic/cell_{k}``, ``loss/actor/cell_{k}``
  (mean over the window's TD3 updates; windows without one are skipped). The schedule's last
  window may be shorter. Means over windows keep the files small: the writer checksums every byte
  in Python, so a scalar per cell and step would cost more than the simulator step. With the
  paper's 12 cells and 4 slices logging costs about 0.3 ms per step (a training step: about 4 ms).

A resumed run (``Trainer(resume=True)`` from a checkpoint at step ``s``) opens the writer with
``purge_step=s + 1``: TensorBoard then hides the points of steps ``> s`` that the interrupted run
wrote after its checkpoint, so every step appears once. The window that holds ``s`` is refilled
from ``train_log.csv`` (rewards, satisfaction); its losses cover only the updates after the resume.
A fresh run purges from step 1: a log directory belongs to one run.

Importing this module does not import TensorBoard; :func:`require_tensorboard` checks for it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

INSTALL_HINT = '--tensorboard needs TensorBoard: pip install "pyslice[tensorboard]"'
PHASE_CODE = {"explore": 0, "train": 1, "eval": 2}


def require_tensorboard() -> None:
    """Raise ``ValueError`` with the install hint unless ``torch.utils.tensorboard`` imports."""
    try:
        import torch.utils.tensorboard  # noqa: F401  (needs the tensorboard package)
    except ImportError:
        raise ValueError(INSTALL_HINT) from None


def _summary_writer(log_dir: Path, purge_step: int | None) -> Any:
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    # a queue long enough for a window's events: TrainLogger hands them over, then waits once (flush)
    return SummaryWriter(str(log_dir), purge_step=purge_step, max_queue=1000)


class _Scalars:
    """Many scalars of one step written as one event (one record: much cheaper than one each)."""

    def __init__(self, writer: Any) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        self._writer, self._Summary = writer, Summary

    def write(self, step: int, values: dict[str, float]) -> None:
        if values:
            value = self._Summary.Value
            summary = self._Summary(value=[value(tag=tag, simple_value=v) for tag, v in values.items()])
            # the public add_scalar writes one event per tag: with K cells and N slices that is
            # K (N + 3) records per window, each checksummed byte by byte in Python
            self._writer._get_file_writer().add_summary(summary, step)


class TrainLogger:
    """TensorBoard log of one :class:`pyslice.train.Trainer` run (see the module docstring).

    Args:
        log_dir: the run's TensorBoard directory (created if missing).
        start_step: steps already done (the checkpoint's step when resuming; 0 for a fresh run).
            The writer purges the directory's points from step ``start_step + 1`` on.
        last_step: the schedule's last step (its shorter final window is written there).
        every: steps per window of the per-cell means.
        train_log: the run's ``train_log.csv`` holding at least ``start_step`` rows; when resuming,
            it refills the current window and gives the phase before the resume.
    """

    def __init__(self, log_dir: str | Path, start_step: int = 0, last_step: int | None = None, every: int = 10,
                 train_log: str | Path | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.log_dir, self.every, self.last_step = Path(log_dir), every, last_step
        self.step = int(start_step)
        self._phase: str | None = None
        self._reward: np.ndarray | None = None  # window sums
        self._satisfaction: np.ndarray | None = None
        self._n = 0
        self._loss: dict[str, list[np.ndarray]] = {}  # name -> [sum [K], count [K]]
        self._pending: list[tuple[int, dict[str, float]]] = []  # the window's per-step points
        if self.step and train_log is not None:
            self._refill(Path(train_log))
        self._writer = _summary_writer(self.log_dir, purge_step=self.step + 1)
        self._scalars = _Scalars(self._writer)

    def _refill(self, train_log: Path) -> None:
        from pyslice.train import read_log

        log = read_log(train_log)
        done = log["step"] <= self.step
        if not done.any():
            return
        self._phase = str(log["phase"][done][-1])
        window = done & (log["step"] > self.step - self.step % self.every)
        if window.any():
            self._reward = log["reward"][window].sum(axis=0)
            self._satisfaction = log["satisfaction"][window].sum(axis=0)
            self._n = int(window.sum())

    def log_step(self, step: int, phase: str, reward: np.ndarray, info: dict[str, Any],
                 losses: Sequence[dict[str, np.ndarray]] = ()) -> None:
        """Record one environment step (1-based ``step``): its rewards [K], ``info``'s
        ``throughput_term`` and ``delay_term`` [K, N] and the losses of the step's TD3 updates."""
        reward = np.asarray(reward, dtype=float)
        satisfaction = np.minimum(info["throughput_term"], info["delay_term"])
        if phase != self._phase:
            self._writer.add_text("phase", f"step {step}: {phase} begins", step)
            self._phase = phase
        self._pending.append((step, {"reward/mean": float(reward.mean()), "phase": float(PHASE_CODE.get(phase, -1))}))
        if self._reward is None:
            self._reward, self._satisfaction = np.zeros_like(reward), np.zeros_like(satisfaction, dtype=float)
        self._reward += reward
        self._satisfaction += satisfaction
        self._n += 1
        for update in losses:
            for name in ("critic", "actor"):
                value = np.asarray(update[f"{name}_loss"], dtype=float)
                ok = np.isfinite(value)
                acc = self._loss.setdefault(name, [np.zeros(len(value)), np.zeros(len(value))])
                acc[0] += np.where(ok, value, 0.0)
                acc[1] += ok
        self.step = step
        if step % self.every == 0 or step == self.last_step:
            self._write_window(step)

    def _write_pending(self) -> None:
        for step, values in self._pending:
            self._scalars.write(step, values)
        self._pending = []

    def _write_window(self, step: int) -> None:
        values: dict[str, float] = {}
        if self._n:
            for k, r in enumerate(self._reward / self._n):
                values[f"reward/cell_{k}"] = float(r)
            for (k, n), s in np.ndenumerate(self._satisfaction / self._n):
                values[f"satisfaction/cell_{k}/slice_{n}"] = float(s)
        for name, (total, count) in self._loss.items():
            for k in np.flatnonzero(count):
                values[f"loss/{name}/cell_{k}"] = float(total[k] / count[k])
        self._write_pending()
        self._scalars.write(step, values)
        # wait here for the writer thread: it checksums in Python and, running beside the training
        # step, would hold the GIL whenever a torch or simulator call releases it
        self._writer.flush()
        self._reward = self._satisfaction = None
        self._n = 0
        self._loss = {}

    def flush(self) -> None:
        self._write_pending()
        self._writer.flush()

    def close(self) -> None:
        """Write everything and close the event file. The per-step points are all written; a partial
        window's means are not (a resumed run refills that window from ``train_log.csv``)."""
        self._write_pending()
        self._writer.close()

    def __enter__(self) -> TrainLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---- reproduce studies ---------------------------------------------------------------------------

def _window_means(curve: np.ndarray, every: int) -> list[tuple[int, float]]:
    """(last 1-based step, mean) of each window of ``every`` steps; the last one may be shorter."""
    curve = np.asarray(curve, dtype=float)
    return [(min(a + every, len(curve)), float(curve[a:a + every].mean())) for a in range(0, len(curve), every)]


def _write_curves(writer: Any, curves: dict[str, np.ndarray], every: int) -> None:
    scalars = _Scalars(writer)
    points: dict[int, dict[str, float]] = {}
    for tag, curve in curves.items():
        for step, value in _window_means(curve, every):
            if math.isfinite(value):
                points.setdefault(step, {})[tag] = value
    for step in sorted(points):
        scalars.write(step, points[step])


def _seeds(run_dir: Path, results: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    rows = results.get("per_seed") or []
    if rows:
        return [(int(r.get("seed", i)), r) for i, r in enumerate(rows)]
    found = []
    for p in run_dir.glob("seed*"):
        if p.name[4:].isdigit():
            found.append((int(p.name[4:]), {}))
    return sorted(found, key=lambda x: x[0])


def _targets(root: Path, row: dict[str, Any]) -> list[int]:
    targets = {int(k) for k in (row.get("targets") or {})}
    for p in (root / "transfer").glob("target*"):
        if p.name[6:].isdigit():
            targets.add(int(p.name[6:]))
    return sorted(targets)


def _load_transfer(path: Path) -> Any:
    from pyslice.transfer import TransferResult

    try:
        return TransferResult.load(path)
    except (OSError, KeyError, ValueError):
        return None


def _log_pretrain(tb_dir: Path, root: Path, s: int, every: int) -> None:
    from pyslice.train import read_log

    path = root / "pretrain" / "train_log.csv"
    if not path.is_file():
        return
    try:
        log = read_log(path)
    except (OSError, ValueError, IndexError):
        return
    if not len(log["step"]):
        return
    writer = _summary_writer(tb_dir / f"seed{s}" / "pretrain", purge_step=0)
    try:
        _write_curves(writer, {"reward/mean": log["reward"].mean(axis=1)}, every)
        changes = [f"step {int(t)}: {p} begins" for i, (t, p) in enumerate(zip(log["step"], log["phase"]))
                   if i == 0 or p != log["phase"][i - 1]]
        writer.add_text("phase", "  \n".join(changes), 0)
    finally:
        writer.close()


def _log_target(tb_dir: Path, root: Path, s: int, k: int, info: dict[str, Any], every: int) -> None:
    from pyslice.experiment import ABLATION_STRATEGIES

    folder = root / "transfer" / f"target{k}"
    sweep = _load_transfer(folder / "integrated")
    if sweep is None:
        return
    sources = [int(i) for i in sweep.sources]
    S = len(sources)
    distance = info.get("distance")
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
    writer = _summary_writer(tb_dir / f"seed{s}" / f"target{k}", purge_step=0)
    try:
        _write_curves(writer, curves, every)
        writer.add_text("curves", "\n".join(lines), 0)
    finally:
        writer.close()


def _log_summary(tb_dir: Path, results: dict[str, Any]) -> None:
    writer = _summary_writer(tb_dir / "study", purge_step=0)
    try:
        seconds = {p: float(v) for p, v in (results.get("phase_seconds") or {}).items()}
        wall = results.get("wall_seconds")
        values = {f"wall_seconds/{p}": v for p, v in seconds.items()}
        if wall is not None:
            values["wall_seconds/total"] = float(wall)
        _Scalars(writer).write(0, values)
        if values:
            rows = "\n".join(f"| {name.split('/', 1)[1]} | {v:.1f} |" for name, v in values.items())
            writer.add_text("wall_seconds", "| phase (summed over seeds) | seconds |\n|---|---|\n" + rows, 0)
        claims = results.get("claims") or []
        if claims:
            rows = "\n".join(
                f"| {c.get('verdict', 'holds' if c.get('holds') else 'does not hold')} | "
                f"{str(c.get('claim', '')).replace('|', '/')} | {', '.join(c.get('evidence') or [])} |"
                for c in claims)
            writer.add_text("claims", "| verdict | claim | evidence |\n|---|---|---|\n" + rows, 0)
    finally:
        writer.close()


def log_study(tb_dir: Path, run_dir: Path, results: dict, every: int = 10) -> None:
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
    for s, row in _seeds(run_dir, results):
        root = run_dir / f"seed{s}"
        if not root.is_dir():
            continue
        _log_pretrain(tb_dir, root, s, every)
        targets = row.get("targets") or {}
        for k in _targets(root, row):
            info = targets.get(k, targets.get(str(k), {}))
            _log_target(tb_dir, root, s, k, info, every)
    _log_summary(tb_dir, results)
