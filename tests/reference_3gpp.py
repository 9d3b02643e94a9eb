"""Plain NumPy reference of the 3-D 3GPP link model, written from the documents (TR 36.873 Tables
7.1-1, 7.2-1, 7.2-2; TR 38.901 Tables 7.3-1, 7.4.1-1, 7.4.2-1, 7.4.3-2), independently of the C++
core: the tests compare the core's link gains with it. Effective environment height h_E = 1 m only
(UE heights below 13 m, where the documents' C(d, h_UT) is 0)."""
from __future__ import annotations

import numpy as np

C = 3.0e8


def d3d(d2d, h_bs, h_ut):
    return np.sqrt(np.asarray(d2d, float) ** 2 + (h_bs - np.asarray(h_ut, float)) ** 2)


def pathloss_db(model: str, los, d2d, h_bs: float, h_ut, fc_ghz: float):
    """PL_b with h_E = 1 m; ``model`` one of 36.873-uma, 36.873-umi, 38.901-uma, 38.901-umi."""
    d2d = np.asarray(d2d, float)
    h_ut = np.broadcast_to(np.asarray(h_ut, float), d2d.shape)
    dist = d3d(d2d, h_bs, h_ut)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc_ghz * 1e9 / C
    lf = np.log10(fc_ghz)
    if model == "38.901-umi":
        pl1 = 32.4 + 21.0 * np.log10(dist) + 20.0 * lf
        pl2 = 32.4 + 40.0 * np.log10(dist) + 20.0 * lf - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    else:  # the other three share the LOS form (36.873 3D-UMa/3D-UMi, 38.901 UMa)
        pl1 = 22.0 * np.log10(dist) + 28.0 + 20.0 * lf
        pl2 = 40.0 * np.log10(dist) + 28.0 + 20.0 * lf - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    pl_los = np.where(d2d <= d_bp, pl1, pl2)
    if model == "36.873-uma":
        w = h = 20.0
        nlos = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h) - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
                + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(dist) - 3.0) + 20.0 * lf
                - (3.2 * np.log10(17.625) ** 2 - 4.97) - 0.6 * (h_ut - 1.5))
    elif model == "36.873-umi":
        nlos = 36.7 * np.log10(dist) + 22.7 + 26.0 * lf - 0.3 * (h_ut - 1.5)
    elif model == "38.901-uma":
        nlos = 13.54 + 39.08 * np.log10(dist) + 20.0 * lf - 0.6 * (h_ut - 1.5)
    else:
        nlos = 35.3 * np.log10(dist) + 22.4 + 21.3 * lf - 0.3 * (h_ut - 1.5)
    return np.where(np.asarray(los, bool), pl_los, np.maximum(pl_los, nlos))


def los_probability(model: str, d2d_out, h_ut):
    d = np.maximum(np.asarray(d2d_out, float), 1e-9)
    h_ut = np.broadcast_to(np.asarray(h_ut, float), d.shape)
    if model.endswith("umi"):
        p = np.minimum(18.0 / d, 1.0) * (1.0 - np.exp(-d / 36.0)) + np.exp(-d / 36.0)
    else:
        c = ((np.clip(h_ut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5
        g = np.where(d > 18.0, 1.25e-6 * d**3 * np.exp(-d / 150.0), 0.0)
        p = (np.minimum(18.0 / d, 1.0) * (1.0 - np.exp(-d / 63.0)) + np.exp(-d / 63.0)) * (1.0 + c * g)
    return np.where(d <= 18.0, 1.0, p)


def sigma_db(model: str, los, indoor):
    los_sigma, nlos_sigma = {"36.873-uma": (4.0, 6.0), "36.873-umi": (3.0, 4.0), "38.901-uma": (4.0, 6.0),
                             "38.901-umi": (4.0, 7.82)}[model]
    return np.where(np.asarray(indoor, bool), 7.0, np.where(np.asarray(los, bool), los_sigma, nlos_sigma))


def element_gain_db(theta, phi, g_max=8.0, bw=65.0, a_m=30.0, bw_v=65.0, sla_v=30.0):
    phi = (np.asarray(phi, float) + 180.0) % 360.0 - 180.0
    a_v = -np.minimum(12.0 * ((np.asarray(theta, float) - 90.0) / bw_v) ** 2, sla_v)
    a_h = -np.minimum(12.0 * (phi / bw) ** 2, a_m)
    return g_max - np.minimum(-(a_v + a_h), a_m)


def column_gain_db(theta, elements: int, spacing_wl: float, etilt_deg: float):
    """10 log10 |sum_k w_k v_k(theta)|^2 with the documents' weights, summed explicitly."""
    theta = np.asarray(theta, float)
    k = np.arange(elements)[:, None]
    w = np.exp(-2j * np.pi * k * spacing_wl * np.cos(np.radians(90.0 + etilt_deg))) / np.sqrt(elements)
    v = np.exp(2j * np.pi * k * spacing_wl * np.cos(np.radians(theta.ravel()))[None, :])
    return (10.0 * np.log10(np.abs((w * v).sum(axis=0)) ** 2)).reshape(theta.shape)


def nearest_image(site_xy, ue_xy, wrap):
    """Displacements site -> UE [U, S, 2] at each site's nearest wrap-around image."""
    disp = ue_xy[:, None, :] - site_xy[None, :, :]
    best = disp.copy()
    best_d2 = (disp**2).sum(-1)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            cand = disp - (i * wrap[0] + j * wrap[1])
            d2 = (cand**2).sum(-1)
            closer = d2 < best_d2
            best[closer] = cand[closer]
            best_d2 = np.minimum(best_d2, d2)
    return best


def link_gains_db(model, site_xy, ue_xy, wrap, h_bs, h_ut, indoor, d_in, penetration_db, shadow_z, los_z, fc_ghz,
                  d_min, elements, spacing_wl, etilt_deg, boresights=(30.0, 150.0, 270.0)):
    """Gains (dB) [U, 3 S] of every UE to every cell (cell 3 s + sector) for the 3-D element antenna."""
    from math import erfc, sqrt

    disp = nearest_image(site_xy, ue_xy, wrap)
    d = np.hypot(disp[..., 0], disp[..., 1])
    dc = np.maximum(d, d_min)
    h = np.asarray(h_ut, float)[:, None] * np.ones_like(d)
    ind = np.asarray(indoor, bool)[:, None] * np.ones(d.shape, bool)
    d_out = np.maximum(dc - np.asarray(d_in, float)[:, None], 0.0)
    phi_z = np.vectorize(lambda z: 0.5 * erfc(-z / sqrt(2.0)))(los_z)
    los = phi_z < los_probability(model, d_out, h)
    loss = pathloss_db(model, los, dc, h_bs, h, fc_ghz) + np.asarray(penetration_db)[:, None] \
        + sigma_db(model, los, ind) * shadow_z
    theta = 90.0 + np.degrees(np.arctan2(h_bs - h, d))
    angle = np.degrees(np.arctan2(disp[..., 1], disp[..., 0]))
    out = np.empty((d.shape[0], 3 * d.shape[1]))
    for s, b in enumerate(boresights):
        g = element_gain_db(theta, angle - b) + column_gain_db(theta, elements, spacing_wl, etilt_deg)
        out[:, s::3] = g - loss
    return out
