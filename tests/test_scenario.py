"""Tests of pyslice.sim.scenario: paper defaults, validation, TOML round trip, mask traces."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice.sim.scenario import (
    PAPER_SLICES,
    LayoutConfig,
    RadioConfig,
    RequirementProfile,
    RequirementsConfig,
    Scenario,
    SliceConfig,
    TrafficConfig,
)

# Defaults as documented in docs/scenario.md.
DOC_DEFAULTS: dict[str, dict[str, Any]] = {
    "layout": dict(kind="paper", rings=1, sites_m=(), isd_m=500.0, wrap_around=False, wrap_vectors_m=(),
                   bs_height_m=25.0, ue_height_m=1.5),
    "radio": dict(pathloss_model="winner+", carrier_ghz=2.6, tx_power_dbm=46.0, n_prb=100,
                  prb_bandwidth_hz=180000.0, noise_density_dbm_hz=-174.0, noise_figure_db=9.0,
                  antenna_gain_dbi=14.0, antenna_beamwidth_deg=70.0, antenna_max_attenuation_db=25.0,
                  antenna_model="sector", antenna_vertical_beamwidth_deg=65.0, antenna_sla_v_db=30.0,
                  antenna_elements=1, antenna_element_spacing_wl=0.5, antenna_electrical_tilt_deg=0.0,
                  antenna_mechanical_tilt_deg=0.0, indoor_ratio=0.0, building_floors=(4, 8),
                  o2i_model="3gpp-36.873", o2i_high_loss_ratio=0.0, indoor_los_distance="outdoor",
                  indoor_distance="per-ue", o2i_shadowing="o2i", shadowing=True, shadow_decorrelation_m=50.0, los_decorrelation_m=50.0,
                  min_distance_m=35.0, max_distance_m=5000.0, interference_radius_m=math.inf,
                  link_update_distance_m=0.0,
                  handover_hysteresis_db=3.0, handover_ttt_s=0.256),
    "traffic": dict(step_seconds=1.0, max_ues_per_slice=32, mask="generated", mask_period_steps=240.0,
                    mask_ar=0.9, mask_noise_std=0.05, max_delay_s=10.0, delay_model="finite-buffer",
                    buffer_s=0.05, roaming="home-site"),
}

SLICE_REQUIRED = dict(name="s", demand_bps=1e5, flow_size_bits=1000.0, mask_base=0.5, mask_amplitude=0.2,
                      mask_phase=0.1)


def paper_dict() -> dict[str, Any]:
    return Scenario.paper().to_dict()


def set_path(d: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set ``d[...]`` at a path like ``slices[2].demand_bps`` (on a deep copy)."""
    d = copy.deepcopy(d)
    parts = [p for p in re.split(r"\.|\[(\d+)\]", dotted) if p]
    target: Any = d
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return d


# ---- paper defaults ------------------------------------------------------------------------------


def test_paper_defaults_match_documented_values() -> None:
    s = Scenario.paper()
    assert s == Scenario()
    assert s.name == "paper"
    for section, expected in DOC_DEFAULTS.items():
        config = getattr(s, section)
        assert dataclasses.asdict(config) == expected, section
        for key, value in expected.items():
            assert type(getattr(config, key)) is type(value), f"{section}.{key}"
    assert s.n_slices == 4
    assert s.slices == PAPER_SLICES
    assert [sl.name for sl in s.slices] == ["embb", "video", "v2x", "iot"]
    assert [sl.demand_bps for sl in s.slices] == [375e3, 225e3, 150e3, 75e3]
    assert [sl.flow_size_bits for sl in s.slices] == [3000, 1500, 500, 250]
    assert [(sl.speed_min_mps, sl.speed_max_mps) for sl in s.slices] == [(0.5, 1.5), (0.5, 1.5), (5, 15),
                                                                        (0.5, 1.5)]
    assert all(sl.pause_s == 2.0 and sl.mobility == "random-waypoint" for sl in s.slices)
    assert [(sl.mask_base, sl.mask_amplitude) for sl in s.slices] == [(0.5, 0.3)] * 4
    assert [sl.mask_phase for sl in s.slices] == [0.0, 0.25, 0.5, 0.75]
    req = s.requirements
    assert req.site_profile == (0, 1)
    assert req.profiles[0] == RequirementProfile(throughput_bps=(4e6, 3e6, 2e6, 1e6),
                                                 delay_s=(3e-3, 2e-3, 1e-3, 1e-3))
    assert req.profiles[1] == RequirementProfile(throughput_bps=(2.5e6, 2e6, 1.5e6, 1e6), delay_s=(1e-3,) * 4)
    assert len(req.profiles) == 2
    assert s.layout.n_sites == 4


