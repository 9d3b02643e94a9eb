"""Translate a validated :class:`~pyslice.sim.scenario.Scenario` into the flat dict the C++ core reads."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pyslice import _core

if TYPE_CHECKING:
    from pyslice.sim.scenario import Scenario

PATHLOSS_MODELS = {name: i for i, name in enumerate(_core.PATHLOSS_MODELS)}
ANTENNA_MODELS = {"sector": 0, "3gpp-3d": 1}
O2I_MODELS = {"3gpp-36.873": 0, "3gpp-38.901": 1}
DELAY_MODELS = {name: i for i, name in enumerate(_core.DELAY_MODELS)}
MOBILITY_MODELS = {"random-waypoint": 0, "gauss-markov": 1}


def site_positions(scenario: Scenario) -> np.ndarray:
    """Site coordinates [S, 2] in metres for the scenario's layout."""
    layout = scenario.layout
    if layout.kind == "paper":
        return _core.paper_sites(layout.isd_m)
    if layout.kind == "hex":
        return _core.hex_grid_sites(layout.rings, layout.isd_m)
    return np.asarray(layout.sites_m, dtype=float).reshape(-1, 2)


def wrap_vectors(scenario: Scenario) -> np.ndarray:
    """The two tiling vectors [2, 2] when wrap-around is on, else an empty [0, 2] array."""
    layout = scenario.layout
    if not layout.wrap_around:
        return np.zeros((0, 2))
    if layout.kind == "paper":
        return _core.paper_wrap_vectors(layout.isd_m)
    if layout.kind == "hex":
        return _core.hex_wrap_vectors(layout.rings, layout.isd_m)
    return np.asarray(layout.wrap_vectors_m, dtype=float).reshape(2, 2)


def core_config(
    scenario: Scenario,
    *,
    tolerance: float = 1e-6,
    max_iterations: int = 200,
    maxmin_rounds: int = 3,
) -> dict[str, Any]:
    """The C++ core's configuration for ``scenario`` (all keys the core requires, SI units)."""
    radio, traffic, slices = scenario.radio, scenario.traffic, scenario.slices
    sites = site_positions(scenario)
    n_slices = len(slices)
    req_tput, req_delay = scenario.requirement_matrices(len(sites))
    trace = scenario.load_mask_trace()
    ttt_steps = max(1, math.ceil(radio.handover_ttt_s / traffic.step_seconds - 1e-9))
    return {
        "sites": sites,
        "isd_m": scenario.layout.isd_m,
        "wrap_vectors": wrap_vectors(scenario),
        "pathloss_model": PATHLOSS_MODELS[radio.pathloss_model],
        "carrier_ghz": radio.carrier_ghz,
        "bs_height_m": scenario.layout.bs_height_m,
        "ue_height_m": scenario.layout.ue_height_m,
        "min_distance_m": radio.min_distance_m,
        "max_distance_m": radio.max_distance_m,
        "antenna_gain_dbi": radio.antenna_gain_dbi,
        "antenna_beamwidth_deg": radio.antenna_beamwidth_deg,
        "antenna_max_attenuation_db": radio.antenna_max_attenuation_db,
        "antenna_model": ANTENNA_MODELS[radio.antenna_model],
        "antenna_vertical_beamwidth_deg": radio.antenna_vertical_beamwidth_deg,
        "antenna_sla_v_db": radio.antenna_sla_v_db,
        "antenna_elements": radio.antenna_elements,
        "antenna_element_spacing_wl": radio.antenna_element_spacing_wl,
        "antenna_electrical_tilt_deg": radio.antenna_electrical_tilt_deg,
        "antenna_mechanical_tilt_deg": radio.antenna_mechanical_tilt_deg,
        "indoor_ratio": radio.indoor_ratio,
        "building_floors_min": radio.building_floors[0],
        "building_floors_max": radio.building_floors[1],
        "o2i_model": O2I_MODELS[radio.o2i_model],
        "o2i_high_loss_ratio": radio.o2i_high_loss_ratio,
        "indoor_los_total_distance": radio.indoor_los_distance == "total",
        "indoor_distance_per_link": radio.indoor_distance == "per-link",
        "o2i_outdoor_shadowing": radio.o2i_shadowing == "outdoor",
        "tx_power_dbm": radio.tx_power_dbm,
        "n_prb": radio.n_prb,
        "prb_bandwidth_hz": radio.prb_bandwidth_hz,
        "noise_density_dbm_hz": radio.noise_density_dbm_hz,
        "noise_figure_db": radio.noise_figure_db,
        "shadowing": radio.shadowing,
        "shadow_decorrelation_m": radio.shadow_decorrelation_m,
        "los_decorrelation_m": radio.los_decorrelation_m,
        "interference_radius_m": radio.interference_radius_m,
        "link_update_distance_m": radio.link_update_distance_m,
        "handover_hysteresis_db": radio.handover_hysteresis_db,
        "handover_ttt_steps": ttt_steps,
        "step_seconds": traffic.step_seconds,
        "ues_per_group": traffic.max_ues_per_slice,
        "demand_bps": np.array([s.demand_bps for s in slices], dtype=float),
        "flow_size_bits": np.array([s.flow_size_bits for s in slices], dtype=float),
        "mobility": np.array([MOBILITY_MODELS[s.mobility] for s in slices], dtype=float),
        "speed_min_mps": np.array([s.speed_min_mps for s in slices], dtype=float),
        "speed_max_mps": np.array([s.speed_max_mps for s in slices], dtype=float),
        "pause_s": np.array([s.pause_s for s in slices], dtype=float),
        "mask_base": np.array([s.mask_base for s in slices], dtype=float),
        "mask_amplitude": np.array([s.mask_amplitude for s in slices], dtype=float),
        "mask_phase": np.array([s.mask_phase for s in slices], dtype=float),
        "mask_period_steps": traffic.mask_period_steps,
        "mask_ar": traffic.mask_ar,
        "mask_noise_std": traffic.mask_noise_std,
        "mask_trace": np.zeros((0, n_slices)) if trace is None else np.asarray(trace, dtype=float),
        "max_delay_s": traffic.max_delay_s,
        "delay_model": DELAY_MODELS[traffic.delay_model],
        "buffer_s": traffic.buffer_s,
        "roaming": 1 if traffic.roaming == "home-site" else 0,
        "req_throughput_bps": req_tput,
        "req_delay_s": req_delay,
        "maxmin_rounds": maxmin_rounds,
        "tolerance": tolerance,
        "max_iterations": max_iterations,
    }
