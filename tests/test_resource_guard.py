"""The memory guard (pyslice.sim.memory_estimate, docs/usage.md "Memory guard"): a scenario too large for
the machine is refused before the core allocates anything, with the estimate and the limit in the
message; the estimate agrees with the memory a simulator really takes; PYSLICE_MEMORY_LIMIT overrides
the limit; the estimate grows with the scenario."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import with_ues
from pyslice import Scenario
from pyslice.sim import memory_estimate, simulator
from pyslice.sim.memory_estimate import (ENV_VAR, SAFETY_FRACTION, check_memory, estimate_core_bytes,
                                         estimate_memory, format_bytes, memory_limit, parse_bytes)
from pyslice.sim.simulator import Simulator, SimulatorBatch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEX57 = EXAMPLES / "hex19_wraparound_uma.toml"
GIB = 1024 ** 3


def hex57(ues: int, **radio) -> Scenario:
    sc = with_ues(ues, Scenario.from_toml(HEX57))
    return dataclasses.replace(sc, radio=dataclasses.replace(sc.radio, **radio)) if radio else sc


class _NoCore:
    """Stands in for pyslice._core: any simulator the guard let through would fail the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the core was reached ({name}) although the scenario must be refused first")


@pytest.fixture()
def no_core(monkeypatch):
    monkeypatch.setattr(simulator, "_core", _NoCore())


@pytest.fixture(autouse=True)
def unset_limit(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


# (a) the 100,000-UEs-per-slice 57-cell network is refused up front -------------------------------------

def test_the_57_cell_network_with_100000_ues_per_slice_is_refused_before_the_core(no_core, monkeypatch):
    sc = hex57(100_000)
    estimate = estimate_memory(sc)
    assert estimate.n_ues == 57 * 4 * 100_000 and estimate.links == estimate.n_ues * 19
    assert estimate.total > 60 * GIB  # ~82 GiB: 433 million tracked links
    limit = memory_limit()
    if limit is None or limit.bytes >= estimate.total:  # a machine this large: pretend it has 24 GiB
        monkeypatch.setattr(memory_estimate, "_available", lambda: (24 * GIB, "MemAvailable"))
        limit = memory_limit()
    with pytest.raises(ValueError) as info:
        Simulator(sc, seed=0)
    msg = str(info.value)
    assert f"needs about {format_bytes(estimate.total)}" in msg
    assert f"this machine allows {format_bytes(limit.bytes)}" in msg
    for part in ("22,800,000 UEs", "433,200,000 tracked links", "traffic.max_ues_per_slice", ENV_VAR):
        assert part in msg
    with pytest.raises(ValueError, match="needs about .* as a SimulatorBatch of 4 replicas"):
        SimulatorBatch(sc, [0] * 4, shared_world=True)


def test_the_message_states_the_formula_the_limit_and_what_fits(no_core, monkeypatch):
    monkeypatch.setattr(memory_estimate, "_available", lambda: (20 * GIB, "MemAvailable"))
    assert memory_limit().bytes == int(20 * GIB * SAFETY_FRACTION)
    with pytest.raises(ValueError) as info:
        Simulator(hex57(100_000), seed=0)
    msg = str(info.value)
    assert "this machine allows 16 GiB (80% of MemAvailable 20 GiB)" in msg
    fits = int(msg.split("at most ")[1].split(" fits")[0].replace(",", ""))
    assert estimate_core_bytes(hex57(fits)) <= 16 * GIB < estimate_core_bytes(hex57(fits + 1))


# (b) the estimate agrees with the memory a simulator takes ---------------------------------------------

# Run in a fresh process: RSS after a warm-up (imports, a one-UE simulator), then the largest RSS seen
# after construction, 3 steps, a reset (which fills the link rebuild buffer) and 2 more steps, or the
# high-water mark if it rose in between.
_MEASURE = r"""
import dataclasses, json, sys
from pyslice import Scenario
from pyslice.sim.simulator import Simulator, SimulatorBatch
from pyslice.sim.memory_estimate import estimate_core_bytes

def rss():
    got = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            got[key] = int(value.split()[0]) * 1024
    return got["VmRSS"], got["VmHWM"]

spec = json.loads(sys.argv[1])
sc = Scenario.paper() if spec["file"] is None else Scenario.from_toml(spec["file"])
sc = dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=spec["ues"]),
                         radio=dataclasses.replace(sc.radio, **spec["radio"]))
tiny = dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=1))
Simulator(tiny, 0).step_policy("equal")
rss0, hwm0 = rss()
R = spec["replicas"]
sim = SimulatorBatch(sc, [1] * R, shared_world=spec["shared"]) if R > 1 else Simulator(sc, 1)
seen = [rss()[0]]
for reset in (False, False, False, True, False, False):
    if reset:
        sim.reset()
    sim.step_policy("equal")
    seen.append(rss()[0])
hwm = rss()[1]
peak = max(max(seen), hwm if hwm > hwm0 else 0)
print(json.dumps({"measured": peak - rss0, "estimate": estimate_core_bytes(sc, R, spec["shared"])}))
"""


def _measure(file: Path | None, ues: int, replicas: int = 1, shared: bool = False, **radio) -> dict:
    spec = {"file": None if file is None else str(file), "ues": ues, "replicas": replicas, "shared": shared,
            "radio": radio}
    # Not from the checkout root: its source tree has no built _core and would shadow the installed package.
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(spec)], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-3000:]
    return {**json.loads(out.stdout), "case": f"{'paper' if file is None else file.stem} x{ues} {radio or ''}"
            f"{f' R={replicas}' if replicas > 1 else ''}{' shared' if shared else ''}"}