def test_scenarios_are_hashable_and_immutable() -> None:
    assert hash(Scenario.paper()) == hash(Scenario.from_dict({}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scenario.paper().layout.isd_m = 1.0  # type: ignore[misc]


def test_layout_site_counts() -> None:
    assert [LayoutConfig(kind="hex", rings=r).n_sites for r in range(4)] == [1, 7, 19, 37]
    assert LayoutConfig(kind="sites", sites_m=((0, 0), (1, 2), (3, 4))).n_sites == 3


# ---- TOML round trip -----------------------------------------------------------------------------


def test_toml_round_trip_paper_writes_inf(tmp_path: Path) -> None:
    s = Scenario.paper()
    path = tmp_path / "paper.toml"
    s.to_toml(path)
    assert "interference_radius_m = inf\n" in path.read_text()
    assert Scenario.from_toml(path) == s


def test_toml_round_trip_hex_and_sites(tmp_path: Path) -> None:
    hex_scenario = dataclasses.replace(
        Scenario.paper(),
        name='hex "big" \\ ünï\tcode\n\x7f',
        layout=LayoutConfig(kind="hex", rings=3, isd_m=0.1 + 499.2, wrap_around=True),
        radio=dataclasses.replace(RadioConfig(), interference_radius_m=1500.0 / 3.0, shadowing=False,
                                  pathloss_model="3gpp-36.814-uma"),
        traffic=TrafficConfig(mask=str(tmp_path / "m.csv"), step_seconds=1e-3),
    )
    sites_scenario = dataclasses.replace(
        Scenario.paper(),
        layout=LayoutConfig(kind="sites", sites_m=((0.0, 0.0), (1e-17, -3.5), (1234.5678, 1 / 3)),
                            wrap_around=True, wrap_vectors_m=((1000.0, 0.0), (500.0, 866.0254037844386))),
    )
    for i, s in enumerate((hex_scenario, sites_scenario)):
        path = tmp_path / f"s{i}.toml"
        s.to_toml(path)
        loaded = Scenario.from_toml(path)
        assert loaded == s
        assert loaded.to_dict() == s.to_dict()


def test_to_dict_from_dict_round_trip_and_partial_dicts() -> None:
    s = Scenario.paper()
    d = s.to_dict()
    assert set(d) == {"name", "layout", "radio", "traffic", "slices", "requirements"}
    assert Scenario.from_dict(d) == s
    partial = Scenario.from_dict({"radio": {"n_prb": 50}, "layout": {"isd_m": 750}})
    assert partial.radio.n_prb == 50
    assert partial.layout.isd_m == 750.0 and type(partial.layout.isd_m) is float
    assert partial.traffic == s.traffic and partial.slices == s.slices


def test_slices_given_take_defaults_for_optional_keys() -> None:
    d = {"slices": [dict(SLICE_REQUIRED, name=f"s{i}") for i in range(4)]}
    s = Scenario.from_dict(d)
    assert s.slices[3].mobility == "random-waypoint"
    assert (s.slices[3].speed_min_mps, s.slices[3].speed_max_mps, s.slices[3].pause_s) == (0.5, 1.5, 2.0)
    assert s.requirements == Scenario.paper().requirements


def test_non_paper_slice_count_with_requirements() -> None:
    d = {"slices": [dict(SLICE_REQUIRED, name="a"), dict(SLICE_REQUIRED, name="b")],
         "requirements": {"site_profile": [0], "profiles": [{"throughput_bps": [1e6, 2e6],
                                                             "delay_s": [1e-3, 2e-3]}]}}
    s = Scenario.from_dict(d)
    assert s.n_slices == 2
    thr, delay = s.requirement_matrices(2)
    np.testing.assert_array_equal(thr, [[1e6, 2e6]] * 6)
    np.testing.assert_array_equal(delay, [[1e-3, 2e-3]] * 6)


finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    def f(lo: float, hi: float) -> float:
        return draw(st.floats(lo, hi, **finite))

    ue = f(1, 10)
    layout_kind = draw(st.sampled_from(LayoutConfig.KINDS))
    coord = st.floats(-1e6, 1e6, **finite)
    sites = draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=5)) if layout_kind == "sites" else []
    wrap = draw(st.booleans())
    vectors = [(1000.0, f(-10, 10)), (f(-10, 10), 1000.0)] if layout_kind == "sites" and wrap else []
    layout = LayoutConfig(kind=layout_kind, rings=draw(st.integers(0, 12)), sites_m=sites, isd_m=f(50, 5000),
                          wrap_around=wrap, wrap_vectors_m=vectors, bs_height_m=f(ue + 1 + 1e-9, 100),
                          ue_height_m=ue)
    min_d = f(1, min(1000, layout.isd_m / 2))
    model = draw(st.sampled_from(RadioConfig.PATHLOSS_MODELS))
    three_d = model in RadioConfig.PATHLOSS_MODELS[2:]
    floors_lo = draw(st.integers(1, 200))
    radio = RadioConfig(
        pathloss_model=model, carrier_ghz=f(0.5, 6),
        antenna_model=draw(st.sampled_from(RadioConfig.ANTENNA_MODELS)) if three_d else "sector",
        antenna_vertical_beamwidth_deg=f(10, 180), antenna_sla_v_db=f(0, 60),
        antenna_elements=draw(st.integers(1, 64)), antenna_element_spacing_wl=f(1e-6, 4),
        antenna_electrical_tilt_deg=f(-90, 90), antenna_mechanical_tilt_deg=f(-90, 90),
        indoor_ratio=f(0, 1) if three_d else 0.0, building_floors=(floors_lo, draw(st.integers(floors_lo, 200))),
        o2i_model=draw(st.sampled_from(RadioConfig.O2I_MODELS)), o2i_high_loss_ratio=f(0, 1),
        indoor_los_distance=draw(st.sampled_from(RadioConfig.INDOOR_LOS_DISTANCES)),
        indoor_distance=draw(st.sampled_from(RadioConfig.INDOOR_DISTANCES)),
        o2i_shadowing=draw(st.sampled_from(RadioConfig.O2I_SHADOWINGS)),
        tx_power_dbm=f(0, 60), n_prb=draw(st.integers(1, 1000)), prb_bandwidth_hz=f(1e3, 1e7),
        noise_density_dbm_hz=f(-200, -100), noise_figure_db=f(0, 20), antenna_gain_dbi=f(0, 30),
        antenna_beamwidth_deg=f(10, 180), antenna_max_attenuation_db=f(0, 60), shadowing=draw(st.booleans()),
        shadow_decorrelation_m=f(1e-9, 1e300), los_decorrelation_m=f(1e-300, 1e3), min_distance_m=min_d,
        max_distance_m=f(min_d * (1 + 1e-12) + 1e-9, 1e9),
        interference_radius_m=draw(st.one_of(st.just(math.inf), st.floats(1e-6, 1e12, **finite))),
        link_update_distance_m=f(0, 100),
        handover_hysteresis_db=f(0, 20), handover_ttt_s=f(0, 60))
    traffic = TrafficConfig(step_seconds=f(0.001, 3600), max_ues_per_slice=draw(st.integers(0, 100000)),
                            mask=draw(st.sampled_from(["generated", "/tmp/some dir/mask \"x\".csv"])),
                            mask_period_steps=f(1 + 1e-9, 1e9), mask_ar=f(0, 0.999), mask_noise_std=f(0, 1),
                            max_delay_s=f(1e-12, 1e6),
                            delay_model=draw(st.sampled_from(TrafficConfig.DELAY_MODELS)),
                            buffer_s=f(1e-9, 1e6))
    n = draw(st.integers(1, 16))
    names = draw(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
                          min_size=n, max_size=n, unique=True))
    slices = []
    for name in names:
        vmin = f(1e-6, 100)
        slices.append(SliceConfig(name=name, demand_bps=f(0, 1e9), flow_size_bits=f(1, 1e9),
                                  mobility=draw(st.sampled_from(SliceConfig.MOBILITY_MODELS)),
                                  speed_min_mps=vmin, speed_max_mps=f(vmin, 100), pause_s=f(0, 1e6),
                                  mask_base=f(0, 1), mask_amplitude=f(0, 1), mask_phase=f(0, 1)))
    positive = st.floats(1e-300, 1e300, **finite)
    n_profiles = draw(st.integers(1, 3))
    profiles = [RequirementProfile(throughput_bps=draw(st.lists(positive, min_size=n, max_size=n)),
                                   delay_s=draw(st.lists(st.floats(1e-12, 1e300, **finite), min_size=n, max_size=n)))
                for _ in range(n_profiles)]
    site_profile = draw(st.lists(st.integers(0, n_profiles - 1), min_size=1, max_size=6))
    return Scenario(name=draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)),
                    layout=layout, radio=radio, traffic=traffic, slices=slices,
                    requirements=RequirementsConfig(site_profile=site_profile, profiles=profiles))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_hypothesis_toml_round_trip_is_exact(s: Scenario) -> None:
    assert Scenario.from_dict(s.to_dict()) == s
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.toml"
        s.to_toml(path)
        loaded = Scenario.from_toml(path)
    assert loaded == s
    # Bit-exact floats (== would also accept 0.0 == -0.0).
    assert repr(loaded.to_dict()) == repr(s.to_dict())


