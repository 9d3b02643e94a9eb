"""Memory the C++ core will need for a scenario, and the guard that refuses a scenario too large for
this machine before the core allocates anything (docs/usage.md, "Memory guard").

The estimate counts the core's per-UE and per-link arrays (cpp/simulator.hpp, cpp/load_coupling.hpp,
cpp/kpi.hpp), in bytes:

* **world** (each independent replica, or the one leader of a shared world): ``317`` per UE (position,
  motion, RNG, handover, radio and AR(1) state, offsets) plus ``156`` per tracked site link (the tracked
  link state twice — the rebuild buffer fills after a reset or with culling — link keys, the three
  sectors' cells and gains, best-sector cache and kernel scratch), plus ``44`` per link with
  ``radio.link_update_distance_m > 0`` (compact copies of the links evaluated in a step, generously;
  ``68`` with culling, which also holds the previous gains);
* **coupling structure** (same replicas as the world): per UE active at the mask's peak (base +
  amplitude + 4 noise std per slice, at most all; all with a trace) ``28`` bytes,
  plus the interferer matrix: ``8 K`` (dense blocks over all K cells, no culling) or ``36`` per tracked
  site link (sparse lists, culling);
* **response** (every replica, shared-world followers included): ``57`` per UE (shares' outcome, KPI
  scratch, SINR and its Python copy) plus ``24`` per active UE (solver sweeps).

A UE tracks every site without culling, or about ``pi r^2 / (sqrt(3)/2 isd^2)`` sites (at most all)
with ``radio.interference_radius_m = r``. A batch of R independent replicas holds R worlds; a shared
world holds one, plus (R > 1) a follower's freshly drawn world — without the rebuild buffer's ``37`` per
link or a coupling structure — while it is drawn and released (construction and reset).
Excluded: the Python process itself, ``Simulator.state()``/``gains()`` and checkpoint copies, which
are made only on request.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyslice.sim.scenario import Scenario

__all__ = [
    "ENV_VAR",
    "SAFETY_FRACTION",
    "MemoryEstimate",
    "MemoryLimit",
    "check_memory",
    "estimate_core_bytes",
    "estimate_memory",
    "format_bytes",
    "memory_limit",
    "parse_bytes",
]

#: Environment variable that sets the limit (bytes, ``2GiB``, ``500MB``...) or turns the guard ``off``.
ENV_VAR = "PYSLICE_MEMORY_LIMIT"
#: Share of the available memory a scenario may take when ``PYSLICE_MEMORY_LIMIT`` is not set.
SAFETY_FRACTION = 0.8

_SECTORS = 3  # cells per site (the core's kSectors)
# Bytes per UE and per tracked site link (see the module docstring; cpp/ is the source of each term).
UE_WORLD = 317
LINK_WORLD = 156
LINK_REBUILD_BUFFER = 37  # of LINK_WORLD: the second TrackedLinks (empty in a freshly drawn world)
# With radio.link_update_distance_m > 0: sel_ (4) and the compact copies of the links gathered for
# evaluation (79 each; about half the links at most, measured far fewer), plus held gains (24) with culling.
LINK_HOLD = 44
LINK_HOLD_CULLED = 24
UE_STRUCTURE = 28  # ue, signal, full_interference, weight per active UE
CELL_LINK_SPARSE = 12  # (cell, P g) per interfering cell link of an active UE
UE_RESPONSE = 57
UE_RESPONSE_ACTIVE = 24
_SMALL_BLOCKS = 4 << 20  # the solver keeps dense blocks below 2^19 entries even with culling
_MASK_SIGMAS = 4.0  # the generated mask's AR(1) noise reaches about this many std over a long run


@dataclass(frozen=True)
class MemoryEstimate:
    """The core's memory for a scenario, in bytes (``total``) with its ``parts``."""

    total: int
    parts: dict[str, int]
    n_cells: int
    n_slices: int
    ues_per_slice: int
    n_ues: int
    sites_per_ue: float
    links: int
    active_ues: int
    replicas: int
    shared_world: bool
    worlds: int = 1

    def describe(self) -> str:
        """One line: the sizes the estimate rests on and its parts."""
        who = f"{self.replicas} replica{'s' if self.replicas != 1 else ''}"
        if self.replicas > 1:
            who += (f", shared world ({self.worlds} worlds while a follower is drawn)" if self.shared_world
                    else ", independent worlds")
        parts = ", ".join(f"{name} {format_bytes(b)}" for name, b in self.parts.items())
        return (f"{self.n_cells} cells x {self.n_slices} slices x {self.ues_per_slice:,} UEs per slice "
                f"= {self.n_ues:,} UEs, each tracking {self.sites_per_ue:.3g} sites = {self.links:,} "
                f"tracked links; {who}: {parts}")


