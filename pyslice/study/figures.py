"""The paper's figures (Figs. 3-8) drawn from plain arrays, so the pipeline and users can call them."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from pyslice.base.atomic import atomic_open  # noqa: E402


def _save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along the last axis (window shrinks at the start)."""
    y = np.asarray(y, dtype=float)
    if window <= 1:
        return y
    c = np.cumsum(y, axis=-1)
    out = np.empty_like(c)
    out[..., :window] = c[..., :window] / np.arange(1, min(window, y.shape[-1]) + 1)
    out[..., window:] = (c[..., window:] - c[..., :-window]) / window
    return out


def traffic_mask(mask: np.ndarray, slice_names: Sequence[str], path: str | Path, steps: int = 200) -> Path:
    """Fig. 3: the traffic mask tau_n(t) of every slice over the first ``steps`` steps. mask [T, N]."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    t = np.arange(1, min(steps, len(mask)) + 1)
    for n, name in enumerate(slice_names):
        ax.plot(t, mask[: len(t), n], lw=1.2, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("traffic mask τ")
    ax.set_ylim(0, 1.02)
    ax.set_title("Traffic mask (active share of each slice's 32 UEs)")
    ax.legend(ncol=len(slice_names), fontsize=8)
    return _save(fig, path)


def reward_curves(curves: Mapping[str, np.ndarray], path: str | Path, window: int = 50,
                  solid_until: Mapping[str, int] | None = None, title: str = "Reward during training") -> Path:
    """Fig. 4: reward over steps, mean over seeds with a min-max band. curves: label -> [seeds, T].

    ``solid_until[label] = s`` draws that curve solid up to step s and dashed after (the paper draws
    DRL's first 4000 steps solid)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (label, y) in enumerate(curves.items()):
        y = smooth(np.atleast_2d(y), window)
        mean, lo, hi = y.mean(axis=0), y.min(axis=0), y.max(axis=0)
        t = np.arange(1, y.shape[1] + 1)
        color = f"C{i}"
        cut = (solid_until or {}).get(label)
        if cut is not None and cut < len(t):
            ax.plot(t[:cut], mean[:cut], color=color, lw=1.4, label=label)
            ax.plot(t[cut - 1:], mean[cut - 1:], color=color, lw=1.2, ls="--")
        else:
            ax.plot(t, mean, color=color, lw=1.4, label=label)
        if y.shape[0] > 1:
            ax.fill_between(t, lo, hi, color=color, alpha=0.15, lw=0)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"reward (eq. 2), moving average of {window}")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def reward_panels(panels: Sequence[Mapping[str, np.ndarray]], titles: Sequence[str], path: str | Path,
                  window: int = 50, columns: int = 4, title: str = "Reward of every cell") -> Path:
    """Small multiples of Fig. 4: one panel per cell, each ``label -> [seeds, T]`` curves drawn as
    the mean over seeds (smoothed by ``window``); all panels share the axes and one legend."""
    if len(panels) != len(titles) or not panels:
        raise ValueError(f"need one title per panel and at least one panel, got {len(panels)} and {len(titles)}")
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, curves, name in zip(axes.ravel(), panels, titles):
        for i, (label, y) in enumerate(curves.items()):
            y = smooth(np.atleast_2d(y), window)
            ax.plot(np.arange(1, y.shape[1] + 1), y.mean(axis=0), color=f"C{i}", lw=1.0, label=label)
        ax.set_title(name, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.suptitle(f"{title} (moving average of {window}, mean over seeds)", fontsize=10)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.965), ncol=len(labels), fontsize=8)
    fig.supxlabel("step", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return _save(fig, path)


def ccdf(samples: Mapping[str, np.ndarray], path: str | Path, xlabel: str, title: str, mark: float | None = 0.95) -> Path:
    """Fig. 5: complementary CDF 1 - F(x) of each policy's values."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, x in samples.items():
        x = np.sort(np.ravel(x))
        ax.step(x, 1.0 - np.arange(1, len(x) + 1) / len(x), where="post", label=label)
    if mark is not None:
        ax.axvline(mark, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("1 − F(x)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def cdf(samples: Mapping[str, np.ndarray], path: str | Path, xlabel: str, title: str, log_x: bool = True) -> Path:
    """Fig. 6: empirical CDF of each policy's values."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, x in samples.items():
        x = np.sort(np.ravel(x))
        ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=label)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("F(x)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def gain_vs_distance(gains: np.ndarray, distances: np.ndarray, path: str | Path, window: int = 50,
                     title: str = "TL gain over DRL vs training steps",
                     ylabel: str = "gain over DRL (%)") -> Path:
    """Fig. 8: TL gain over DRL at equal steps for sources of different distance.

    gains [S, T] (a gain per source and step, as a fraction: plotted ×100), distances [S]."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    order = np.argsort(distances)
    cmap = plt.get_cmap("viridis")
    span = (distances.max() - distances.min()) or 1.0
    for i in order:
        c = cmap((distances[i] - distances.min()) / span)
        ax.plot(np.arange(1, gains.shape[1] + 1), 100 * smooth(gains[i], window), color=c, lw=1.1,
                label=f"D = {distances[i]:.3g}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("TL training step")
    ax.set_ylabel(ylabel if window <= 1 else f"{ylabel}, moving average of {window}")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def mean_with_band(per_seed: np.ndarray, path: str | Path, xlabel: str, ylabel: str, title: str,
                   level: float = 0.95) -> Path:
    """A curve's mean over seeds with its ``level`` t-interval band at every x. per_seed [S, T]
    (each row: one seed's mean over its targets); no band with one seed."""
    y = np.atleast_2d(np.asarray(per_seed, dtype=float))
    S, T = y.shape
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(1, T + 1)
    mean = y.mean(axis=0)
    ax.plot(x, 100 * mean, color="C0", lw=1.4, label=f"mean over {S} seed{'s' if S != 1 else ''}")
    if S > 1:
        half = stats.t.ppf(0.5 + level / 2, S - 1) * y.std(axis=0, ddof=1) / np.sqrt(S)
        ax.fill_between(x, 100 * (mean - half), 100 * (mean + half), color="C0", alpha=0.2, lw=0,
                        label=f"{100 * level:g} % interval over seeds")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)