def test_to_toml_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.toml"
    path.write_text("old contents")
    Scenario.paper().to_toml(path)
    assert os.listdir(tmp_path) == ["s.toml"]
    assert Scenario.from_toml(path) == Scenario.paper()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    before = path.read_text()
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        dataclasses.replace(Scenario.paper(), name="other").to_toml(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["s.toml"]


# ---- unknown keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "key_path"),
    [
        ({"nmae": "x"}, "nmae"),
        ({"radio": {"tx_powr_dbm": 40.0}}, "radio.tx_powr_dbm"),
        ({"layout": {"isd": 500.0}}, "layout.isd"),
        ({"traffic": {"mask_periods": 10.0}}, "traffic.mask_periods"),
        ({"slices": [dict(SLICE_REQUIRED, name=f"s{i}") for i in range(3)]
          + [dict(SLICE_REQUIRED, name="x", demnd_bps=1.0)]}, "slices[3].demnd_bps"),
        ({"requirements": {"site_profiles": [0]}}, "requirements.site_profiles"),
        ({"requirements": {"profiles": [{"throughput_bps": [1.0] * 4, "delay_s": [1.0] * 4, "x": 1}]}},
         "requirements.profiles[0].x"),
    ],
)
def test_unknown_key_names_its_path(d: dict[str, Any], key_path: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"unknown key {key_path!r}")) as info:
        Scenario.from_dict(d)
    assert "allowed keys" in str(info.value)


