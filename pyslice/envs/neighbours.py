"""Coordination neighbours K_k of paper eq. 5: the cells that interfere most with cell k.

The coupling of cell i into cell k is the mean, over points p drawn uniformly in cell k's sector
rhombus (docs/model.md section 1), of the gain ratio g_i(p) / g_k(p), where g is the *mean* link gain
of docs/model.md section 2: antenna pattern minus the LOS-probability weighted path loss in dB,
P_LOS·PL_LOS + (1 − P_LOS)·PL_NLOS, without shadowing (the same mean map as
:func:`pyslice.sim.plots.best_server_sinr_db`). Transmit powers are equal and cancel. With wrap-around
each site is seen at its nearest image, and a site beyond ``radio.interference_radius_m`` of a point
contributes nothing there (as in the simulator).

Sampling is stratified and deterministic for a given ``seed``: the rhombus coordinates (a, c) ∈
[0, 1]² are cut into m × m strata (m = round(sqrt(samples_per_cell))) with one uniform point each,
mirrored so that the point set is symmetric under (a, c) → (c, a); the same coordinates are used for
every cell, and points closer than ``radio.min_distance_m`` to the cell's own site (where no UE is
dropped) get weight 0. Layout symmetries (rotations and mirror images mapping sites and sector
boresights onto each other) therefore carry over to the coupling matrix up to floating-point
rounding. Couplings that differ physically by ~1 % (e.g. 0.0122 vs 0.0121 at the edge of some paper
cells' top 6) can swap order with the seed or the sample count; for a given seed the result is
fixed.

Neighbours of cell k are the ``n_neighbours`` cells i ≠ k with the largest coupling, in descending
order; couplings equal within a relative 1e-9 count as ties and are broken by the lower cell index.
"""
from __future__ import annotations

import math

import numpy as np

from pyslice.sim import radio
from pyslice.base.validation import check_int
from pyslice._core import BORESIGHTS_DEG
from pyslice.sim.core_config import site_positions, wrap_vectors
from pyslice.sim.scenario import SECTORS_PER_SITE, Scenario

__all__ = ["coupling_matrix", "interference_neighbours", "neighbours_from_coupling"]

TIE_RTOL = 1e-9




