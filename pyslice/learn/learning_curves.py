"""Learning-curve statistics that judge a training run against a baseline on the same steps.

All functions take per-step rewards shaped ``[T]`` or ``[T, K]`` (steps × cells) and compare an agent
with a reference policy run on the same seed and steps (same UE trajectories and traffic), so every
comparison is paired. Windows are trailing means over ``window`` consecutive steps, evaluated at every
step from ``window`` on.
"""
from __future__ import annotations

import numpy as np

from pyslice.base.validation import check_int

__all__ = ["window_means", "collapse_windows", "steps_to_reach", "learning_report"]


def _as_2d(name: str, x: object) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be [T] or [T, K], got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _check_window(window: int, T: int) -> int:
    window = check_int("window", window, 1)
    if window > T:
        raise ValueError(f"window ({window}) is longer than the curve ({T} steps)")
    return int(window)


def window_means(rewards: object, window: int = 250) -> np.ndarray:
    """Trailing ``window``-step means ``[T - window + 1, K]``: row i is the mean of steps i..i+window-1."""
    r = _as_2d("rewards", rewards)
    w = _check_window(window, r.shape[0])
    c = np.vstack([np.zeros((1, r.shape[1])), np.cumsum(r, axis=0)])
    return (c[w:] - c[:-w]) / w


def _pair(agent: object, baseline: object) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_2d("agent", agent), _as_2d("baseline", baseline)
    if a.shape != b.shape:
        raise ValueError(f"agent and baseline must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def collapse_windows(agent: object, baseline: object, window: int = 250, low: float = 0.1,
                     high: float = 0.6) -> np.ndarray:
    """Per cell ``[K]``: how many ``window``-step windows have an agent mean below ``low`` while the
    baseline's mean on the same window is above ``high`` (a collapse the baseline does not share)."""
    a, b = _pair(agent, baseline)
    wa, wb = window_means(a, window), window_means(b, window)
    return ((wa < low) & (wb > high)).sum(axis=0)


def steps_to_reach(agent: object, baseline: object, fraction: float = 0.95, window: int = 250) -> np.ndarray:
    """Per cell ``[K]``: the first step count t (end of the first window) at which the agent's
    trailing ``window``-step mean reaches ``fraction`` × the baseline's on the same window;
    -1 where it never does."""
    a, b = _pair(agent, baseline)
    wa, wb = window_means(a, window), window_means(b, window)
    ok = wa >= fraction * wb
    first = np.argmax(ok, axis=0) + window
    return np.where(ok.any(axis=0), first, -1)


def learning_report(agent: object, baseline: object, exploration_steps: int, training_steps: int,
                    window: int = 250) -> dict[str, object]:
    """The issue-11 criteria of one run: rewards ``[T, K]`` of the agent and the baseline over the
    whole schedule (exploration, training, greedy evaluation). Returns per-cell collapse windows and
    steps to 95 % of the baseline (both counted from the end of exploration), the per-cell greedy
    evaluation means of both, and the training-phase mean."""
    a, b = _pair(agent, baseline)
    E, Tr = int(exploration_steps), int(training_steps)
    if E < 0 or Tr < window or E + Tr > a.shape[0]:
        raise ValueError(f"need 0 <= exploration_steps, window <= training_steps and exploration + training "
                         f"<= {a.shape[0]} steps; got {E}, {Tr}, window {window}")
    train = slice(E, E + Tr)
    ev = slice(E + Tr, a.shape[0])
    out: dict[str, object] = {
        "collapse_windows": collapse_windows(a[train], b[train], window).tolist(),
        "steps_to_95pct_baseline": steps_to_reach(a[train], b[train], 0.95, window).tolist(),
        "training_mean": float(a[train].mean()),
        "min_window_mean": float(window_means(a[train], window).min()),  # worst cell, worst window
    }
    if ev.start < a.shape[0]:
        out["eval_agent"] = a[ev].mean(axis=0).tolist()
        out["eval_baseline"] = b[ev].mean(axis=0).tolist()
    return out