def _sites_per_ue(scenario: Scenario, n_sites: int) -> float:
    radius = scenario.radio.interference_radius_m
    if not math.isfinite(radius):
        return float(n_sites)
    site_area = math.sqrt(3.0) / 2.0 * scenario.layout.isd_m ** 2
    return min(float(n_sites), max(1.0, math.pi * radius * radius / site_area))


def _peak_activity(scenario: Scenario) -> float:
    """Sum over slices of the largest share of a slice's UEs active at once: the generated mask's
    base + amplitude + 4 noise std (at most 1); a trace counts every UE (its file is not read)."""
    if scenario.traffic.mask != scenario.traffic.GENERATED:
        return float(scenario.n_slices)
    noise = _MASK_SIGMAS * scenario.traffic.mask_noise_std
    return float(sum(min(1.0, s.mask_base + s.mask_amplitude + noise) for s in scenario.slices))


def estimate_memory(scenario: Scenario, replicas: int = 1, shared_world: bool = False, *,
                    ues_per_slice: int | None = None, n_sites: int | None = None) -> MemoryEstimate:
    """The core's peak memory for ``replicas`` simulators of ``scenario`` (one :class:`Simulator`:
    ``replicas=1``; a :class:`SimulatorBatch`: its seeds and ``shared_world``), from the scenario alone
    (nothing is allocated). ``ues_per_slice`` and ``n_sites`` override ``traffic.max_ues_per_slice``
    and the layout's site count (what-if sizes)."""
    G = scenario.traffic.max_ues_per_slice if ues_per_slice is None else int(ues_per_slice)
    sites = scenario.layout.n_sites if n_sites is None else int(n_sites)
    return _estimate(scenario, replicas, shared_world, sites, G, _peak_activity(scenario))


def _estimate(scenario: Scenario, replicas: int, shared_world: bool, sites: int, G: int,
              activity: float) -> MemoryEstimate:
    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas!r}")
    if sites < 1 or G < 0:
        raise ValueError(f"n_sites must be >= 1 and ues_per_slice >= 0, got {sites!r} and {G!r}")
    K, N = _SECTORS * sites, scenario.n_slices
    U = K * N * G
    s = _sites_per_ue(scenario, sites)
    links = int(math.ceil(U * s))
    A = int(math.ceil(K * G * activity))
    culled = math.isfinite(scenario.radio.interference_radius_m)
    per_link = LINK_WORLD
    if scenario.radio.link_update_distance_m > 0:
        per_link += LINK_HOLD + (LINK_HOLD_CULLED if culled else 0)
    world = UE_WORLD * U + per_link * links
    if culled:
        interferers = CELL_LINK_SPARSE * _SECTORS * int(math.ceil(A * s)) + min(8 * K * A, _SMALL_BLOCKS)
    else:  # dense blocks: every cell's row for each active UE, rows padded by 8-15 columns
        interferers = 8 * K * A + 8 * K * K * 16
    structure = UE_STRUCTURE * A + interferers
    response = UE_RESPONSE * U + UE_RESPONSE_ACTIVE * A
    # A shared world's follower draws a world of its own, without the rebuild buffer or a coupling
    # structure, and frees it at once (construction and reset): one at a time, beside the leader's.
    drawn = UE_WORLD * U + (per_link - LINK_REBUILD_BUFFER) * links
    if shared_world:
        worlds, state = min(replicas, 2), world + (drawn if replicas > 1 else 0)
        structures = 1
    else:
        worlds, state, structures = replicas, replicas * world, replicas
    parts = {
        "UE and link state": state,
        "load-coupling matrices": structures * structure,
        "per-replica outputs": replicas * response,
    }
    return MemoryEstimate(total=sum(parts.values()), parts=parts, n_cells=K, n_slices=N, ues_per_slice=G,
                          n_ues=U, sites_per_ue=s, links=links, active_ues=A, replicas=replicas,
                          shared_world=shared_world, worlds=worlds)


def estimate_core_bytes(scenario: Scenario, replicas: int = 1, shared_world: bool = False) -> int:
    """:func:`estimate_memory`'s total in bytes."""
    return estimate_memory(scenario, replicas, shared_world).total


# --------------------------------------------------------------------------------------------------
# The limit.
# --------------------------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}
_BYTES = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*")
_OFF = ("off", "none", "inf", "unlimited")


