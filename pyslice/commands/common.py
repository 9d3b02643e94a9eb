"""Helpers shared by the commands that need no learning code (and so no torch)."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import BUILTIN_POLICIES

#: The built-in share policies the commands accept (the core's list).
POLICIES = BUILTIN_POLICIES


def load_scenario(spec: str) -> Scenario:
    """``paper`` or a path to a scenario TOML file (``trained`` means paper for baselines)."""
    if spec in ("paper", "trained"):
        return Scenario.paper()
    path = Path(spec)
    if not path.is_file():
        raise SystemExit(f"error: --scenario must be 'paper' or an existing TOML file, got {spec!r}")
    return Scenario.from_toml(path)


def run_scenario(run: Path) -> Scenario:
    """The scenario a training run directory was trained on (its run.json)."""
    meta = run / "run.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{run} is not a training run (no run.json); train one with `pyslice train --out {run}`")
    return Scenario.from_dict(json.loads(meta.read_text())["scenario"])


def cell_arg(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be 'auto' or a cell index, got {text!r}") from None


def parse_targets(text: str, n_cells: int) -> tuple[int, ...] | str:
    """``--targets``: ``auto``, ``all`` or 1-based cell labels ``1,4`` → 0-based indices (sorted, unique)."""
    if text.strip() in ("all", "auto"):
        return text.strip()
    wrong = f"--targets must be 'auto', 'all' or comma-separated cell labels in 1..{n_cells}, got {text!r}"
    try:
        labels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(wrong) from None
    if not labels or any(not 1 <= c <= n_cells for c in labels):
        raise ValueError(wrong)
    return tuple(sorted({c - 1 for c in labels}))


def radio_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--radio KEY=VALUE`` items as radio field overrides (VALUE a TOML literal or a bare word)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--radio takes KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out