def test_typo_in_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('name = "typo"\n\n[radio]\ntx_powr_dbm = 40.0\n')
    with pytest.raises(ValueError, match=re.escape("unknown key 'radio.tx_powr_dbm'")) as info:
        Scenario.from_toml(path)
    assert "tx_power_dbm" in str(info.value)  # the allowed keys / suggestion


def test_partial_toml_file_takes_paper_defaults(tmp_path: Path) -> None:
    path = tmp_path / "partial.toml"
    path.write_text('[radio]\ntx_power_dbm = 40\n[layout]\nkind = "hex"\nrings = 2\n')
    s = Scenario.from_toml(path)
    assert s.radio.tx_power_dbm == 40.0 and s.layout.n_sites == 19
    assert dataclasses.replace(s, radio=RadioConfig(), layout=LayoutConfig()) == Scenario.paper()


# ---- range and type validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dotted", "value", "field_path"),
    [
        ("name", 3, "name"),
        ("layout.isd_m", 10.0, "layout.isd_m"),
        ("layout.rings", 13, "layout.rings"),
        ("layout.kind", "ring", "layout.kind"),
        ("layout.bs_height_m", 2.4, "layout.bs_height_m"),
        ("layout.ue_height_m", 0.5, "layout.ue_height_m"),
        ("layout.sites_m", [[0.0, 0.0]], "layout.sites_m"),
        ("radio.pathloss_model", "freespace", "radio.pathloss_model"),
        ("radio.carrier_ghz", 0.4, "radio.carrier_ghz"),
        ("radio.tx_power_dbm", 61.0, "radio.tx_power_dbm"),
        ("radio.n_prb", 0, "radio.n_prb"),
        ("radio.prb_bandwidth_hz", 2e7, "radio.prb_bandwidth_hz"),
        ("radio.noise_density_dbm_hz", -99.0, "radio.noise_density_dbm_hz"),
        ("radio.shadow_decorrelation_m", 0.0, "radio.shadow_decorrelation_m"),
        ("radio.los_decorrelation_m", math.inf, "radio.los_decorrelation_m"),
        ("radio.min_distance_m", 0.5, "radio.min_distance_m"),
        ("radio.max_distance_m", 35.0, "radio.max_distance_m"),
        ("radio.interference_radius_m", 0.0, "radio.interference_radius_m"),
        ("radio.interference_radius_m", -math.inf, "radio.interference_radius_m"),
        ("radio.link_update_distance_m", -0.5, "radio.link_update_distance_m"),
        ("radio.link_update_distance_m", 101.0, "radio.link_update_distance_m"),
        ("radio.handover_ttt_s", 61.0, "radio.handover_ttt_s"),
        ("traffic.step_seconds", 0.0, "traffic.step_seconds"),
        ("traffic.max_ues_per_slice", -1, "traffic.max_ues_per_slice"),
        ("traffic.mask", "", "traffic.mask"),
        ("traffic.mask_period_steps", 1.0, "traffic.mask_period_steps"),
        ("traffic.mask_ar", 1.0, "traffic.mask_ar"),
        ("traffic.max_delay_s", 0.0, "traffic.max_delay_s"),
        ("traffic.delay_model", "infinite-queue", "traffic.delay_model"),
        ("traffic.buffer_s", 0.0, "traffic.buffer_s"),
        ("traffic.buffer_s", math.inf, "traffic.buffer_s"),
        ("slices", [], "slices"),
        ("slices[2].demand_bps", -1.0, "slices[2].demand_bps"),
        ("slices[0].flow_size_bits", 0.5, "slices[0].flow_size_bits"),
        ("slices[1].mobility", "teleport", "slices[1].mobility"),
        ("slices[3].speed_min_mps", 0.0, "slices[3].speed_min_mps"),
        ("slices[1].speed_max_mps", 0.2, "slices[1].speed_max_mps"),
        ("slices[2].speed_max_mps", 101.0, "slices[2].speed_max_mps"),
        ("slices[0].pause_s", -1.0, "slices[0].pause_s"),
        ("slices[0].mask_phase", 1.5, "slices[0].mask_phase"),
        ("slices[3].name", "embb", "slices[3].name"),
        ("requirements.profiles[1].delay_s", [1e-3, 0.0, 1e-3, 1e-3], "requirements.profiles[1].delay_s[1]"),
        ("requirements.profiles[0].throughput_bps", [1.0, 1.0, 1.0], "requirements.profiles[0].throughput_bps"),
        ("requirements.site_profile", [0, 2], "requirements.site_profile[1]"),
        ("requirements.site_profile", [], "requirements.site_profile"),
        ("requirements.profiles", [], "requirements.profiles"),
    ],
)
def test_out_of_range_names_field(dotted: str, value: Any, field_path: str) -> None:
    d = set_path(paper_dict(), dotted, value)
    with pytest.raises((ValueError, TypeError)) as info:
        Scenario.from_dict(d)
    message = str(info.value)
    assert message.startswith(f"{field_path} must "), message