def parse_bytes(text: str, name: str = ENV_VAR) -> int | None:
    """A byte count from ``text``: an integer, or a number with a unit (``500MB``, ``2GiB``, ``1.5G``;
    kB/MB/GB/TB are powers of 1000, K/M/G/T and KiB/MiB/GiB/TiB of 1024). ``off`` (or none, inf,
    unlimited) gives None: no limit. ValueError naming ``name`` otherwise."""
    if text.strip().lower() in _OFF:
        return None
    match = _BYTES.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"{name} must be a byte count such as 8000000000, 500MB or 2GiB, or 'off', got {text!r}")
    value = float(match.group(1)) * _UNITS[unit]
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{name} must be at least 1 byte, got {text!r}")
    return int(value)


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units: ``41.2 GiB``."""
    for unit, scale in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}" if n / scale < 1000 else f"{n / scale:,.0f} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class MemoryLimit:
    """What a scenario may take (``bytes``) and where that comes from (``source``)."""

    bytes: int
    source: str


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat_field(path: Path, names: tuple[str, ...]) -> int:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in names and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def _cgroup_available() -> int | None:
    """Room left under this container's cgroup memory limit (v2 or v1; reclaimable file cache
    counted as free), or None when there is no limit."""
    root = Path("/sys/fs/cgroup")
    for limit_file, usage_file, stat_file, names in (
        (root / "memory.max", root / "memory.current", root / "memory.stat", ("inactive_file",)),
        (root / "memory" / "memory.limit_in_bytes", root / "memory" / "memory.usage_in_bytes",
         root / "memory" / "memory.stat", ("total_inactive_file", "inactive_file")),
    ):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is None or usage is None or limit >= 1 << 60:
            continue
        return max(0, limit - usage + _stat_field(stat_file, names))
    return None


def _available() -> tuple[int, str] | None:
    available = _meminfo_available()
    source = "MemAvailable"
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            source = "available physical memory"
        except (AttributeError, ValueError, OSError):
            try:
                available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
                source = "physical memory"
            except (AttributeError, ValueError, OSError):
                return None
    cgroup = _cgroup_available()
    if cgroup is not None and cgroup < available:
        available, source = cgroup, "the cgroup memory limit's remaining room"
    return (available, source) if available > 0 else None


def memory_limit() -> MemoryLimit | None:
    """The limit in force: ``PYSLICE_MEMORY_LIMIT`` if set, else :data:`SAFETY_FRACTION` of the
    available memory (Linux ``/proc/meminfo`` MemAvailable, or a cgroup limit's room if smaller;
    elsewhere ``os.sysconf``); None when the guard is off or nothing tells the memory."""
    text = os.environ.get(ENV_VAR)
    if text is not None and text.strip():
        value = parse_bytes(text)
        return None if value is None else MemoryLimit(value, f"{ENV_VAR}={text.strip()}")
    found = _available()
    if found is None:
        return None
    available, source = found
    return MemoryLimit(int(available * SAFETY_FRACTION),
                       f"{SAFETY_FRACTION:.0%} of {source} {format_bytes(available)}")


def _largest_fitting_ues(scenario: Scenario, replicas: int, shared_world: bool, limit: int) -> int:
    """The largest ``traffic.max_ues_per_slice`` whose estimate stays within ``limit`` (bisection:
    the estimate grows with it)."""
    sites, activity = scenario.layout.n_sites, _peak_activity(scenario)

    def fits(g: int) -> bool:
        return _estimate(scenario, replicas, shared_world, sites, g, activity).total <= limit

    lo, hi = 0, scenario.traffic.max_ues_per_slice
    if not fits(lo):
        return -1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def check_memory(scenario: Scenario, replicas: int = 1, shared_world: bool = False,
                 what: str = "a Simulator") -> MemoryEstimate:
    """Raise ValueError if ``replicas`` simulators of ``scenario`` would need more memory than
    :func:`memory_limit` allows (the message gives the estimate, its parts, the limit and what to
    lower); returns the estimate otherwise. Reads nothing the core allocates."""
    estimate = estimate_memory(scenario, replicas, shared_world)
    limit = memory_limit()
    if limit is None or estimate.total <= limit.bytes:
        return estimate
    fitting = _largest_fitting_ues(scenario, replicas, shared_world, limit.bytes)
    hint = (f"lower traffic.max_ues_per_slice (at most {fitting:,} fits)" if fitting >= 0
            else "lower the number of cells (layout)")
    if replicas > 1:
        hint += ", the number of replicas" + ("" if shared_world else " (or share one world)")
    if not math.isfinite(scenario.radio.interference_radius_m) and scenario.layout.n_sites > 7:
        hint += ", or set radio.interference_radius_m (tracks fewer sites per UE)"
    raise ValueError(
        f"scenario {scenario.name!r} needs about {format_bytes(estimate.total)} as {what} "
        f"({estimate.describe()}); this machine allows {format_bytes(limit.bytes)} ({limit.source}); "
        f"{hint}, or set {ENV_VAR} (bytes, e.g. 64GiB, or 'off')"
    )
