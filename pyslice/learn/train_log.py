"""``train_log.csv``, a training run's per-step log: its columns, one row, and the reader that the
trainer's resume, TensorBoard and the study's aggregation share."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

#: The log's file name in a run directory.
LOG = "train_log.csv"


def log_header(n_agents: int, n_slices: int) -> list[str]:
    """Columns: step, phase, mean reward, one reward per agent, one satisfaction per (agent, slice)."""
    return (["step", "phase", "mean_reward"] + [f"reward_{k}" for k in range(n_agents)]
            + [f"satisfaction_{k}_{n}" for k in range(n_agents) for n in range(n_slices)])


def log_row(step: int, phase: str, reward: np.ndarray, info: dict[str, Any]) -> list[Any]:
    """One step's row: satisfaction is min(throughput term, delay term) per (agent, slice)."""
    sat = np.minimum(info["throughput_term"], info["delay_term"])
    return [step, phase, float(reward.mean()), *reward.tolist(), *sat.ravel().tolist()]


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """``train_log.csv`` as arrays: step [T], phase [T], reward [T, K], satisfaction [T, K, N]."""
    text = Path(path).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    K = sum(1 for h in header if h.startswith("reward_"))
    N = sum(1 for h in header if h.startswith("satisfaction_0_"))
    data = np.array([[float(v) for v in r[2:]] for r in body]).reshape(len(body), -1) if body else np.zeros((0, 1 + K + K * N))
    return {"step": np.array([int(r[0]) for r in body]), "phase": np.array([r[1] for r in body]),
            "reward": data[:, 1:1 + K], "satisfaction": data[:, 1 + K:].reshape(len(body), K, N)}