def test_error_message_format() -> None:
    with pytest.raises(ValueError) as info:
        Scenario.from_dict({"layout": {"isd_m": 10.0}})
    assert str(info.value) == "layout.isd_m must be in [50, 5000], got 10.0"


@pytest.mark.parametrize(
    "dotted",
    ["layout.isd_m", "layout.bs_height_m", "radio.max_distance_m", "radio.interference_radius_m",
     "radio.link_update_distance_m",
     "radio.shadow_decorrelation_m", "traffic.mask_period_steps", "slices[1].mask_base",
     "slices[2].speed_max_mps", "slices[0].pause_s", "requirements.profiles[1].delay_s[2]",
     "layout.wrap_vectors_m[0][1]"],
)
def test_nan_is_rejected(dotted: str) -> None:
    d = paper_dict()
    if dotted.startswith("layout.wrap_vectors_m"):
        d["layout"].update(kind="sites", sites_m=[[0.0, 0.0]], wrap_around=True,
                           wrap_vectors_m=[[1000.0, 0.0], [0.0, 1000.0]])
    d = set_path(d, dotted, math.nan)
    with pytest.raises(ValueError, match=re.escape(dotted)):
        Scenario.from_dict(d)


@pytest.mark.parametrize(
    ("dotted", "value", "field_path"),
    [
        ("radio.n_prb", True, "radio.n_prb"),
        ("traffic.max_ues_per_slice", False, "traffic.max_ues_per_slice"),
        ("layout.rings", True, "layout.rings"),
        ("radio.n_prb", 100.0, "radio.n_prb"),
        ("layout.isd_m", True, "layout.isd_m"),
        ("radio.shadowing", 1, "radio.shadowing"),
        ("layout.wrap_around", "yes", "layout.wrap_around"),
        ("slices[0].demand_bps", "1e5", "slices[0].demand_bps"),
        ("requirements.site_profile", [0, True], "requirements.site_profile[1]"),
        ("requirements.profiles[0].delay_s", [1e-3, 1e-3, False, 1e-3], "requirements.profiles[0].delay_s[2]"),
        ("radio", [1, 2], "radio"),
    ],
)
def test_wrong_type_raises_type_error(dotted: str, value: Any, field_path: str) -> None:
    with pytest.raises(TypeError) as info:
        Scenario.from_dict(set_path(paper_dict(), dotted, value))
    assert str(info.value).startswith(f"{field_path} must be a"), str(info.value)