def _rhombus_samples(scenario: Scenario, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified rhombus coordinates (a, c) ∈ [0, 1]² and their weights.

    [0, 1]² is cut into m × m strata, m = max(1, round(sqrt(samples))); stratum (i, j), i < j, gets
    one uniform point and stratum (j, i) its mirror image (c, a); a diagonal stratum gets one point
    and its mirror, each with weight 1/2. Points closer than ``min_distance_m`` to the site (where
    no UE is dropped) get weight 0.
    """
    m = max(1, round(math.sqrt(samples)))
    u = np.random.default_rng(seed).random((m, m, 2))
    i, j = np.triu_indices(m)
    a = (i + u[i, j, 0]) / m
    c = (j + u[i, j, 1]) / m
    ac = np.concatenate([np.stack([a, c], axis=1), np.stack([c, a], axis=1)])
    weights = np.concatenate([np.where(i == j, 0.5, 1.0)] * 2)
    r = scenario.layout.isd_m / math.sqrt(3.0)
    d_min = scenario.radio.min_distance_m
    if d_min < r:  # |a·u1 + c·u2| = R·sqrt(a² + c² − a·c) for unit vectors 120° apart, at most R
        dist = r * np.sqrt(ac[:, 0] ** 2 + ac[:, 1] ** 2 - ac[:, 0] * ac[:, 1])
        kept = np.where(dist >= d_min, weights, 0.0)
        if kept.sum() > 0.0:  # (with very few strata every point may be close to the site)
            weights = kept
    return ac, weights


def _cell_points(scenario: Scenario, sites: np.ndarray, ac: np.ndarray) -> np.ndarray:
    """Points [K, P, 2] of every cell's rhombus for rhombus coordinates ``ac`` [P, 2]."""
    r = scenario.layout.isd_m / math.sqrt(3.0)
    b = np.radians(np.asarray(BORESIGHTS_DEG))
    u1 = np.stack([np.cos(b - np.pi / 3), np.sin(b - np.pi / 3)], axis=-1)  # [3, 2]
    u2 = np.stack([np.cos(b + np.pi / 3), np.sin(b + np.pi / 3)], axis=-1)
    offsets = r * (ac[None, :, 0:1] * u1[:, None, :] + ac[None, :, 1:2] * u2[:, None, :])  # [3, P, 2]
    return (sites[:, None, None, :] + offsets[None]).reshape(SECTORS_PER_SITE * len(sites), len(ac), 2)


def _site_view(points: np.ndarray, site: np.ndarray, wrap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D distance and direction (degrees) from ``site`` (its nearest image under ``wrap``) to
    ``points`` [..., 2]."""
    if len(wrap):
        shifts = np.array([i * wrap[0] + j * wrap[1] for i in (-1, 0, 1) for j in (-1, 0, 1)])
        rel = points[None] - (site + shifts)[(slice(None),) + (None,) * (points.ndim - 1)]
        dist = np.hypot(rel[..., 0], rel[..., 1])
        best = np.argmin(dist, axis=0)
        rel = np.take_along_axis(rel, best[None, ..., None], axis=0)[0]
    else:
        rel = points - site
    return np.hypot(rel[..., 0], rel[..., 1]), np.degrees(np.arctan2(rel[..., 1], rel[..., 0]))


def coupling_matrix(scenario: Scenario, samples_per_cell: int = 200, seed: int = 0) -> np.ndarray:
    """Mean interference coupling C [K, K]: C[k, i] = mean over p in cell k of g_i(p)/g_k(p).

    ``samples_per_cell`` points per cell, drawn with ``seed`` (see the module docstring). The
    diagonal is 0 (a cell does not interfere with itself). Rows are "victim" cells, columns
    interferers; C is not symmetric in general.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
    samples = check_int("samples_per_cell", samples_per_cell, 1)
    seed = check_int("seed", seed, 0)
    sites = np.asarray(site_positions(scenario), dtype=float).reshape(-1, 2)
    wrap = np.asarray(wrap_vectors(scenario), dtype=float).reshape(-1, 2)
    radius = scenario.radio.interference_radius_m
    n_cells = SECTORS_PER_SITE * len(sites)
    ac, weights = _rhombus_samples(scenario, samples, seed)
    weights = weights / weights.sum()
    points = _cell_points(scenario, sites, ac)  # [K, P, 2]

    # Own (serving) mean gain in dB at each cell's points.
    own_db = np.empty(points.shape[:2])
    for k in range(n_cells):
        d, ang = _site_view(points[k], sites[k // SECTORS_PER_SITE], wrap)
        own_db[k] = radio.sector_gain_db(scenario, d, ang - BORESIGHTS_DEG[k % 3]) - radio.mean_pathloss_db(scenario, d)

    coupling = np.zeros((n_cells, n_cells))
    for s, site in enumerate(sites):
        d, ang = _site_view(points, site, wrap)  # [K, P]
        pl = radio.mean_pathloss_db(scenario, d)
        culled = d > radius
        for sector, boresight in enumerate(BORESIGHTS_DEG):
            ratio = 10.0 ** ((radio.sector_gain_db(scenario, d, ang - boresight) - pl - own_db) / 10.0)
            ratio[culled] = 0.0
            coupling[:, SECTORS_PER_SITE * s + sector] = ratio @ weights
    np.fill_diagonal(coupling, 0.0)
    return coupling


def neighbours_from_coupling(coupling: np.ndarray, n_neighbours: int) -> np.ndarray:
    """Indices [K, n] of the ``n_neighbours`` largest off-diagonal entries of each row of
    ``coupling``, descending; entries equal within a relative 1e-9 are ordered by index."""
    c = np.asarray(coupling, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"coupling must be a square [K, K] matrix, got shape {c.shape}")
    n_cells = c.shape[0]
    n = check_int("n_neighbours", n_neighbours, 0)
    if n > n_cells - 1:
        raise ValueError(f"n_neighbours must be <= K - 1 = {n_cells - 1} (cells other than k), got {n}")
    out = np.empty((n_cells, n), dtype=np.int64)
    for k in range(n_cells):
        others = np.array([i for i in range(n_cells) if i != k], dtype=np.int64)
        values = c[k, others]
        order = others[np.argsort(-values, kind="stable")]
        # Regroup near-equal values (floating-point noise of symmetric layouts) and sort them by index.
        ranked: list[int] = []
        i = 0
        while i < len(order):
            j = i + 1
            while j < len(order) and c[k, order[j]] >= c[k, order[i]] - TIE_RTOL * abs(c[k, order[i]]):
                j += 1
            ranked.extend(sorted(order[i:j].tolist()))
            i = j
        out[k] = ranked[:n]
    return out


def interference_neighbours(scenario: Scenario, n_neighbours: int = 6, samples_per_cell: int = 200,
                            seed: int = 0) -> np.ndarray:
    """The ``n_neighbours`` cells with the highest mean interference coupling into each cell,
    int64 [K, n_neighbours], most coupled first (see :func:`coupling_matrix`).

    Raises ValueError unless 1 <= n_neighbours <= K - 1.
    """
    n = check_int("n_neighbours", n_neighbours, 1)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
    n_cells = scenario.n_cells
    if n > n_cells - 1:
        raise ValueError(f"n_neighbours must be <= K - 1 = {n_cells - 1} (the scenario has K = {n_cells} "
                         f"cells), got {n}")
    return neighbours_from_coupling(coupling_matrix(scenario, samples_per_cell, seed), n)