#: The estimate must lie within these factors of the measured growth where the core dominates (>= 20 MB).
LOW, HIGH = 0.8, 1.4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")
def test_the_estimate_agrees_with_measured_memory():
    cases = [
        (None, 32, {}),                     # the paper scenario (~1 MB: the allocator's noise dominates)
        (None, 2000, {}),                   # the paper layout, dense: ~110 MB
        (HEX57, 32, {}),                    # the 57-cell network at three densities: ~28, ~88, ~260 MB
        (HEX57, 100, {}),
        (HEX57, 300, {}),
        (HEX57, 100, {"interference_radius_m": 1000.0}),  # culling: sparse interferers
        (HEX57, 50, {"replicas": 3}),                     # a batch of independent worlds
        (HEX57, 100, {"replicas": 3, "shared": True}),    # a shared world
    ]
    with ThreadPoolExecutor(2) as pool:
        rows = list(pool.map(lambda c: _measure(c[0], c[1], **c[2]), cases))
    table = "\n".join(f"{r['case']:<50} measured {r['measured']:>12,} estimate {r['estimate']:>12,} "
                      f"ratio {r['estimate'] / max(r['measured'], 1):.2f}" for r in rows)
    print(table)
    paper = rows[0]
    assert abs(paper["estimate"] - paper["measured"]) < 4 << 20, table
    for r in rows[1:]:
        assert r["measured"] > 20e6, table
        assert LOW * r["measured"] <= r["estimate"] <= HIGH * r["measured"], table


# (c) PYSLICE_MEMORY_LIMIT -------------------------------------------------------------------------------

def test_a_small_limit_refuses_a_normal_scenario_and_a_large_one_accepts_it(monkeypatch):
    paper = Scenario.paper()
    monkeypatch.setenv(ENV_VAR, "1MB")
    assert memory_limit().bytes == 10 ** 6
    with pytest.raises(ValueError, match=rf"needs about .*allows 977 KiB \({ENV_VAR}=1MB\)"):
        Simulator(paper, seed=0)
    with pytest.raises(ValueError, match=rf"{ENV_VAR}"):
        SimulatorBatch(paper, [0, 1])
    for large in ("1TiB", "off", str(10 ** 12)):
        monkeypatch.setenv(ENV_VAR, large)
        assert Simulator(paper, seed=0).n_ues == 12 * 4 * 32
        assert SimulatorBatch(paper, [0, 1], shared_world=False).size == 2


@pytest.mark.parametrize("bad", ["abc", "-5", "0", "0.5", "12XB", "2 GiBs", "1e400", "nan", "GiB"])
def test_bad_limits_name_the_variable(monkeypatch, bad):
    monkeypatch.setenv(ENV_VAR, bad)
    with pytest.raises(ValueError, match=rf"^{ENV_VAR} must be"):
        memory_limit()
    with pytest.raises(ValueError, match=rf"^{ENV_VAR} must be"):
        Simulator(Scenario.paper(), seed=0)


@pytest.mark.parametrize("text, value", [
    ("8000000000", 8_000_000_000), ("500MB", 500_000_000), ("500 mb", 500_000_000), ("2GiB", 2 * GIB),
    ("1.5G", int(1.5 * GIB)), ("64k", 65536), ("3kB", 3000), ("1TB", 10 ** 12), ("7B", 7), (" 1e9 ", 10 ** 9),
    ("off", None), ("Unlimited", None),
])
def test_limits_parse(text, value):
    assert parse_bytes(text) == value


def test_without_a_known_limit_the_guard_lets_everything_through(monkeypatch):
    monkeypatch.setattr(memory_estimate, "_available", lambda: None)
    assert memory_limit() is None
    assert check_memory(hex57(100_000)).total > 60 * GIB  # no limit: returns the estimate


def test_an_empty_variable_means_the_machine_limit(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "  ")
    monkeypatch.setattr(memory_estimate, "_available", lambda: (10 * GIB, "MemAvailable"))
    assert memory_limit().bytes == int(10 * GIB * SAFETY_FRACTION)


# (d) the estimate grows with the scenario ----------------------------------------------------------------

_SCENARIOS = {
    "paper": Scenario.paper(),
    "hex57": hex57(32),
    "culled": hex57(32, interference_radius_m=900.0),
    "lazy": hex57(32, link_update_distance_m=5.0),
}


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(_SCENARIOS)), ues=st.integers(0, 100_000), sites=st.integers(1, 400),
       replicas=st.integers(1, 64), shared=st.booleans(), dues=st.integers(0, 1000), dsites=st.integers(0, 50),
       dreplicas=st.integers(0, 8))
def test_the_estimate_is_monotone_in_ues_cells_and_replicas(name, ues, sites, replicas, shared, dues, dsites,
                                                             dreplicas):
    sc = _SCENARIOS[name]

    def total(u: int, s: int, r: int) -> int:
        return estimate_memory(sc, r, shared, ues_per_slice=u, n_sites=s).total

    base = total(ues, sites, replicas)
    assert base >= 0
    assert total(ues + dues, sites, replicas) >= base
    assert total(ues, sites + dsites, replicas) >= base
    assert total(ues, sites, replicas + dreplicas) >= base
    assert estimate_memory(sc, replicas, True, ues_per_slice=ues, n_sites=sites).total <= \
        estimate_memory(sc, replicas, False, ues_per_slice=ues, n_sites=sites).total
