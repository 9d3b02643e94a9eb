"""Vectorised radio functions of the C++ core (docs/model.md section 2 and 4).

All functions accept NumPy arrays (or scalars) and return float64 arrays of the same shape.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

from pyslice import _core

if TYPE_CHECKING:
    from pyslice.sim.scenario import Scenario

PathlossModelName = Literal[
    "winner+", "3gpp-36.814-uma", "3gpp-36.873-uma", "3gpp-36.873-umi", "3gpp-38.901-uma", "3gpp-38.901-umi"
]
#: The radio defaults, defined once in the core (pathloss.hpp: PropagationParams, AntennaParams).
PROPAGATION_DEFAULTS: dict[str, float] = dict(_core.PROPAGATION_DEFAULTS)
ANTENNA_DEFAULTS: dict[str, float] = dict(_core.ANTENNA_DEFAULTS)
_P, _A = PROPAGATION_DEFAULTS, ANTENNA_DEFAULTS


def _floats(value: object, name: str) -> np.ndarray:
    """``value`` as a contiguous float64 array; TypeError naming ``name`` if it is not numeric."""
    try:
        arr = np.asarray(value, dtype=np.float64)  # keeps a scalar 0-d (ascontiguousarray would make it 1-d)
        return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
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
    h_e: float = 1.0,
) -> np.ndarray:
    """Path loss (dB) at 2-D distance ``d_m`` (clamped to [d_min, d_max]) for LOS/NLOS links.

    For the 3-D 3GPP models this is the basic path loss PL_b of a UE at height ``h_ut`` (3-D distance
    from the heights) with effective environment height ``h_e`` (UMa breakpoint; UMi uses 1 m)."""
    return _per_link(_core.pathloss_db, d_m, los, fc_ghz, h_bs, h_ut, model, d_min, d_max, h_e, False)


def shadow_sigma_db(
    d_m: np.ndarray | float,
    los: np.ndarray | bool,
    fc_ghz: float = _P["fc_ghz"],
    h_bs: float = _P["h_bs"],
    h_ut: float = _P["h_ut"],
    model: PathlossModelName = "winner+",
    d_min: float = _P["d_min"],
    d_max: float = _P["d_max"],
    indoor: bool = False,
) -> np.ndarray:
    """Shadow-fading standard deviation (dB) of the model for LOS/NLOS links (``indoor``: the 3-D
    3GPP models' O2I value)."""
    return _per_link(_core.shadow_sigma_db, d_m, los, fc_ghz, h_bs, h_ut, model, d_min, d_max, 1.0, indoor)


def _per_link(core_fn: Callable[..., np.ndarray], d_m: np.ndarray | float, los: np.ndarray | bool,
              *model_args: object) -> np.ndarray:
    """``core_fn(d, los, *model_args)`` with ``los`` broadcast to the distances' shape."""
    d = _floats(d_m, "d_m")
    los_arr = np.broadcast_to(_floats(los, "los"), d.shape)
    return core_fn(d, np.ascontiguousarray(los_arr), *model_args).reshape(d.shape)


def los_probability(
    d_m: np.ndarray | float,
    d_min: float = _P["d_min"],
    d_max: float = _P["d_max"],
    model: PathlossModelName = "winner+",
    h_ut: float = _P["h_ut"],
) -> np.ndarray:
    """LOS probability at 2-D distance ``d_m``: for the 2-D models
    P_LOS(d) = min(18/d, 1)(1 - exp(-d/63)) + exp(-d/63), d clamped to [d_min, d_max]; for the 3-D
    3GPP models their table (TR 36.873 7.2-2, TR 38.901 7.4.2-1) at the outdoor distance ``d_m`` for a
    UE at height ``h_ut``."""
    d = _floats(d_m, "d_m")
    return _core.los_probability(d, d_min, d_max, model, h_ut).reshape(d.shape)


def antenna_gain_3gpp_db(
    theta_deg: np.ndarray | float,
    phi_deg: np.ndarray | float,
    *,
    gain_dbi: float = 8.0,
    beamwidth_deg: float = 65.0,
    max_attenuation_db: float = 30.0,
    vertical_beamwidth_deg: float = _A["vertical_beamwidth_deg"],
    sla_v_db: float = _A["sla_v_db"],
    elements: int = _A["elements"],
    element_spacing_wl: float = _A["element_spacing_wl"],
    electrical_tilt_deg: float = _A["electrical_tilt_deg"],
    mechanical_tilt_deg: float = _A["mechanical_tilt_deg"],
) -> np.ndarray:
    """Gain (dBi) of the 3GPP 3-D BS antenna (TR 36.873 §7.1, TR 38.901 Table 7.3-1) towards zenith
    ``theta_deg`` (90 = horizon) and azimuth ``phi_deg`` off boresight: element pattern
    -min(-(A_V + A_H), A_m) + G_E, a column of ``elements`` elements with electrical downtilt, and a
    mechanical downtilt of the panel. The defaults are the documents' element (8 dBi, 65°, 30 dB)."""
    theta, phi = np.broadcast_arrays(_floats(theta_deg, "theta_deg"), _floats(phi_deg, "phi_deg"))
    return _core.antenna_gain_3gpp_db(
        np.ascontiguousarray(theta), np.ascontiguousarray(phi), gain_dbi, beamwidth_deg, max_attenuation_db,
        vertical_beamwidth_deg, sla_v_db, elements, element_spacing_wl, electrical_tilt_deg, mechanical_tilt_deg,
    ).reshape(theta.shape)


def o2i_wall_loss_db(model: str, high_loss: bool, fc_ghz: float) -> float:
    """Mean outdoor-to-indoor wall loss PL_tw (dB): 20 dB for ``3gpp-36.873``; TR 38.901 Table 7.4.3-2's
    low-loss or (``high_loss``) high-loss building for ``3gpp-38.901``."""
    return float(_core.o2i_wall_loss_db(model, high_loss, fc_ghz))


def antenna_gain_db(
    phi_deg: np.ndarray | float, gain_dbi: float = _A["gain_dbi"], beamwidth_deg: float = _A["beamwidth_deg"], max_attenuation_db: float = _A["max_attenuation_db"]
) -> np.ndarray:
    """3-sector horizontal pattern G(phi) = Gmax - min(12 (phi/phi3dB)^2, Am), phi off boresight."""
    phi = _floats(phi_deg, "phi_deg")
    return _core.antenna_gain_db(phi, gain_dbi, beamwidth_deg, max_attenuation_db).reshape(phi.shape)


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
    x = _floats(sinr, "sinr")
    return _core.spectral_efficiency(x).reshape(x.shape)


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


def mean_pathloss_db(scenario: Scenario, d_m: np.ndarray) -> np.ndarray:
    """The scenario's mean path loss (dB) of an outdoor UE at 2-D distance ``d_m``: the
    LOS-probability weighted P_LOS·PL_LOS + (1 − P_LOS)·PL_NLOS, no shadowing (the mean maps of the
    neighbour coupling and the network plot)."""
    r, lay = scenario.radio, scenario.layout
    kw = dict(fc_ghz=r.carrier_ghz, h_bs=lay.bs_height_m, h_ut=lay.ue_height_m, model=r.pathloss_model,
              d_min=r.min_distance_m, d_max=r.max_distance_m)
    p_los = los_probability(d_m, r.min_distance_m, r.max_distance_m, r.pathloss_model, lay.ue_height_m)
    return p_los * pathloss_db(d_m, True, **kw) + (1.0 - p_los) * pathloss_db(d_m, False, **kw)


def sector_gain_db(scenario: Scenario, d_m: np.ndarray, phi_deg: np.ndarray) -> np.ndarray:
    """The scenario's BS antenna gain (dBi) towards an outdoor UE at 2-D distance ``d_m`` and azimuth
    ``phi_deg`` off the sector's boresight (the 3-D antenna sees the UE's zenith angle too)."""
    r, lay = scenario.radio, scenario.layout
    if r.antenna_model == "sector":
        return antenna_gain_db(phi_deg, r.antenna_gain_dbi, r.antenna_beamwidth_deg, r.antenna_max_attenuation_db)
    theta = 90.0 + np.degrees(np.arctan2(lay.bs_height_m - lay.ue_height_m, _floats(d_m, "d_m")))
    return antenna_gain_3gpp_db(
        theta, phi_deg, gain_dbi=r.antenna_gain_dbi, beamwidth_deg=r.antenna_beamwidth_deg,
        max_attenuation_db=r.antenna_max_attenuation_db, vertical_beamwidth_deg=r.antenna_vertical_beamwidth_deg,
        sla_v_db=r.antenna_sla_v_db, elements=r.antenna_elements, element_spacing_wl=r.antenna_element_spacing_wl,
        electrical_tilt_deg=r.antenna_electrical_tilt_deg, mechanical_tilt_deg=r.antenna_mechanical_tilt_deg,
    )
