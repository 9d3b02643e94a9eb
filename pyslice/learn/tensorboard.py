"""TensorBoard logs of training runs (optional extra ``pyslice[tensorboard]``).

:class:`TrainLogger` is what :class:`pyslice.learn.train.Trainer` writes when given
``tensorboard=DIR``; the logs of a whole study are :mod:`pyslice.study.tensorboard_logs`. Steps are the 1-based environment-step counts of ``train_log.csv``'s ``step`` column.

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

from pyslice.base.validation import check_int
from pyslice.learn.train_log import read_log

INSTALL_HINT = '--tensorboard needs TensorBoard: pip install "pyslice[tensorboard]"'
PHASE_CODE = {"explore": 0, "train": 1, "eval": 2}


def require_tensorboard() -> None:
    """Raise ``ValueError`` with the install hint unless ``torch.utils.tensorboard`` imports."""
    try:
        import torch.utils.tensorboard  # noqa: F401  (optional extra: the tensorboard package)
    except ImportError:
        raise ValueError(INSTALL_HINT) from None


def summary_writer(log_dir: Path, purge_step: int | None) -> Any:
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter  # optional extra, checked just above

    # a queue long enough for a window's events: TrainLogger hands them over, then waits once (flush)
    return SummaryWriter(str(log_dir), purge_step=purge_step, max_queue=1000)


class Scalars:
    """Many scalars of one step written as one event (one record: much cheaper than one each)."""

    def __init__(self, writer: Any) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary  # optional extra (a writer exists, so it is installed)

        self._writer, self._Summary = writer, Summary

    def write(self, step: int, values: dict[str, float]) -> None:
        if values:
            value = self._Summary.Value
            summary = self._Summary(value=[value(tag=tag, simple_value=v) for tag, v in values.items()])
            # the public add_scalar writes one event per tag: with K cells and N slices that is
            # K (N + 3) records per window, each checksummed byte by byte in Python
            self._writer._get_file_writer().add_summary(summary, step)


class TrainLogger:
    """TensorBoard log of one :class:`pyslice.learn.train.Trainer` run (see the module docstring).

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
        check_int("every", every, 1)
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
        self._writer = summary_writer(self.log_dir, purge_step=self.step + 1)
        self._scalars = Scalars(self._writer)

    def _refill(self, train_log: Path) -> None:
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


# ---- curves as window means (also used by pyslice.study.tensorboard_logs) -------------------------

def block_means(curve: np.ndarray, every: int) -> list[tuple[int, float]]:
    """(last 1-based step, mean) of each window of ``every`` steps; the last one may be shorter."""
    curve = np.asarray(curve, dtype=float)
    return [(min(a + every, len(curve)), float(curve[a:a + every].mean())) for a in range(0, len(curve), every)]


def write_curves(writer: Any, curves: dict[str, np.ndarray], every: int) -> None:
    scalars = Scalars(writer)
    points: dict[int, dict[str, float]] = {}
    for tag, curve in curves.items():
        for step, value in block_means(curve, every):
            if math.isfinite(value):
                points.setdefault(step, {})[tag] = value
    for step in sorted(points):
        scalars.write(step, points[step])
