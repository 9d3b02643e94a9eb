"""Long simulations that stream (``pyslice simulate``): KPIs written chunk by chunk, memory flat in
the number of steps, and a run killed at any point resumed from its last complete chunk.

A run in ``out/`` keeps its work in ``out/.stream/``: ``run.json`` (the scenario and the run's
settings), one part file per finished chunk, the per-(step, cell) max-slice delays for the summary's
percentiles (``max_delay.f64``, a flat float64 file), and ``checkpoint.npz`` (the simulator batch's
state and the summary's running sums after the last finished chunk; written after that chunk's part,
so a checkpoint never points past a part). At the end the parts are joined into ``kpis.<fmt>`` (and
``ues.<fmt>`` with per-UE samples) — one Parquet row group per chunk — and ``summary.json``; then
``.stream`` is removed. ``resume=True`` continues from the checkpoint and gives the same files, bit
for bit, as a run that was never interrupted.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pyslice.base.atomic import write_json, write_npz
from pyslice.base.memory import release_freed_heap
from pyslice.base.order_statistics import streamed_percentiles
from pyslice.base.validation import check_int
from pyslice.sim.core_config import site_positions
from pyslice.sim.satisfaction import reward, step_kpis
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import BATCH_FIELDS, BUILTIN_POLICIES, CORE_OUTPUTS, SimulatorBatch
from pyslice.sim.stream_formats import FORMATS, KPI_COLUMNS, UE_COLUMNS, kpi_columns, part_writer, ue_columns

WORK = ".stream"
#: The per-step series kept for plots (replica 0, means over cells): per slice, then the reward's
#: mean and minimum over cells.
SERIES: tuple[str, ...] = ("throughput", "delay", "load", "users", "mask")


@dataclass
class StreamResult:
    """A streamed run: its ``summary`` (as in summary.json), the files written, replica 0's
    simulator ``final_state`` (None when a resume found the run finished) and, if asked for, the
    per-step ``series`` of :data:`SERIES` ([T, N] each) plus ``reward_mean`` and ``reward_min`` [T]."""

    summary: dict[str, Any]
    files: list[Path]
    final_state: dict[str, np.ndarray] | None = None
    series: dict[str, np.ndarray] | None = None


def _series_rows(bufs: dict[str, np.ndarray], rewards: np.ndarray) -> np.ndarray:
    """A chunk's plot series [C, len(SERIES) * N + 2] (replica 0)."""
    cols = [bufs[name][:, 0].mean(axis=1) if bufs[name].ndim == 4 else bufs[name][:, 0] for name in SERIES]
    return np.column_stack([*cols, rewards[:, 0].mean(axis=1), rewards[:, 0].min(axis=1)]).astype(np.float64)


def _read_series(path: Path, n_slices: int) -> dict[str, np.ndarray]:
    rows = np.fromfile(path, dtype=np.float64).reshape(-1, len(SERIES) * n_slices + 2)
    out = {name: rows[:, i * n_slices:(i + 1) * n_slices] for i, name in enumerate(SERIES)}
    out["reward_mean"], out["reward_min"] = rows[:, -2], rows[:, -1]
    return out


