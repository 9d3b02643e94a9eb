"""Figures a radio engineer checks first: the network map and per-slice KPI time series."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pyslice.sim import radio  # noqa: E402
from pyslice._core import BORESIGHTS_DEG  # noqa: E402
from pyslice.base.atomic import atomic_open  # noqa: E402
from pyslice.sim.scenario import SECTORS_PER_SITE, Scenario  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def best_server_sinr_db(scenario: Scenario, sites: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                        cell_load: np.ndarray | None = None) -> np.ndarray:
    """Best-server SINR (dB) on a grid, mean path loss (LOS-probability weighted, no shadowing).

    Interferers are weighted by ``cell_load`` (default: full load).
    """
    r = scenario.radio
    gx, gy = np.meshgrid(xs, ys)
    n_cells = SECTORS_PER_SITE * len(sites)
    load = np.ones(n_cells) if cell_load is None else np.asarray(cell_load)
    rx = np.empty((n_cells,) + gx.shape)
    for s, (sx, sy) in enumerate(sites):
        d = np.hypot(gx - sx, gy - sy)
        pl = radio.mean_pathloss_db(scenario, d)
        ang = np.degrees(np.arctan2(gy - sy, gx - sx))
        for sec, b in enumerate(BORESIGHTS_DEG):
            g = radio.sector_gain_db(scenario, d, ang - b)
            rx[3 * s + sec] = 10 ** ((r.tx_power_dbm - 30 + g - pl) / 10) / r.n_prb
    noise = 10 ** ((r.noise_density_dbm_hz + 10 * np.log10(r.prb_bandwidth_hz) + r.noise_figure_db - 30) / 10)
    best = rx.argmax(axis=0)
    signal = np.take_along_axis(rx, best[None], axis=0)[0]
    interference = (load[:, None, None] * rx).sum(axis=0) - load[best] * signal
    return 10 * np.log10(signal / (interference + noise))


def plot_network(scenario: Scenario, sites: np.ndarray, positions: np.ndarray, serving: np.ndarray,
                 active: np.ndarray, path: Path, cell_load: np.ndarray | None = None) -> Path:
    """Sites, sector boresights, active UEs coloured by serving cell, best-server SINR map."""
    isd = scenario.layout.isd_m
    lo, hi = sites.min(axis=0) - isd, sites.max(axis=0) + isd
    xs, ys = np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160)
    sinr = best_server_sinr_db(scenario, sites, xs, ys, cell_load)
    fig, ax = plt.subplots(figsize=(8, 7))
    im = ax.pcolormesh(xs, ys, sinr, cmap="viridis", shading="auto", vmin=-10, vmax=30)
    fig.colorbar(im, ax=ax, label="best-server SINR (dB, mean path loss" + (", mean loads)" if cell_load is not None else ", full load)"))
    cmap = plt.get_cmap("tab20")
    act = np.asarray(active, dtype=bool)
    ax.scatter(positions[act, 0], positions[act, 1], s=6, c=[cmap(c % 20) for c in serving[act]], edgecolors="none")
    ax.scatter(positions[~act, 0], positions[~act, 1], s=3, c="lightgrey", edgecolors="none", label="idle UE")
    for s, (sx, sy) in enumerate(sites):
        ax.plot(sx, sy, "k^", ms=9)
        for sec, b in enumerate(BORESIGHTS_DEG):
            dx, dy = 0.25 * isd * np.cos(np.radians(b)), 0.25 * isd * np.sin(np.radians(b))
            ax.annotate("", xy=(sx + dx, sy + dy), xytext=(sx, sy), arrowprops=dict(arrowstyle="->", color="k"))
            ax.text(sx + 1.4 * dx, sy + 1.4 * dy, str(SECTORS_PER_SITE * s + sec + 1), ha="center", va="center", fontsize=8,
                    color="white", weight="bold")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{scenario.name}: sites, sectors (cell labels k+1), active UEs by serving cell")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def plot_kpi_series(series: dict[str, np.ndarray], slice_names: list[str], path: Path) -> Path:
    """Per-slice KPIs over time, averaged over cells (``series``: :data:`pyslice.sim.stream.SERIES`
    [T, N] each, and
    ``reward_mean``, ``reward_min`` [T]): throughput, delay, load, users, mask, reward."""
    t = np.arange(1, series["reward_mean"].shape[0] + 1)
    fig, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True)
    panels = {
        "mean user throughput (Mbit/s)": series["throughput"] / 1e6,
        "mean delay (ms)": series["delay"] * 1e3,
        "needed PRB share x (load)": series["load"],
        "active users per cell": series["users"],
        "traffic mask tau": series["mask"],
    }
    for ax, (label, y) in zip(axes.flat, panels.items()):
        for n, name in enumerate(slice_names):
            ax.plot(t, y[:, n], lw=1, label=name)
        ax.set_ylabel(label)
        if "delay" in label:
            ax.set_yscale("log")
    ax = axes.flat[5]
    ax.plot(t, series["reward_mean"], color="k", lw=1, label="mean over cells")
    ax.plot(t, series["reward_min"], color="r", lw=0.6, label="worst cell")
    ax.set_ylabel("satisfaction (paper eq. 2)")
    ax.set_ylim(0, 1.05)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    axes.flat[0].legend(fontsize=8)
    axes.flat[5].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_calibration_case(title: str, samples: dict[str, np.ndarray], reference: dict, tolerance_db: float,
                          path: Path, label: str = "pyslice") -> Path:
    """Our CDFs of coupling loss and geometry (``samples``, labelled ``label``) over a 3GPP reference
    curve's points with the tolerance band (reference ± ``tolerance_db``) shaded (docs/calibration.md)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    pct = np.asarray(reference["percentiles"], dtype=float)
    for ax, metric, xlabel in zip(axes, ("coupling_loss_db", "geometry_db"), ("coupling loss (dB)", "geometry (dB)")):
        ours = np.sort(samples[metric][np.isfinite(samples[metric])])
        ref = np.asarray(reference[metric], dtype=float)
        ax.fill_betweenx(pct, ref - tolerance_db, ref + tolerance_db, color="tab:orange", alpha=0.25,
                         label=f"3GPP ± {tolerance_db:g} dB")
        ax.plot(ref, pct, "o", color="tab:orange", ms=4, label="3GPP reference")
        ax.plot(ours, 100.0 * np.arange(1, ours.size + 1) / ours.size, color="tab:blue", lw=1.6, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CDF (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    return _save(fig, Path(path))
