"""Independent plain-NumPy reference of the pyslice radio / load-coupling / KPI model.

Written from ``docs/model.md`` (sections 2, 4 and 5) only; it imports nothing from ``pyslice``.
The test-suite compares the C++ core against these functions at relative 1e-9, so everything here
is float64 and written for clarity rather than speed.

Conventions (see docs/model.md):

* cells: ``K = 3 * S``, cell ``k = 3 * site + sector``; sector boresights 30, 150, 270 degrees.
* ``gain[k, u]`` is the linear link gain per PRB (antenna gain minus path loss minus shadowing).
* powers in W per PRB, rates in bit/s, times in s, distances in m, angles in degrees.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SPEED_OF_LIGHT",
    "SE_THRESHOLD",
    "SE_MAX",
    "SE_FACTOR",
    "MODELS",
    "clamp_distance",
    "breakpoint_m",
    "pathloss_db",
    "los_probability",
    "shadow_sigma_db",
    "antenna_gain_db",
    "spectral_efficiency",
    "sector_boresights_deg",
    "normal_cdf",
    "link_gains",
    "sinr",
    "fixed_point",
    "slice_kpis",
    "traffic_aware_shares",
    "equal_shares",
    "tx_power_per_prb_w",
    "noise_per_prb_w",
    "step_kpis",
]

SPEED_OF_LIGHT = 299792458.0  # m/s
SE_THRESHOLD = 0.1  # linear SINR (-10 dB) below which se = 0 and an active UE is in outage
SE_MAX = 4.4  # bit/s/Hz
SE_FACTOR = 0.6
MODELS = ("winner+", "3gpp-36.814-uma")

# ITU-R M.2135 UMa street width and average building height used by "3gpp-36.814-uma".
_UMA_W = 20.0
_UMA_H = 20.0

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown path-loss model {model!r}; expected one of {MODELS}")


# --------------------------------------------------------------------------------------------- radio


def clamp_distance(d_m, d_min: float = 35.0, d_max: float = 5000.0) -> np.ndarray:
    """2-D distance clamped to ``[d_min, d_max]`` (float64 array)."""
    return np.clip(np.asarray(d_m, dtype=np.float64), d_min, d_max)


def breakpoint_m(fc_ghz: float = 2.6, h_bs: float = 25.0, h_ut: float = 1.5) -> float:
    """Effective breakpoint distance d'BP = 4 h'BS h'UT fc / c, with h' = h - 1 m and fc in Hz."""
    return 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * (fc_ghz * 1e9) / SPEED_OF_LIGHT


def pathloss_db(d_m, los, fc_ghz: float = 2.6, h_bs: float = 25.0, h_ut: float = 1.5,
                model: str = "winner+", d_min: float = 35.0, d_max: float = 5000.0) -> np.ndarray:
    """Path loss in dB (vectorised; ``d_m`` and ``los`` broadcast against each other).

    The distance is clamped to ``[d_min, d_max]`` first; the LOS branch is chosen by comparing the
    *clamped* distance with the breakpoint ``breakpoint_m(fc_ghz, h_bs, h_ut)`` (``d < d'BP`` is the
    near branch, ``d >= d'BP`` the far branch).

    ``model="winner+"`` (WINNER+/WINNER II C2), ``fc`` in GHz:
      LOS, d < d'BP : 26 log10 d + 39 + 20 log10(fc/5)
      LOS, d >= d'BP: 40 log10 d + 13.47 - 14 log10 h'BS - 14 log10 h'UT + 6 log10(fc/5)
      NLOS          : (44.9 - 6.55 log10 hBS) log10 d + 34.46 + 5.83 log10 hBS + 23 log10(fc/5)

    ``model="3gpp-36.814-uma"`` (ITU-R M.2135 UMa, W = 20 m, h = 20 m):
      LOS, d < d'BP : 22 log10 d + 28 + 20 log10 fc
      LOS, d >= d'BP: 40 log10 d + 7.8 - 18 log10 h'BS - 18 log10 h'UT + 2 log10 fc
      NLOS          : 161.04 - 7.1 log10 W + 7.5 log10 h - (24.37 - 3.7 (h/hBS)^2) log10 hBS
                      + (43.42 - 3.1 log10 hBS)(log10 d - 3) + 20 log10 fc
                      - (3.2 (log10(11.75 hUT))^2 - 4.97)
    """
    _check_model(model)
    d = clamp_distance(d_m, d_min, d_max)
    los = np.asarray(los, dtype=bool)
    d, los = np.broadcast_arrays(d, los)
    lg = np.log10(d)
    dbp = breakpoint_m(fc_ghz, h_bs, h_ut)
    hbs_e = h_bs - 1.0
    hut_e = h_ut - 1.0
    if model == "winner+":
        f = math.log10(fc_ghz / 5.0)
        los1 = 26.0 * lg + 39.0 + 20.0 * f
        los2 = 40.0 * lg + 13.47 - 14.0 * math.log10(hbs_e) - 14.0 * math.log10(hut_e) + 6.0 * f
        lh = math.log10(h_bs)
        nlos = (44.9 - 6.55 * lh) * lg + 34.46 + 5.83 * lh + 23.0 * f
    else:
        f = math.log10(fc_ghz)
        los1 = 22.0 * lg + 28.0 + 20.0 * f
        los2 = 40.0 * lg + 7.8 - 18.0 * math.log10(hbs_e) - 18.0 * math.log10(hut_e) + 2.0 * f
        lh = math.log10(h_bs)
        nlos = (161.04 - 7.1 * math.log10(_UMA_W) + 7.5 * math.log10(_UMA_H)
                - (24.37 - 3.7 * (_UMA_H / h_bs) ** 2) * lh
                + (43.42 - 3.1 * lh) * (lg - 3.0)
                + 20.0 * f
                - (3.2 * math.log10(11.75 * h_ut) ** 2 - 4.97))
    los_pl = np.where(d < dbp, los1, los2)
    return np.where(los, los_pl, nlos).astype(np.float64)


def los_probability(d_m, d_min: float = 35.0, d_max: float = 5000.0) -> np.ndarray:
    """P_LOS(d) = min(18/d, 1) (1 - exp(-d/63)) + exp(-d/63), with d clamped to [d_min, d_max]."""
    d = clamp_distance(d_m, d_min, d_max)
    e = np.exp(-d / 63.0)
    return np.minimum(18.0 / d, 1.0) * (1.0 - e) + e


def shadow_sigma_db(d_m, los, fc_ghz: float = 2.6, h_bs: float = 25.0, h_ut: float = 1.5,
                    model: str = "winner+", d_min: float = 35.0, d_max: float = 5000.0) -> np.ndarray:
    """Shadow-fading standard deviation in dB.

    ``winner+``: LOS 4 dB for (clamped) d < d'BP, 6 dB for d >= d'BP; NLOS 8 dB.
    ``3gpp-36.814-uma``: LOS 4 dB, NLOS 6 dB.
    """
    _check_model(model)
    d = clamp_distance(d_m, d_min, d_max)
    los = np.asarray(los, dtype=bool)
    d, los = np.broadcast_arrays(d, los)
    if model == "winner+":
        los_sigma = np.where(d < breakpoint_m(fc_ghz, h_bs, h_ut), 4.0, 6.0)
        return np.where(los, los_sigma, 8.0).astype(np.float64)
    return np.where(los, 4.0, 6.0).astype(np.float64)


def antenna_gain_db(phi_deg, g_max: float = 14.0, beamwidth: float = 70.0,
                    a_max: float = 25.0) -> np.ndarray:
    """Sector antenna gain G(phi) = g_max - min(12 (phi/beamwidth)^2, a_max) in dBi.

    ``phi_deg`` (angle between the site->UE direction and the boresight) is wrapped to
    [-180, 180) first.
    """
    phi = np.asarray(phi_deg, dtype=np.float64)
    phi = np.mod(phi + 180.0, 360.0) - 180.0
    return g_max - np.minimum(12.0 * (phi / beamwidth) ** 2, a_max)


def spectral_efficiency(sinr_linear) -> np.ndarray:
    """Truncated Shannon (TR 36.942 A.1): 0 for gamma < 0.1, else min(0.6 log2(1 + gamma), 4.4)."""
    g = np.asarray(sinr_linear, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.minimum(SE_FACTOR * np.log2(1.0 + np.maximum(g, 0.0)), SE_MAX)
    return np.where(g < SE_THRESHOLD, 0.0, se)


def sector_boresights_deg() -> tuple:
    """Boresights of the 3 sectors of every site, in degrees: (30, 150, 270)."""
    return (30.0, 150.0, 270.0)


def normal_cdf(z) -> np.ndarray:
    """Standard normal CDF Phi(z) = 0.5 erfc(-z / sqrt 2) (via math.erfc, element-wise)."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * _erfc(-z / math.sqrt(2.0))


_MASK64 = (1 << 64) - 1


def mix64(z) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def normal_innovations(keys, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Box-Muller pair from the two 32-bit halves of a = mix64(key ^ t): u1 = (hi + 1) 2^-32,
    u2 = lo 2^-32, radius sqrt(-2 ln u1); (shadowing, LOS) = radius (cos 2 pi u2, sin 2 pi u2)."""
    a = mix64(np.asarray(keys, dtype=np.uint64) ^ np.uint64(t))
    u1 = ((a >> np.uint64(32)).astype(np.float64) + 1.0) * 2.0**-32
    u2 = (a & np.uint64(0xFFFFFFFF)).astype(np.float64) * 2.0**-32
    radius = np.sqrt(-2.0 * np.log(u1))
    return radius * np.cos(2.0 * np.pi * u2), radius * np.sin(2.0 * np.pi * u2)


def link_gains(site_xy, ue_xy, shadow_z, los_z, *, fc_ghz: float = 2.6, h_bs: float = 25.0,
               h_ut: float = 1.5, model: str = "winner+", d_min: float = 35.0, d_max: float = 5000.0,
               g_max: float = 14.0, beamwidth: float = 70.0, a_max: float = 25.0,
               shadowing: bool = True, wrap_images=None, interference_radius_m: float = math.inf,
               return_details: bool = False):
    """Linear link gains per PRB.

    Parameters
    ----------
    site_xy : [S, 2] site positions (m).
    ue_xy : [U, 2] UE positions (m).
    shadow_z, los_z : [U, S] standard-normal states z_S, z_L per (UE, site).
    wrap_images : None, or [M, 2] image offsets (must include (0, 0) for the site itself); for each
        (UE, site) the image site + offset nearest to the UE (smallest 2-D distance, first one on
        ties) gives both the distance and the angle.
    interference_radius_m : sites whose nearest-image (unclamped) distance is strictly greater than
        this give g = 0 for all 3 of their cells.

    Returns
    -------
    gain : [K, U] float64, K = 3 S, row k = 3 * site + sector:
        g = 10 ** ((G(phi - boresight) - PL(d, los) - sigma(d, los) * z_S) / 10)
        (the shadow term is dropped when ``shadowing`` is False).
    los : [U, S] bool, LOS iff Phi(z_L) < P_LOS(d) (d clamped).
    details (only with ``return_details=True``): dict with ``distance`` [U, S] (unclamped,
        nearest image), ``angle_deg`` [U, S] (atan2 of site->UE, degrees), ``pathloss_db`` [U, S],
        ``sigma_db`` [U, S], ``shadow_db`` [U, S], ``culled`` [U, S] bool.
    """
    _check_model(model)
    site_xy = np.asarray(site_xy, dtype=np.float64).reshape(-1, 2)
    ue_xy = np.asarray(ue_xy, dtype=np.float64).reshape(-1, 2)
    S = site_xy.shape[0]
    U = ue_xy.shape[0]
    shadow_z = np.asarray(shadow_z, dtype=np.float64).reshape(U, S)
    los_z = np.asarray(los_z, dtype=np.float64).reshape(U, S)

    if wrap_images is None:
        images = np.zeros((1, 2))
    else:
        images = np.asarray(wrap_images, dtype=np.float64).reshape(-1, 2)
    # vec[u, s, m] = ue - (site + image_m)
    vx = ue_xy[:, None, None, 0] - (site_xy[None, :, None, 0] + images[None, None, :, 0])
    vy = ue_xy[:, None, None, 1] - (site_xy[None, :, None, 1] + images[None, None, :, 1])
    dist_all = np.hypot(vx, vy)
    best = np.argmin(dist_all, axis=2)  # first minimum on ties
    dx = np.take_along_axis(vx, best[..., None], axis=2)[..., 0]
    dy = np.take_along_axis(vy, best[..., None], axis=2)[..., 0]
    dist = np.take_along_axis(dist_all, best[..., None], axis=2)[..., 0]  # [U, S]

    los = normal_cdf(los_z) < los_probability(dist, d_min, d_max)
    pl = pathloss_db(dist, los, fc_ghz, h_bs, h_ut, model, d_min, d_max)
    sigma = shadow_sigma_db(dist, los, fc_ghz, h_bs, h_ut, model, d_min, d_max)
    shadow = sigma * shadow_z if shadowing else np.zeros_like(pl)
    angle = np.degrees(np.arctan2(dy, dx))
    culled = dist > interference_radius_m

    K = 3 * S
    gain = np.zeros((K, U), dtype=np.float64)
    for sec, bore in enumerate(sector_boresights_deg()):
        G = antenna_gain_db(angle - bore, g_max, beamwidth, a_max)  # [U, S]
        g = 10.0 ** ((G - pl - shadow) / 10.0)
        g = np.where(culled, 0.0, g)
        gain[sec::3, :] = g.T  # rows 3*s + sec
    if return_details:
        details = dict(distance=dist, angle_deg=angle, pathloss_db=pl, sigma_db=sigma,
                       shadow_db=shadow, culled=culled)
        return gain, los, details
    return gain, los


# ------------------------------------------------------------------------------------ load coupling


def sinr(gain, serving, rho, tx_power_w, noise_w) -> np.ndarray:
    """Per-UE SINR gamma_u(rho) = P_c g[c,u] / (sum_{i != c} rho_i P_i g[i,u] + noise), c = serving[u].

    ``tx_power_w`` is a scalar or a [K] array (W per PRB); ``rho`` is [K].
    """
    gain = np.asarray(gain, dtype=np.float64)
    K, U = gain.shape
    serving = np.asarray(serving, dtype=np.int64)
    P = np.broadcast_to(np.asarray(tx_power_w, dtype=np.float64), (K,))
    rho = np.asarray(rho, dtype=np.float64)
    rx = P[:, None] * gain  # [K, U] received power per PRB at full activity
    cols = np.arange(U)
    signal = rx[serving, cols]
    weighted = rho[:, None] * rx
    weighted[serving, cols] = 0.0  # exclude the serving cell (i != c)
    interference = weighted.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return signal / (interference + noise_w)


def fixed_point(gain, serving, slice_of, demand, shares, tx_power_w, noise_w, prb_bandwidth_hz,
                n_prb, rho0=None, tol: float = 1e-6, max_iter: int = 200):
    """Load-coupling fixed point rho = F(rho) by Gauss-Seidel sweeps (docs/model.md section 4).

    Parameters
    ----------
    gain : [K, U] linear gains; serving : [U] cell index; slice_of : [U] slice index;
    demand : [U] bit/s (0 for idle UEs: they contribute nothing); shares : [K, N];
    tx_power_w : scalar or [K] (W per PRB); noise_w : scalar (W per PRB);
    rho0 : [K] start point (zeros if None).

    Outage: UE u is in outage iff gamma_u at full interference (rho_i = 1 for all i != c) < 0.1.
    Outage UEs are left out of x. x[k,n](rho) = sum over non-outage UEs of cell k with demand > 0
    of d_u / (M B se(gamma_u(rho))); F_k(rho) = sum_n min(a[k,n], x[k,n](rho)).

    Sweep: for k = 0..K-1 in order { x[k] = x_k(rho); rho_k <- F_k(rho) } (cells after k still hold
    the previous sweep's loads); it += 1; stop if max_k |change of rho_k| < tol or it == max_iter.

    Returns
    -------
    rho : [K] the loads after the last sweep.
    x : [K, N] x[k] from cell k's evaluation in the last sweep.
    iterations : int, the number of sweeps.
    details : dict with
        ``sinr`` [U]       gamma_u(rho) at the returned rho (every UE, at its serving cell),
        ``sinr_eval`` [U]  gamma_u at its cell's evaluation in the last sweep,
        ``se`` [U]         se of sinr_eval (the se that produced x),
        ``sinr_full`` [U]  gamma_u at full interference, ``outage`` [U] bool (sinr_full < 0.1),
        ``rho_prev`` [K] the loads before the last sweep, ``converged`` bool.
    """
    gain = np.asarray(gain, dtype=np.float64)
    K, U = gain.shape
    serving = np.asarray(serving, dtype=np.int64).reshape(U)
    slice_of = np.asarray(slice_of, dtype=np.int64).reshape(U)
    demand = np.asarray(demand, dtype=np.float64).reshape(U)
    shares = np.asarray(shares, dtype=np.float64)
    if shares.ndim != 2 or shares.shape[0] != K:
        raise ValueError("shares must be [K, N]")
    N = shares.shape[1]
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    P = np.broadcast_to(np.asarray(tx_power_w, dtype=np.float64), (K,)).copy()
    mb = float(n_prb) * float(prb_bandwidth_hz)

    sinr_full = sinr(gain, serving, np.ones(K), P, noise_w)
    outage = sinr_full < SE_THRESHOLD
    contributes = (~outage) & (demand > 0.0)
    rx = P[:, None] * gain  # [K, U]
    members = [np.flatnonzero(serving == k) for k in range(K)]

    rho = np.zeros(K) if rho0 is None else np.asarray(rho0, dtype=np.float64).reshape(K).copy()
    x = np.zeros((K, N))
    g_eval = np.zeros(U)
    se = np.zeros(U)
    it = 0
    converged = False
    while True:
        rho_prev = rho.copy()
        max_change = 0.0
        for k in range(K):
            u = members[k]
            others = rho.copy()
            others[k] = 0.0  # the serving cell does not interfere with its own UEs
            with np.errstate(divide="ignore", invalid="ignore"):
                g = rx[k, u] / (others @ rx[:, u] + noise_w)
            s = spectral_efficiency(g)
            use = contributes[u]
            with np.errstate(divide="ignore"):
                per_ue = np.where(use, demand[u] / (mb * np.where(use, s, 1.0)), 0.0)
            x[k] = np.bincount(slice_of[u], weights=per_ue, minlength=N)[:N]
            g_eval[u], se[u] = g, s
            new = float(np.minimum(shares[k], x[k]).sum())
            max_change = max(max_change, abs(new - rho[k]))
            rho[k] = new
        it += 1
        converged = max_change < tol
        if converged or it >= max_iter:
            break
    details = dict(
        sinr=sinr(gain, serving, rho, P, noise_w),
        sinr_eval=g_eval,
        se=se,
        sinr_full=sinr_full,
        outage=outage,
        rho_prev=rho_prev,
        converged=converged,
    )
    return rho, x, it, details


# ---------------------------------------------------------------------------------------------- KPIs


def slice_kpis(serving, slice_of, active, outage, se, shares, x, demand_bps, flow_size_bits,
               backlog_bits, step_seconds: float = 1.0, max_delay_s: float = 10.0,
               n_prb: int = 100, prb_bandwidth_hz: float = 180e3, buffer_s: float = 0.0) -> dict:
    """Per-(cell, slice) KPIs of one step (docs/model.md section 4).

    Parameters
    ----------
    serving, slice_of : [U] int; active, outage : [U] bool; se : [U] bit/s/Hz from the same F
    evaluation that produced ``x``; shares, x : [K, N]; demand_bps, flow_size_bits : [N] (per UE of
    the slice); backlog_bits : [K, N] backlog Q before the step.

    Served UEs = active and not in outage. With D = sum of d over served UEs of (k, n), L = L_n,
    a = shares, dt = step_seconds:
      lambda = D / L; rho_s = x / a (inf if a = 0 < x, 0 if x = 0); Cap = D a / x (D if x = 0);
      served = min(D + Q/dt, Cap); Q' = max(0, Q + (D - served) dt), 0 if D = 0;
      Nf = min(rho_s/(1 - rho_s) [inf if rho_s >= 1], lambda dt) + Q'/L;
    and with a finite buffer (``buffer_s`` > 0) instead: served = min(D, Cap), Q' = 0,
      Nf = min(rho_s/(1 - rho_s), lambda dt, Cap buffer_s / L);
      C_u = a M B se_u; T_u = min((L/C_u)(1 + Nf), max_delay) (max_delay if C_u = 0); phi_u = L/T_u.

    Returns dict of [K, N] arrays:
      ``throughput`` mean phi_u over served UEs (0 if none), ``delay`` mean T_u (0 if none),
      ``load`` = x, ``users`` active UEs served by k in slice n incl. outage (int64),
      ``outage`` active outage UEs (int64), ``served_users`` (int64), ``demand`` D, ``served``,
      ``backlog`` Q', ``capacity`` Cap, ``utilisation`` rho_s, ``flows`` Nf;
    and per-UE [U] arrays ``ue_delay`` / ``ue_throughput`` / ``ue_peak_rate`` (0 for UEs not served).
    """
    serving = np.asarray(serving, dtype=np.int64)
    slice_of = np.asarray(slice_of, dtype=np.int64)
    U = serving.shape[0]
    active = np.asarray(active, dtype=bool).reshape(U)
    outage = np.asarray(outage, dtype=bool).reshape(U)
    se = np.asarray(se, dtype=np.float64).reshape(U)
    shares = np.asarray(shares, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    K, N = shares.shape
    demand_bps = np.broadcast_to(np.asarray(demand_bps, dtype=np.float64), (N,))
    L = np.broadcast_to(np.asarray(flow_size_bits, dtype=np.float64), (N,))
    Q = np.broadcast_to(np.asarray(backlog_bits, dtype=np.float64), (K, N))
    dt = float(step_seconds)
    mb = float(n_prb) * float(prb_bandwidth_hz)

    served_ue = active & ~outage
    users = np.zeros((K, N), dtype=np.int64)
    np.add.at(users, (serving[active], slice_of[active]), 1)
    n_out = np.zeros((K, N), dtype=np.int64)
    np.add.at(n_out, (serving[active & outage], slice_of[active & outage]), 1)
    n_served = np.zeros((K, N), dtype=np.int64)
    np.add.at(n_served, (serving[served_ue], slice_of[served_ue]), 1)
    D = np.zeros((K, N), dtype=np.float64)
    np.add.at(D, (serving[served_ue], slice_of[served_ue]), demand_bps[slice_of[served_ue]])

    Lk = np.broadcast_to(L, (K, N))
    lam = D / Lk
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_s = np.where(x == 0.0, 0.0, np.where(shares == 0.0, np.inf, x / np.where(shares == 0.0, 1.0, shares)))
        cap = np.where(x == 0.0, D, D * shares / np.where(x == 0.0, 1.0, x))
    served = np.minimum(D + Q / dt, cap)
    Q_after = np.maximum(Q + (D - served) * dt, 0.0)
    # No served UE left in the slice: the backlog of departed users is dropped.
    Q_after = np.where(D > 0.0, Q_after, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ps_mean = np.where(rho_s >= 1.0, np.inf, rho_s / (1.0 - np.where(rho_s >= 1.0, 0.0, rho_s)))
    nflows = np.minimum(ps_mean, lam * dt) + Q_after / Lk
    if buffer_s > 0:  # finite buffer: overload dropped, nothing carried, at most buffer_s of service queued
        served = np.minimum(D, cap)
        Q_after = np.zeros((K, N))
        nflows = np.minimum(np.minimum(ps_mean, lam * dt), cap * buffer_s / Lk)

    # per-UE
    k_u, n_u = serving, slice_of
    a_u = shares[k_u, n_u]
    C = a_u * mb * se
    L_u = L[n_u]
    with np.errstate(divide="ignore", invalid="ignore"):
        T_raw = (L_u / np.where(C > 0, C, 1.0)) * (1.0 + nflows[k_u, n_u])
    T = np.where(C > 0, np.minimum(T_raw, max_delay_s), max_delay_s)
    phi = L_u / T
    T = np.where(served_ue, T, 0.0)
    phi = np.where(served_ue, phi, 0.0)
    C = np.where(served_ue, C, 0.0)

    sum_T = np.zeros((K, N))
    sum_phi = np.zeros((K, N))
    np.add.at(sum_T, (k_u[served_ue], n_u[served_ue]), T[served_ue])
    np.add.at(sum_phi, (k_u[served_ue], n_u[served_ue]), phi[served_ue])
    denom = np.maximum(n_served, 1)
    throughput = np.where(n_served > 0, sum_phi / denom, 0.0)
    delay = np.where(n_served > 0, sum_T / denom, 0.0)

    return dict(
        throughput=throughput,
        delay=delay,
        load=x.copy(),
        users=users,
        outage=n_out,
        served_users=n_served,
        demand=D,
        served=served,
        backlog=Q_after,
        capacity=cap,
        utilisation=rho_s,
        flows=nflows,
        ue_delay=T,
        ue_throughput=phi,
        ue_peak_rate=C,
    )


def traffic_aware_shares(users_offered, demand_bps) -> np.ndarray:
    """a[k,n] proportional to d_n * users_offered[k,n] (active UEs of slice n served by k, outage
    included); 1/N for a cell whose offered demand is zero."""
    u = np.asarray(users_offered, dtype=np.float64)
    K, N = u.shape
    w = u * np.broadcast_to(np.asarray(demand_bps, dtype=np.float64), (N,))[None, :]
    tot = w.sum(axis=1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / N)


def equal_shares(K: int, N: int) -> np.ndarray:
    """a[k,n] = 1/N."""
    return np.full((K, N), 1.0 / N)


# ----------------------------------------------------------------------------------- link budget


def tx_power_per_prb_w(tx_power_dbm=46.0, n_prb: int = 100):
    """Transmit power per PRB in W: 10**((tx_dbm - 30)/10) / M (scalar or per-cell array)."""
    return 10.0 ** ((np.asarray(tx_power_dbm, dtype=np.float64) - 30.0) / 10.0) / n_prb


def noise_per_prb_w(noise_density_dbm_hz: float = -174.0, prb_bandwidth_hz: float = 180e3,
                    noise_figure_db: float = 9.0) -> float:
    """Noise power per PRB in W: 10**((N0 + 10 log10 B + NF - 30)/10)."""
    return 10.0 ** ((noise_density_dbm_hz + 10.0 * math.log10(prb_bandwidth_hz)
                     + noise_figure_db - 30.0) / 10.0)


def step_kpis(site_xy, ue_xy, shadow_z, los_z, serving, slice_of, active, shares, demand_bps,
              flow_size_bits, backlog_bits=None, rho0=None, *, fc_ghz: float = 2.6,
              h_bs: float = 25.0, h_ut: float = 1.5, model: str = "winner+", d_min: float = 35.0,
              d_max: float = 5000.0, g_max: float = 14.0, beamwidth: float = 70.0,
              a_max: float = 25.0, shadowing: bool = True, wrap_images=None,
              interference_radius_m: float = math.inf, tx_power_dbm=46.0,
              noise_density_dbm_hz: float = -174.0, noise_figure_db: float = 9.0,
              n_prb: int = 100, prb_bandwidth_hz: float = 180e3, step_seconds: float = 1.0,
              max_delay_s: float = 10.0, tol: float = 1e-6, max_iter: int = 200, buffer_s: float = 0.0) -> dict:
    """One step from positions and states: link_gains -> fixed_point -> slice_kpis.

    demand_u = demand_bps[slice_of[u]] for active UEs, 0 otherwise. ``backlog_bits`` defaults to
    zeros [K, N]; ``rho0`` to zeros [K]. The serving cells are given (no handover here).

    Returns one dict: all keys of ``slice_kpis`` plus ``gain`` [K,U], ``los`` [U,S],
    ``rho``/``cell_load`` [K], ``x`` [K,N], ``iterations``, ``sinr`` [U] (at the returned rho),
    ``sinr_db`` [U] (10 log10 sinr), ``sinr_eval`` [U], ``se`` [U], ``ue_outage`` [U] bool
    (all UEs, active or not), ``converged``, ``tx_power_w``, ``noise_w``.
    """
    gain, los = link_gains(site_xy, ue_xy, shadow_z, los_z, fc_ghz=fc_ghz, h_bs=h_bs, h_ut=h_ut,
                           model=model, d_min=d_min, d_max=d_max, g_max=g_max,
                           beamwidth=beamwidth, a_max=a_max, shadowing=shadowing,
                           wrap_images=wrap_images, interference_radius_m=interference_radius_m)
    K, U = gain.shape
    shares = np.asarray(shares, dtype=np.float64)
    N = shares.shape[1]
    slice_of = np.asarray(slice_of, dtype=np.int64)
    active = np.asarray(active, dtype=bool)
    demand_n = np.broadcast_to(np.asarray(demand_bps, dtype=np.float64), (N,))
    demand_u = np.where(active, demand_n[slice_of], 0.0)
    P = tx_power_per_prb_w(tx_power_dbm, n_prb)
    noise = noise_per_prb_w(noise_density_dbm_hz, prb_bandwidth_hz, noise_figure_db)
    if backlog_bits is None:
        backlog_bits = np.zeros((K, N))
    rho, x, it, det = fixed_point(gain, serving, slice_of, demand_u, shares, P, noise,
                                  prb_bandwidth_hz, n_prb, rho0, tol=tol, max_iter=max_iter)
    kpi = slice_kpis(serving, slice_of, active, det["outage"], det["se"], shares, x, demand_n,
                     flow_size_bits, backlog_bits, step_seconds, max_delay_s, n_prb,
                     prb_bandwidth_hz, buffer_s)
    with np.errstate(divide="ignore"):
        sinr_db = 10.0 * np.log10(det["sinr"])
    kpi.update(gain=gain, los=los, rho=rho, cell_load=rho, x=x, iterations=it, sinr=det["sinr"],
               sinr_db=sinr_db, sinr_eval=det["sinr_eval"], se=det["se"],
               ue_outage=det["outage"], converged=det["converged"], tx_power_w=P, noise_w=noise)
    return kpi
