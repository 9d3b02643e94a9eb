"""3GPP system-level calibration of the simulator's radio model (docs/calibration.md).

Each case drops UEs over the 19-site × 3-sector hexagonal layout with wrap-around, as TR 36.873
§8.2 (phase 1) and TR 38.901 §7.8.1 (large-scale calibration) prescribe, with the simulator's own
link model (:mod:`pyslice._core`: 3-D path loss, LOS state, shadowing, O2I penetration, 3-D antenna),
and reports per UE:

- **coupling loss**: the gain in dB of the serving link (antenna gain, path loss, shadowing and
  penetration; the serving cell is the one with the strongest coupling gain, no hysteresis). Like
  the calibration figures it is a negative number (a gain);
- **geometry**: serving power over the sum of the other 56 cells' powers, every cell transmitting
  at full load with equal power. Thermal noise is left out (the documents' "geometry" / coupling-only
  SIR; with it the UMa cell edge would move by well under 0.1 dB at 46 dBm over 10 MHz).

The percentiles are compared with the 3GPP multi-company reference bundled in
``pyslice/sim/data/calibration_3gpp.json`` (sources cited there and in docs/calibration.md).
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from pyslice import _core
from pyslice.base.validation import check_int
from pyslice.sim.core_config import core_config
from pyslice.sim.memory_estimate import check_memory
from pyslice.sim.scenario import (
    LayoutConfig,
    RadioConfig,
    RequirementProfile,
    RequirementsConfig,
    Scenario,
    SliceConfig,
    TrafficConfig,
)

__all__ = [
    "CASES",
    "METRICS",
    "PERCENTILES",
    "TOLERANCE_DB",
    "CalibrationCase",
    "calibration_scenario",
    "compare",
    "drop_metrics",
    "reference",
    "run_calibration",
]

#: The percentiles reported per metric (the schema of calibration.json).
PERCENTILES: tuple[int, ...] = (5, 10, 50, 90, 95)
#: The percentiles the tolerance is checked at.
CHECKED_PERCENTILES: tuple[int, ...] = (5, 50, 95)
METRICS: tuple[str, ...] = ("coupling_loss_db", "geometry_db")


@dataclass(frozen=True)
class CalibrationCase:
    """One calibration set-up: the document's scenario and antenna parameters (clauses in
    docs/calibration.md)."""

    name: str
    pathloss_model: str
    carrier_ghz: float
    isd_m: float
    bs_height_m: float
    min_distance_m: float
    antenna_elements: int
    o2i_model: str
    o2i_high_loss_ratio: float
    tolerance_db: float
    element_spacing_wl: float = 0.5
    electrical_tilt_deg: float = 12.0
    indoor_ratio: float = 0.8
    tx_power_dbm: float = 46.0
    n_prb: int = 50
    """PRBs of 180 kHz: 10 MHz (36.873) or 20 MHz (38.901); only geometry with noise reads it."""


def _case_36873(name: str, scenario: str, elements: int) -> CalibrationCase:
    uma = scenario == "uma"
    return CalibrationCase(
        name=name, pathloss_model=f"3gpp-36.873-{scenario}", carrier_ghz=2.0, isd_m=500.0 if uma else 200.0,
        bs_height_m=25.0 if uma else 10.0, min_distance_m=35.0 if uma else 10.0, antenna_elements=elements,
        o2i_model="3gpp-36.873", o2i_high_loss_ratio=0.0, tolerance_db=1.0, tx_power_dbm=46.0 if uma else 41.0,
    )


def _case_38901(name: str, scenario: str) -> CalibrationCase:
    uma = scenario == "uma"
    return CalibrationCase(
        name=name, pathloss_model=f"3gpp-38.901-{scenario}", carrier_ghz=6.0, isd_m=500.0 if uma else 200.0,
        bs_height_m=25.0 if uma else 10.0, min_distance_m=35.0 if uma else 10.0, antenna_elements=10,
        o2i_model="3gpp-38.901", o2i_high_loss_ratio=0.5, tolerance_db=1.5, tx_power_dbm=49.0 if uma else 44.0,
        n_prb=100,
    )


#: The six calibration cases, by the names calibration.json uses.
CASES: dict[str, CalibrationCase] = {
    c.name: c
    for c in (
        _case_36873("36.873-uma-k1", "uma", 1),
        _case_36873("36.873-uma-k10", "uma", 10),
        _case_36873("36.873-umi-k1", "umi", 1),
        _case_36873("36.873-umi-k10", "umi", 10),
        _case_38901("38.901-uma", "uma"),
        _case_38901("38.901-umi", "umi"),
    )
}
TOLERANCE_DB: dict[str, float] = {name: c.tolerance_db for name, c in CASES.items()}


def calibration_scenario(case: CalibrationCase, ues_per_cell: int = 10,
                         radio_overrides: Mapping[str, Any] | None = None) -> Scenario:
    """The simulator scenario of ``case``: 19 sites, wrap-around, one slice of ``ues_per_cell`` UEs
    per cell (dropped uniformly in each cell, so uniformly over the area), the 3GPP 3-D element
    (8 dBi, 65° beamwidths, A_m = SLA_V = 30 dB) in a column of K elements tilted 12° electrically,
    80 % of UEs indoors. ``radio_overrides`` replace radio fields (validated; the ablations)."""
    check_int("ues_per_cell", ues_per_cell, 1)
    layout = LayoutConfig(
        kind="hex", rings=2, isd_m=case.isd_m, wrap_around=True, bs_height_m=case.bs_height_m, ue_height_m=1.5
    )
    radio = RadioConfig(
        pathloss_model=case.pathloss_model, carrier_ghz=case.carrier_ghz, tx_power_dbm=case.tx_power_dbm,
        antenna_model="3gpp-3d", antenna_gain_dbi=8.0, antenna_beamwidth_deg=65.0, antenna_max_attenuation_db=30.0,
        antenna_vertical_beamwidth_deg=65.0, antenna_sla_v_db=30.0, antenna_elements=case.antenna_elements,
        antenna_element_spacing_wl=case.element_spacing_wl, antenna_electrical_tilt_deg=case.electrical_tilt_deg,
        antenna_mechanical_tilt_deg=0.0, indoor_ratio=case.indoor_ratio, building_floors=(4, 8),
        o2i_model=case.o2i_model, o2i_high_loss_ratio=case.o2i_high_loss_ratio, min_distance_m=case.min_distance_m,
        max_distance_m=5000.0, handover_hysteresis_db=0.0, n_prb=case.n_prb,
    )
    if radio_overrides:
        unknown = sorted(set(radio_overrides) - {f.name for f in dataclasses.fields(RadioConfig)})
        if unknown:
            raise ValueError(f"unknown radio key(s) {', '.join(unknown)}; see docs/scenario.md [radio]")
        radio = dataclasses.replace(radio, **radio_overrides)
    slice_ = SliceConfig(name="calibration", demand_bps=0.0, flow_size_bits=1000.0, mask_base=1.0,
                         mask_amplitude=0.0, mask_phase=0.0)
    requirements = RequirementsConfig(
        site_profile=(0,), profiles=(RequirementProfile(throughput_bps=(1e6,), delay_s=(1e-2,)),)
    )
    return Scenario(
        name=f"3gpp-{case.name}", layout=layout, radio=radio, slices=(slice_,), requirements=requirements,
        traffic=TrafficConfig(max_ues_per_slice=ues_per_cell),
    )


def drop_metrics(scenario: Scenario, seed: int, noise: bool = False) -> dict[str, np.ndarray]:
    """One drop of ``scenario``'s UEs (the simulator at t = 0): per UE the coupling loss and geometry
    (dB), the serving cell (strongest coupling gain), height and indoor flag. ``noise`` adds the thermal
    noise of the scenario's bandwidth to the geometry's denominator (the documents' metric is without)."""
    check_memory(scenario, what="a calibration drop")
    sim = _core.Simulator(core_config(scenario), seed)
    gains = sim.gains()  # [K, U] linear coupling gains (antenna, path loss, shadowing, penetration)
    serving = np.argmax(gains, axis=0)
    best = gains[serving, np.arange(gains.shape[1])]
    others = gains.sum(axis=0) - best
    if noise:  # per PRB: noise power over transmit power, as a coupling gain
        others = others + sim.noise_w / sim.tx_power_w
    state = sim.state()
    with np.errstate(divide="ignore"):
        return {
            "coupling_loss_db": 10.0 * np.log10(best),
            "geometry_db": 10.0 * np.log10(best / others),
            "serving": serving,
            "ue_height_m": state["ue_height"],
            "indoor": state["indoor"],
        }


def reference() -> dict[str, Any]:
    """The bundled 3GPP reference curves (``pyslice/sim/data/calibration_3gpp.json``)."""
    text = resources.files("pyslice.sim").joinpath("data/calibration_3gpp.json").read_text(encoding="utf-8")
    return json.loads(text)


def run_calibration(
    cases: Iterable[str],
    drops: int = 20,
    seed: int = 0,
    ues_per_cell: int = 10,
    progress: Callable[[str, int], None] | None = None,
    radio_overrides: Mapping[str, Any] | None = None,
    noise: bool = False,
) -> dict[str, Any]:
    """Run ``drops`` independent drops (seeds ``seed``, ``seed + 1``, ...) of each case and return the
    calibration.json document ``{"cases": {CASE: {metric: {"p5": ..., ...}, "ues": n, "drops": n}}}``
    plus, under ``"samples"``, every UE's values (for the figures; not written to the JSON).
    ``progress(case, drop)`` is called after each drop; ``radio_overrides`` and ``noise`` are the
    ablations of docs/calibration.md."""
    names = list(cases)
    unknown = [c for c in names if c not in CASES]
    if unknown or not names:
        raise ValueError(f"case must be among {', '.join(CASES)}, got {', '.join(unknown) or 'none'}")
    check_int("drops", drops, 1)
    check_int("seed", seed, 0)
    out: dict[str, Any] = {"cases": {}, "samples": {}}
    scenarios = {name: calibration_scenario(CASES[name], ues_per_cell, radio_overrides) for name in names}
    for name, scenario in scenarios.items():
        pooled: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
        for d in range(drops):
            metrics = drop_metrics(scenario, seed + d, noise)
            for m in METRICS:
                pooled[m].append(metrics[m])
            if progress is not None:
                progress(name, d)
        samples = {m: np.concatenate(pooled[m]) for m in METRICS}
        entry: dict[str, Any] = {
            m: {f"p{p}": float(np.percentile(samples[m], p)) for p in PERCENTILES} for m in METRICS
        }
        entry["ues"] = int(samples[METRICS[0]].size)
        entry["drops"] = drops
        out["cases"][name] = entry
        out["samples"][name] = samples
    return out


def compare(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (case, metric, reported percentile): ours, 3GPP's, their difference and whether it
    is within the case's tolerance (checked at 5/50/95 %; None at the other percentiles)."""
    rows = []
    ref_cases = reference()["cases"]
    for case, entry in results["cases"].items():
        tol = TOLERANCE_DB[case]
        ref = ref_cases[case]
        for metric in METRICS:
            for p in PERCENTILES:
                ours = entry[metric][f"p{p}"]
                theirs = float(ref[metric][ref["percentiles"].index(p)])
                delta = ours - theirs
                within = bool(abs(delta) <= tol) if p in CHECKED_PERCENTILES else None
                rows.append({"case": case, "metric": metric, "percentile": p, "ours": ours, "3gpp": theirs,
                             "delta": delta, "tolerance": tol, "within": within})
    return rows


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The comparison as a plain-text table (the CLI prints it)."""
    lines = [f"{'case':<16} {'metric':<17} {'pct':>4} {'ours':>8} {'3gpp':>8} {'delta':>7}  verdict"]
    for r in rows:
        verdict = "-" if r["within"] is None else ("ok" if r["within"] else f"OFF (> {r['tolerance']:g} dB)")
        lines.append(f"{r['case']:<16} {r['metric']:<17} {r['percentile']:>3}% {r['ours']:8.1f} {r['3gpp']:8.1f} "
                     f"{r['delta']:+7.1f}  {verdict}")
    return lines



def scenario_samples(scenario: Scenario, drops: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Coupling loss and geometry of every UE over ``drops`` drops of any scenario (the paper's own,
    for the comparison figure of docs/calibration.md)."""
    check_int("drops", drops, 1)
    pooled = [drop_metrics(scenario, seed + d) for d in range(drops)]
    return {m: np.concatenate([p[m] for p in pooled]) for m in METRICS}