def test_numpy_scalars_are_accepted_and_normalised() -> None:
    radio = RadioConfig(n_prb=np.int64(50), carrier_ghz=np.float32(2.0), shadowing=np.bool_(False))
    assert (radio.n_prb, radio.carrier_ghz, radio.shadowing) == (50, 2.0, False)
    assert type(radio.n_prb) is int and type(radio.carrier_ghz) is float and type(radio.shadowing) is bool


def test_cross_field_layout_rules() -> None:
    with pytest.raises(ValueError, match=re.escape("layout.sites_m must list at least 1 site")):
        Scenario.from_dict({"layout": {"kind": "sites"}})
    with pytest.raises(ValueError, match=re.escape("layout.wrap_vectors_m must give exactly two")):
        Scenario.from_dict({"layout": {"kind": "sites", "sites_m": [[0, 0]], "wrap_around": True,
                                       "wrap_vectors_m": [[1000, 0]]}})
    with pytest.raises(ValueError, match="linearly independent"):
        LayoutConfig(kind="sites", sites_m=((0, 0),), wrap_around=True,
                     wrap_vectors_m=((1000, 500), (-2000, -1000)))
    with pytest.raises(ValueError, match=re.escape("layout.wrap_vectors_m must be empty")):
        LayoutConfig(wrap_around=True, wrap_vectors_m=((1000, 0), (0, 1000)))
    with pytest.raises(ValueError, match=re.escape("layout.rings must be given")):
        Scenario.from_dict({"layout": {"kind": "hex"}})
    with pytest.raises(ValueError, match=re.escape("layout.sites_m[0] must be a pair")):
        Scenario.from_dict({"layout": {"kind": "sites", "sites_m": [[0, 0, 0]]}})
    ok = LayoutConfig(kind="sites", sites_m=((0, 0),), wrap_around=True, wrap_vectors_m=((1000, 0), (0, 1000)))
    assert ok.wrap_vectors_m == ((1000.0, 0.0), (0.0, 1000.0))


def test_slice_rules() -> None:
    three = [dict(SLICE_REQUIRED, name=f"s{i}") for i in range(3)]
    with pytest.raises(ValueError, match=re.escape("requirements must be given for N = 3 slices")):
        Scenario.from_dict({"slices": three})
    missing = {k: v for k, v in SLICE_REQUIRED.items() if k != "flow_size_bits"}
    with pytest.raises(ValueError, match=re.escape("slices[0].flow_size_bits is required")):
        Scenario.from_dict({"slices": [missing] * 4})
    with pytest.raises(ValueError, match=re.escape("slices must have 1..16 entries, got 17")):
        Scenario.from_dict({"slices": [dict(SLICE_REQUIRED, name=f"s{i}") for i in range(17)]})
    with pytest.raises(ValueError, match=re.escape("requirements.profiles[0].throughput_bps must have N = 3")):
        Scenario.from_dict({"slices": three, "requirements": {}})


