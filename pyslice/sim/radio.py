"""Vectorised radio functions of the C++ core (docs/model.md section 2 and 4).

All functions accept NumPy arrays (or scalars) and return float64 arrays of the same shape.
"""
from __future__ import annotations

from typing import Callable, Literal

import numpy as np

from pyslice import _core

PathlossModelName = Literal["winner+", "3gpp-36.814-uma"]
#: The radio defaults, defined once in the core (pathloss.hpp: PropagationParams, AntennaParams).
PROPAGATION_DEFAULTS: dict[str, float] = dict(_core.PROPAGATION_DEFAULTS)
ANTENNA_DEFAULTS: dict[str, float] = dict(_core.ANTENNA_DEFAULTS)
_P, _A = PROPAGATION_DEFAULTS, ANTENNA_DEFAULTS


def _floats(value: object, name: str) -> np.ndarray:
    """``value`` as a contiguous float64 array; TypeError naming ``name`` if it is not numeric."""
    try:
        return np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric (an array or scalar of numbers), got {value!r:.60}") from exc


def pathloss_db(
    d_m: np.ndarray | float,
    los: np.ndarray | bool,
    fc_ghz: float = _P["fc_ghz"],
    h_bs: float = _P["h_bs"],
    h_ut: float = _P["h_ut"],
    model: PathlossModelName = "winner+",
    d_min: float = _P["d_min"],
    d_max: float = _P["d_max"],
) -> np.ndarray:
    """Path loss (dB) at 2-D distance ``d_m`` (clamped to [d_min, d_max]) for LOS/NLOS links."""
    return _per_link(_core.pathloss_db, d_m, los, fc_ghz, h_bs, h_ut, model, d_min, d_max)


def shadow_sigma_db(
    d_m: np.ndarray | float,
    los: np.ndarray | bool,
    fc_ghz: float = _P["fc_ghz"],
    h_bs: float = _P["h_bs"],
    h_ut: float = _P["h_ut"],
    model: PathlossModelName = "winner+",
    d_min: float = _P["d_min"],
    d_max: float = _P["d_max"],
) -> np.ndarray:
    """Shadow-fading standard deviation (dB) of the model for LOS/NLOS links."""
    return _per_link(_core.shadow_sigma_db, d_m, los, fc_ghz, h_bs, h_ut, model, d_min, d_max)


def _per_link(core_fn: Callable[..., np.ndarray], d_m: np.ndarray | float, los: np.ndarray | bool,
              *model_args: object) -> np.ndarray:
    """``core_fn(d, los, *model_args)`` with ``los`` broadcast to the distances' shape."""
    d = _floats(d_m, "d_m")
    los_arr = np.broadcast_to(_floats(los, "los"), d.shape)
    return core_fn(d, np.ascontiguousarray(los_arr), *model_args)


def los_probability(d_m: np.ndarray | float, d_min: float = _P["d_min"], d_max: float = _P["d_max"]) -> np.ndarray:
    """P_LOS(d) = min(18/d, 1)(1 - exp(-d/63)) + exp(-d/63), d clamped to [d_min, d_max]."""
    return _core.los_probability(_floats(d_m, "d_m"), d_min, d_max)


def antenna_gain_db(
    phi_deg: np.ndarray | float, gain_dbi: float = _A["gain_dbi"], beamwidth_deg: float = _A["beamwidth_deg"], max_attenuation_db: float = _A["max_attenuation_db"]
) -> np.ndarray:
    """3-sector horizontal pattern G(phi) = Gmax - min(12 (phi/phi3dB)^2, Am), phi off boresight."""
    return _core.antenna_gain_db(_floats(phi_deg, "phi_deg"), gain_dbi, beamwidth_deg, max_attenuation_db)


def link_gains(
    dx: np.ndarray,
    dy: np.ndarray,
    shadow_z: np.ndarray,
    los_z: np.ndarray,
    *,
    fc_ghz: float = _P["fc_ghz"],
    h_bs: float = _P["h_bs"],
    h_ut: float = _P["h_ut"],
    model: PathlossModelName = "winner+",
    d_min: float = _P["d_min"],
    d_max: float = _P["d_max"],
    gain_dbi: float = _A["gain_dbi"],
    beamwidth_deg: float = _A["beamwidth_deg"],
    max_attenuation_db: float = _A["max_attenuation_db"],
    shadowing: bool = True,
) -> dict[str, np.ndarray]:
    """The simulator's per-link kernel on explicit links: for n (site, UE) links with displacement
    (dx, dy) from site to UE (m) and shadowing/LOS states z_S, z_L (standard normal), returns
    ``distance`` [n], ``angle_deg`` [n] (atan2 of the displacement), ``los`` [n] (uint8:
    Phi(z_L) < P_LOS(d)), ``loss_db`` [n] (path loss + sigma z_S) and ``gain`` [n, 3] (linear gain
    of the site's sectors with boresights 30/150/270 degrees)."""
    arrays = [_floats(a, name) for a, name in ((dx, "dx"), (dy, "dy"), (shadow_z, "shadow_z"), (los_z, "los_z"))]
    return _core.link_gains(*arrays, fc_ghz, h_bs, h_ut, model, d_min, d_max, gain_dbi, beamwidth_deg,
                            max_attenuation_db, shadowing)


def spectral_efficiency(sinr: np.ndarray | float) -> np.ndarray:
    """Truncated Shannon (TR 36.942 A.1): 0 below -10 dB, else min(0.6 log2(1 + sinr), 4.4) bit/s/Hz."""
    return _core.spectral_efficiency(_floats(sinr, "sinr"))


def solve_load_coupling(
    gain: np.ndarray,
    serving: np.ndarray,
    slice_of: np.ndarray,
    demand: np.ndarray,
    shares: np.ndarray,
    tx_power_w: float | np.ndarray,
    noise_w: float,
    prb_bandwidth_hz: float,
    n_prb: int,
    rho0: np.ndarray | None = None,
    tol: float = 1e-6,
    max_iter: int = 200,
    interference_matrix: str = "auto",
) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve the slice-aware load-coupling fixed point rho = F(rho) by Gauss-Seidel sweeps over
    the cells (from rho0, zeros if None, until no load changes by tol or more in a sweep).

    gain [K, U] linear; serving/slice_of [U] ints; demand [U] bit/s (0: not offering traffic);
    shares [K, N] rows on the simplex; tx_power_w and noise_w per PRB (tx_power_w scalar or [K]).
    UEs whose SINR at full interference is below -10 dB are in outage and left out of x.
    ``interference_matrix`` picks how the solver stores interferers: "dense" (a [K, U] matrix),
    "sparse" (per-UE lists) or "auto" (by density); the results are the same.
    Returns (rho [K], x [K, N] needed shares of the last sweep, sweeps).
    """
    return _core.solve_load_coupling(
        gain, serving, slice_of, demand, shares, tx_power_w, noise_w, prb_bandwidth_hz, n_prb, rho0, tol, max_iter,
        interference_matrix,
    )