@dataclass(frozen=True)
class StreamSpec:
    """What to simulate: ``steps`` steps of ``replicas`` seeds (``seed``, ``seed + 1``, ...) stepped as
    one :class:`~pyslice.sim.simulator.SimulatorBatch` under a built-in ``policy``; KPIs written every
    ``chunk_steps`` steps as ``fmt`` (parquet, csv or npz); per-UE samples (SINR, flow throughput,
    serving cell) every ``ue_every`` steps (0: none)."""

    steps: int
    seed: int = 0
    policy: str = "traffic-aware"
    replicas: int = 1
    chunk_steps: int = 1000
    ue_every: int = 0
    fmt: str = "csv"
    threads: int = 1

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("seed", self.seed, 0)
        check_int("replicas", self.replicas, 1)
        check_int("chunk_steps", self.chunk_steps, 1)
        check_int("ue_every", self.ue_every, 0)
        check_int("threads", self.threads, 1)
        if self.policy not in BUILTIN_POLICIES:
            raise ValueError(f"policy must be one of {', '.join(map(repr, BUILTIN_POLICIES))}, got {self.policy!r}")
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {', '.join(map(repr, FORMATS))}, got {self.fmt!r}")

    @property
    def chunks(self) -> int:
        return -(-self.steps // self.chunk_steps)

    def chunk_range(self, i: int) -> range:
        """The steps (1-based, as in the output) of chunk ``i``."""
        return range(i * self.chunk_steps + 1, min(self.steps, (i + 1) * self.chunk_steps) + 1)


def _run_identity(scenario: Scenario, spec: StreamSpec) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one (threads may differ: same bits)."""
    settings = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "threads"}
    return {"scenario": scenario.to_dict(), **settings}


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ValueError(f"out must be a writable directory, cannot write to {out}: {exc.strerror or exc}") from None


def _prepare(scenario: Scenario, spec: StreamSpec, out: Path, resume: bool) -> dict[str, Any] | None:
    """Check the output directory and return the checkpoint to resume from (None: a fresh start).
    Raises ValueError, changing nothing, when the directory holds a run that does not fit."""
    work = out / WORK
    identity = _run_identity(scenario, spec)
    if resume:
        if not (work / "run.json").is_file():
            if (out / "summary.json").is_file() and _finished_identity(out) == identity:
                return {"finished": True}
            raise ValueError(f"--resume: {out} holds no interrupted simulation of this run (no {WORK}/run.json)")
        saved = json.loads((work / "run.json").read_text())
        if saved != identity:
            differing = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
            raise ValueError(f"--resume: {out} holds a simulation of another run (it differs in "
                             f"{', '.join(differing)}); its files are left as they are")
        _check_writable(out)
        if (work / "checkpoint.npz").is_file():
            with np.load(work / "checkpoint.npz", allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        return None
    if work.exists():
        raise ValueError(f"{out} holds an interrupted simulation: pass --resume to continue it, or choose "
                         "another --out")
    _check_writable(out)
    work.mkdir()
    write_json(work / "run.json", identity)
    return None


def _finished_identity(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / "summary.json").read_text()).get("run")
    except (OSError, ValueError):
        return None


class _Summary:
    """Running sums of the headline statistics (:func:`pyslice.sim.satisfaction.kpi_summary`'s
    names), kept in the checkpoint; the delay percentiles are read from max_delay.f64 at the end."""

    SCALARS = ("samples", "reward_sum", "reward_low", "sat_sum", "sat_low", "delay_sum", "load_sum", "load_n",
               "iterations_sum", "iterations_n", "outage_sum", "users_sum", "drop_n")

    def __init__(self, n_cells: int, n_slices: int, saved: dict[str, np.ndarray] | None = None) -> None:
        self.values = {k: float(saved[k]) if saved is not None else 0.0 for k in self.SCALARS}
        self.drop_sum = np.array(saved["drop_sum"]) if saved is not None else np.zeros(n_slices)
        self.cell_load_sum = np.array(saved["cell_load_sum"]) if saved is not None else np.zeros(n_cells)

    def add(self, arrays: dict[str, np.ndarray], rewards: np.ndarray, sat: np.ndarray, delay: np.ndarray,
            drop: np.ndarray) -> None:
        v = self.values
        v["samples"] += sat.size
        v["reward_sum"] += float(rewards.sum())
        v["reward_low"] += float((rewards < 0.95).sum())
        v["sat_sum"] += float(sat.sum())
        v["sat_low"] += float((sat < 0.95).sum())
        v["delay_sum"] += float(delay.sum())
        v["load_sum"] += float(arrays["cell_load"].sum())
        v["load_n"] += arrays["cell_load"].size
        self.cell_load_sum += arrays["cell_load"].sum(axis=(0, 1))
        v["iterations_sum"] += float(arrays["iterations"].sum())
        v["iterations_n"] += arrays["iterations"].size
        v["outage_sum"] += float(arrays["outage"].sum())
        v["users_sum"] += float(arrays["users"].sum())
        d = drop.reshape(-1, drop.shape[-1])
        self.drop_sum += d.sum(axis=0)
        v["drop_n"] += d.shape[0]

    def state(self) -> dict[str, np.ndarray]:
        return {**{k: np.float64(x) for k, x in self.values.items()}, "drop_sum": self.drop_sum,
                "cell_load_sum": self.cell_load_sum}

    def result(self, max_delay: np.ndarray, steps: int, wall: float) -> dict[str, Any]:
        v = self.values
        n = max(v["samples"], 1.0)
        p50_ms, p95_ms = streamed_percentiles(max_delay, [50, 95], scale=1e3)
        per_slice = self.drop_sum / max(v["drop_n"], 1.0)
        return {
            "steps": int(steps),
            "mean_reward": v["reward_sum"] / n,
            "share_reward_below_0.95": v["reward_low"] / n,
            "mean_min_throughput_satisfaction": v["sat_sum"] / n,
            "share_below_0.95": v["sat_low"] / n,
            "mean_max_slice_delay_ms": 1e3 * v["delay_sum"] / n,
            "median_max_slice_delay_ms": p50_ms,
            "p95_max_slice_delay_ms": p95_ms,
            "drop_rate_per_slice": per_slice.tolist(),
            "mean_drop_rate": float(per_slice.mean()),
            "mean_cell_load": v["load_sum"] / max(v["load_n"], 1.0),
            "mean_cell_load_per_cell": (self.cell_load_sum * (self.cell_load_sum.size / max(v["load_n"], 1.0))).tolist(),
            "mean_iterations": v["iterations_sum"] / max(v["iterations_n"], 1.0),
            "outage_ratio": v["outage_sum"] / max(1.0, v["users_sum"]),
            "steps_per_second": steps / wall if wall > 0 else float("nan"),
        }


def _chunk_buffers(spec: StreamSpec, steps: int, k: int, n: int, u: int, ue_rows: int) -> dict[str, np.ndarray]:
    r = spec.replicas
    dims = {"cell,slice": (k, n), "cell": (k,), "slice": (n,)}
    bufs = {name: np.zeros((steps, r, *dims[CORE_OUTPUTS[name][0]]), dtype=CORE_OUTPUTS[name][1])
            for name in BATCH_FIELDS[:-1]}
    bufs["iterations"] = np.zeros((steps, r), dtype=np.int32)
    if ue_rows:
        bufs["ue_step"] = np.zeros(ue_rows, dtype=np.int64)
        for name, dtype in (("ue_sinr_db", np.float64), ("ue_throughput", np.float64), ("ue_serving", np.int32),
                            ("ue_active", np.bool_)):
            bufs[name] = np.zeros((ue_rows, r, u), dtype=dtype)
    return bufs


def simulate_streamed(scenario: Scenario, spec: StreamSpec, out: str | os.PathLike, resume: bool = False,
                      progress: Callable[[int], None] | None = None, series: bool = False) -> StreamResult:
    """Run ``spec`` on ``scenario`` into ``out`` (see the module doc); the summary is also written
    to ``out/summary.json``. ``series=True`` returns the per-step plot series too. ValueError before
    anything is written for an unwritable ``out``, an interrupted run there without ``resume``, or a
    ``resume`` of another scenario or settings."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a pyslice.Scenario, got {type(scenario).__name__}")
    if not isinstance(spec, StreamSpec):
        raise TypeError(f"spec must be a StreamSpec, got {type(spec).__name__}")
    out = Path(out)
    saved = _prepare(scenario, spec, out, resume)
    if saved is not None and saved.get("finished"):
        return StreamResult(json.loads((out / "summary.json").read_text()), _outputs(out, spec))
    work = out / WORK
    seeds = [spec.seed + r for r in range(spec.replicas)]
    batch = SimulatorBatch(scenario, seeds, threads=min(spec.threads, spec.replicas))
    k, n = batch.n_cells, batch.n_slices
    slice_of = batch.state(0)["slice_of"]
    u = slice_of.shape[0]
    req_tput, req_delay = scenario.requirement_matrices(len(site_positions(scenario)))
    summary = _Summary(k, n, saved)
    done, wall = 0, 0.0
    if saved is not None:
        done = int(saved["chunks_done"])
        wall = float(saved["wall_seconds"])
        batch.set_state([saved[f"state_{r}"].tobytes() for r in range(spec.replicas)])
    delays_path, series_path = work / "max_delay.f64", work / "series.f64"
    for path, per_step in ((delays_path, spec.replicas * k * 8), (series_path, (len(SERIES) * n + 2) * 8)):
        with open(path, "ab") as fh:  # drop what a killed chunk may have appended
            fh.truncate(done * spec.chunk_steps * per_step)
    writer = part_writer(spec.fmt)
    for i in range(done, spec.chunks):
        start = time.perf_counter()
        steps = spec.chunk_range(i)
        ue_steps = [t for t in steps if spec.ue_every and t % spec.ue_every == 0]
        bufs = _chunk_buffers(spec, len(steps), k, n, u, len(ue_steps))
        j = 0
        for c, t in enumerate(steps):
            outputs = batch.step_policy(spec.policy)
            for name, arr in outputs.items():
                bufs[name][c] = arr
            if j < len(ue_steps) and ue_steps[j] == t:
                bufs["ue_step"][j] = t
                for r in range(spec.replicas):
                    sample = batch.ue_samples(r)
                    for name in ("sinr_db", "throughput", "serving", "active"):
                        bufs[f"ue_{name}"][j, r] = sample[name]
                j += 1
            if progress is not None:
                progress(1)
        rewards = reward(bufs["throughput"], bufs["delay"], bufs["users"], req_tput, req_delay)
        sat, max_delay, drop = step_kpis(bufs, req_tput, scenario.traffic.max_delay_s)
        writer.write_part(work, i, kpi_columns(bufs, rewards, steps.start), bufs,
                          ue_columns(bufs, slice_of) if ue_steps else None)
        for path, rows in ((delays_path, max_delay), (series_path, _series_rows(bufs, rewards))):
            with open(path, "ab") as fh:
                fh.write(np.ascontiguousarray(rows, dtype=np.float64).tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        summary.add(bufs, rewards, sat, max_delay, drop)
        wall += time.perf_counter() - start
        states = {f"state_{r}": np.frombuffer(s, dtype=np.uint8) for r, s in enumerate(batch.get_state())}
        write_npz(work / "checkpoint.npz", chunks_done=np.int64(i + 1), wall_seconds=np.float64(wall),
                  **summary.state(), **states)
        release_freed_heap()  # the chunk's temporaries: RSS stays flat over a long run
    writer.join(work, out, spec.chunks)
    delays = np.memmap(delays_path, dtype=np.float64, mode="r")
    result = summary.result(delays, spec.steps, wall)
    del delays
    result["replicas"] = spec.replicas
    result["run"] = _run_identity(scenario, spec)
    write_json(out / "summary.json", result)
    kept = _read_series(series_path, n) if series else None
    shutil.rmtree(work)
    return StreamResult(result, _outputs(out, spec), batch.state(0), kept)


def _outputs(out: Path, spec: StreamSpec) -> list[Path]:
    names = ["kpis", "ues"] if spec.ue_every and spec.ue_every <= spec.steps else ["kpis"]
    return [out / f"{name}.{spec.fmt}" for name in names] + [out / "summary.json"]


__all__ = ["KPI_COLUMNS", "SERIES", "StreamResult", "StreamSpec", "UE_COLUMNS", "simulate_streamed"]