def test_the_core_holds_the_same_slice_limit() -> None:
    """The scenario's limit is the core's (its per-slice arrays are fixed-size), and the core
    rejects one slice more on its own, with a ValueError instead of overrunning them."""
    from pyslice import _core
    from pyslice.sim.core_config import core_config

    assert _core.MAX_SLICES == 16
    cfg = core_config(Scenario.paper())
    n = _core.MAX_SLICES + 1
    for key, value in list(cfg.items()):
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[-1] == 4 and key != "sites":
            cfg[key] = np.resize(value, (*value.shape[:-1], n)) if value.ndim > 1 else np.resize(value, n)
    with pytest.raises(ValueError, match="slices must be between 1 and 16"):
        _core.Simulator(cfg, 0)


def test_replace_revalidates() -> None:
    s = Scenario.paper()
    with pytest.raises(ValueError, match=re.escape("layout.isd_m must be in [50, 5000], got 10")):
        dataclasses.replace(s.layout, isd_m=10)
    with pytest.raises(ValueError, match=re.escape("requirements.profiles[0].throughput_bps must have N = 3")):
        dataclasses.replace(s, slices=s.slices[:3])
    with pytest.raises(ValueError, match=re.escape("slice.demand_bps")):
        dataclasses.replace(s.slices[0], demand_bps=-1.0)
    with pytest.raises(TypeError, match=re.escape("slices[1] must be a SliceConfig")):
        dataclasses.replace(s, slices=(s.slices[0], {"name": "x"}))
    bigger = dataclasses.replace(s.layout, isd_m=600)
    assert bigger.isd_m == 600.0 and type(bigger.isd_m) is float
    assert dataclasses.replace(s, slices=list(s.slices)).slices == s.slices


# ---- requirement matrices ------------------------------------------------------------------------


def test_paper_requirement_matrices() -> None:
    s = Scenario.paper()
    thr, delay = s.requirement_matrices(4)
    assert thr.shape == delay.shape == (12, 4) and thr.dtype == delay.dtype == np.float64
    profile0 = [0, 1, 2, 6, 7, 8]
    profile1 = [3, 4, 5, 9, 10, 11]
    np.testing.assert_array_equal(thr[profile0], [[4e6, 3e6, 2e6, 1e6]] * 6)
    np.testing.assert_array_equal(delay[profile0], [[3e-3, 2e-3, 1e-3, 1e-3]] * 6)
    np.testing.assert_array_equal(thr[profile1], [[2.5e6, 2e6, 1.5e6, 1e6]] * 6)
    np.testing.assert_array_equal(delay[profile1], [[1e-3] * 4] * 6)
    default_thr, _ = s.requirement_matrices()
    np.testing.assert_array_equal(default_thr, thr)


def test_requirement_matrices_cycle_site_profile() -> None:
    profiles = tuple(RequirementProfile(throughput_bps=(float(j + 1),) * 4, delay_s=(1.0,) * 4) for j in range(3))
    s = dataclasses.replace(Scenario.paper(), requirements=RequirementsConfig(site_profile=(2, 0),
                                                                              profiles=profiles))
    thr, _ = s.requirement_matrices(3)
    np.testing.assert_array_equal(thr[:, 0], [3, 3, 3, 1, 1, 1, 3, 3, 3])
    with pytest.raises(ValueError, match="n_sites"):
        s.requirement_matrices(0)


# ---- mask traces ---------------------------------------------------------------------------------


def with_mask(path: Path) -> Scenario:
    return dataclasses.replace(Scenario.paper(), traffic=TrafficConfig(mask=str(path)))


def test_generated_mask_has_no_trace() -> None:
    assert Scenario.paper().load_mask_trace() is None


def test_mask_csv_good_file(tmp_path: Path) -> None:
    rows = [[0.0, 0.25, 0.5, 1.0], [1.0, 0.75, 0.125, 0.0], [0.3, 0.3, 0.3, 0.3]]
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(",".join(repr(v) for v in r) for r in rows) + "\n")
    headed = tmp_path / "headed.csv"
    headed.write_text("embb, video, v2x, iot\n" + plain.read_text() + "\n")
    for path in (plain, headed):
        trace = with_mask(path).load_mask_trace()
        assert trace is not None and trace.dtype == np.float64 and trace.shape == (3, 4)
        np.testing.assert_array_equal(trace, rows)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("0.1,0.2,0.3\n", "3 columns, expected N = 4"),
        ("0.1,0.2,0.3,0.4\n0.1,0.2,0.3\n", "line 2 has 3 columns"),
        ("0.1,0.2,1.5,0.4\n", "must be in [0, 1], got 1.5"),
        ("0.1,-0.2,0.5,0.4\n", "must be in [0, 1], got -0.2"),
        ("0.1,nan,0.5,0.4\n", "got nan"),
        ("0.1,0.2,0.5,inf\n", "got inf"),
        ("embb,video,v2x,iot\n", "at least 1 data row"),
        ("", "at least 1 data row"),
        ("embb,video,iot,v2x\n0.1,0.2,0.3,0.4\n", "header row"),
        ("0.1,0.2,0.3,0.4\n0.1,x,0.3,0.4\n", "not a number"),
    ],
)
def test_mask_csv_bad_files(tmp_path: Path, text: str, detail: str) -> None:
    path = tmp_path / "mask.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape("traffic.mask")) as info:
        with_mask(path).load_mask_trace()
    assert detail in str(info.value)


def test_missing_mask_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("traffic.mask")):
        with_mask(tmp_path / "absent.csv").load_mask_trace()


def test_relative_mask_path_resolves_against_toml_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario_dir = tmp_path / "scenarios"
    (scenario_dir / "masks").mkdir(parents=True)
    (scenario_dir / "masks" / "m.csv").write_text("0.5,0.5,0.5,0.5\n")
    (scenario_dir / "s.toml").write_text('[traffic]\nmask = "masks/m.csv"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = Scenario.from_toml(Path("..") / "scenarios" / "s.toml")
    assert s.traffic.mask == str(scenario_dir / "masks" / "m.csv")
    assert os.path.isabs(s.traffic.mask)
    np.testing.assert_array_equal(s.load_mask_trace(), [[0.5] * 4])
    # The stored absolute path survives a save elsewhere and a reload.
    s.to_toml(elsewhere / "copy.toml")
    assert Scenario.from_toml(elsewhere / "copy.toml") == s
    # Without a file, from_dict leaves a relative path as given; "generated" is never resolved.
    assert Scenario.from_dict({"traffic": {"mask": "masks/m.csv"}}).traffic.mask == "masks/m.csv"
    assert Scenario.from_dict({"traffic": {}}, base_dir=scenario_dir).traffic.mask == "generated"


def test_sectors_per_site_is_the_cores():
    from pyslice._core import BORESIGHTS_DEG
    from pyslice.sim.scenario import SECTORS_PER_SITE

    assert SECTORS_PER_SITE == len(BORESIGHTS_DEG) == 3
    assert Scenario.paper().n_cells == SECTORS_PER_SITE * Scenario.paper().layout.n_sites == 12


def test_the_config_seam_is_one_list() -> None:
    """pyslice.sim.core_config builds exactly the keys of the core's table (_core.CONFIG_KEYS), with
    values of each key's kind; the core names a missing or unknown key."""
    from pyslice import _core
    from pyslice.sim.core_config import core_config

    cfg = core_config(Scenario.paper())
    kinds = dict(_core.CONFIG_KEYS)
    assert list(cfg) == list(kinds)  # same keys, same order
    for key, kind in kinds.items():
        value = cfg[key]
        if kind == "bool":
            assert isinstance(value, bool), key
        elif kind == "int":
            assert isinstance(value, int) and not isinstance(value, bool), key
        elif kind == "float":
            assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        else:
            assert np.asarray(value).dtype.kind == "f" and (kind != "points" or np.asarray(value).shape[-1:] == (2,)), key
    with pytest.raises(ValueError, match="missing key 'mask_ar'"):
        _core.Simulator({k: v for k, v in cfg.items() if k != "mask_ar"}, 0)
    with pytest.raises(ValueError, match="unknown core config key 'mask_arr'"):
        _core.Simulator({**cfg, "mask_arr": 0.5}, 0)
