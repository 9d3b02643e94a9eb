"""The files a streamed simulation writes: one part per chunk while it runs, joined at the end.

Parquet (``pip install pyarrow``) and CSV hold one row per (step, replica, cell, slice) with the
columns of :data:`KPI_COLUMNS` (per-UE samples: one row per (step, replica, UE), :data:`UE_COLUMNS`);
joining them streams part by part, so memory stays flat, and a Parquet file gets one row group per
chunk. npz keeps the arrays ([T, K, N], with a replica axis after T when there are several) and, as
NumPy's format cannot be appended to, holds the whole run in memory when it is joined.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Protocol

import numpy as np

from pyslice.base.atomic import atomic_open, write_npz
from pyslice.sim.simulator import CELL_SLICE_FIELDS

FORMATS: tuple[str, ...] = ("csv", "parquet", "npz")
#: KPI columns: the core's per-(cell, slice) outputs (unit in the name), then per cell, slice and step.
_CELL_SLICE_NAMES = {"shares": "share", "throughput": "throughput_bps", "delay": "delay_s", "load": "load",
                     "users": "users", "outage": "outage", "demand": "demand_bps", "served": "served_bps",
                     "dropped": "dropped_bps", "backlog": "backlog_bits"}
KPI_COLUMNS: tuple[str, ...] = ("step", "replica", "cell", "slice", *_CELL_SLICE_NAMES.values(), "cell_load",
                                "reward", "mask", "iterations")
UE_COLUMNS: tuple[str, ...] = ("step", "replica", "ue", "slice", "serving_cell", "active", "sinr_db",
                               "throughput_bps")
assert set(_CELL_SLICE_NAMES) == set(CELL_SLICE_FIELDS), "a core output without a column"


def kpi_columns(bufs: dict[str, np.ndarray], rewards: np.ndarray, first_step: int) -> dict[str, np.ndarray]:
    """A chunk's KPIs as flat columns, rows ordered by step, replica, cell, slice."""
    t, r, k, n = bufs["throughput"].shape
    step, replica, cell, slc = np.meshgrid(np.arange(first_step, first_step + t, dtype=np.int64),
                                           np.arange(r, dtype=np.int32), np.arange(k, dtype=np.int32),
                                           np.arange(n, dtype=np.int32), indexing="ij")
    cols: dict[str, np.ndarray] = {"step": step.ravel(), "replica": replica.ravel(), "cell": cell.ravel(),
                                   "slice": slc.ravel()}
    for field, name in _CELL_SLICE_NAMES.items():
        cols[name] = bufs[field].ravel()
    cols["cell_load"] = np.broadcast_to(bufs["cell_load"][..., None], (t, r, k, n)).ravel()
    cols["reward"] = np.broadcast_to(rewards[..., None], (t, r, k, n)).ravel()
    cols["mask"] = np.broadcast_to(bufs["mask"][:, :, None, :], (t, r, k, n)).ravel()
    cols["iterations"] = np.broadcast_to(bufs["iterations"][:, :, None, None], (t, r, k, n)).ravel()
    return cols


def ue_columns(bufs: dict[str, np.ndarray], slice_of: np.ndarray) -> dict[str, np.ndarray]:
    """A chunk's per-UE samples as flat columns, rows ordered by step, replica, UE."""
    m, r, u = bufs["ue_sinr_db"].shape
    step = np.broadcast_to(bufs["ue_step"][:, None, None], (m, r, u))
    replica = np.broadcast_to(np.arange(r, dtype=np.int32)[None, :, None], (m, r, u))
    ue = np.broadcast_to(np.arange(u, dtype=np.int32)[None, None, :], (m, r, u))
    return {"step": step.ravel(), "replica": replica.ravel(), "ue": ue.ravel(),
            "slice": np.broadcast_to(slice_of.astype(np.int32), (m, r, u)).ravel(),
            "serving_cell": bufs["ue_serving"].ravel(), "active": bufs["ue_active"].ravel(),
            "sinr_db": bufs["ue_sinr_db"].ravel(), "throughput_bps": bufs["ue_throughput"].ravel()}


class PartWriter(Protocol):
    def write_part(self, work: Path, index: int, kpis: dict[str, np.ndarray], bufs: dict[str, np.ndarray],
                   ues: dict[str, np.ndarray] | None) -> None: ...

    def join(self, work: Path, out: Path, chunks: int) -> None: ...


def _parts(work: Path, stem: str, ext: str, chunks: int) -> list[Path]:
    return [p for p in (work / f"{stem}-{i:06d}.{ext}" for i in range(chunks)) if p.is_file()]


def _arrow():
    """pyarrow and pyarrow.parquet, or a ValueError saying how to install them."""
    try:
        import pyarrow as pa  # an optional extra: imported when Parquet is asked for
        import pyarrow.parquet as pq  # (the same extra)
    except ImportError:
        raise ValueError("fmt 'parquet' needs pyarrow: pip install 'pyslice[parquet]' (or pyarrow)") from None
    return pa, pq


class ParquetParts:
    """Each part a Parquet file of one row group; joined into one file, a row group per chunk."""

    def __init__(self) -> None:
        self.pa, self.pq = _arrow()

    def write_part(self, work, index, kpis, bufs, ues):
        pa, pq = self.pa, self.pq
        for stem, cols in (("kpis", kpis), ("ues", ues)):
            if cols is None:
                continue
            with atomic_open(work / f"{stem}-{index:06d}.parquet", "wb") as fh:
                pq.write_table(pa.table(cols), fh, row_group_size=len(next(iter(cols.values()))))
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed chunks: hand them back

    def join(self, work, out, chunks):
        pa, pq = self.pa, self.pq
        for stem in ("kpis", "ues"):
            parts = _parts(work, stem, "parquet", chunks)
            if not parts:
                continue
            with atomic_open(out / f"{stem}.parquet", "wb") as fh:
                writer = None
                for part in parts:
                    table = pq.read_table(part)
                    if writer is None:
                        writer = pq.ParquetWriter(fh, table.schema)
                    writer.write_table(table, row_group_size=max(1, table.num_rows))
                    del table
                    pa.default_memory_pool().release_unused()
                writer.close()


class CsvParts:
    """Each part the chunk's rows without a header; joined by copying the parts under one header."""

    def write_part(self, work, index, kpis, bufs, ues):
        for stem, cols in (("kpis", kpis), ("ues", ues)):
            if cols is None:
                continue
            with atomic_open(work / f"{stem}-{index:06d}.csv", "w", newline="") as fh:
                csv.writer(fh).writerows(zip(*(c.tolist() for c in cols.values())))

    def join(self, work, out, chunks):
        for stem, header in (("kpis", KPI_COLUMNS), ("ues", UE_COLUMNS)):
            parts = _parts(work, stem, "csv", chunks)
            if not parts:
                continue
            with atomic_open(out / f"{stem}.csv", "w", newline="") as fh:
                csv.writer(fh).writerow(header)
                for part in parts:
                    with open(part, newline="") as src:
                        shutil.copyfileobj(src, fh)


class NpzParts:
    """Each part the chunk's arrays; joined by concatenating them along the step axis."""

    def write_part(self, work, index, kpis, bufs, ues):
        arrays = {name: a for name, a in bufs.items() if not name.startswith("ue_")}
        arrays["reward"] = kpis["reward"].reshape(bufs["throughput"].shape)[..., 0]
        write_npz(work / f"kpis-{index:06d}.npz", **arrays)
        if ues is not None:
            write_npz(work / f"ues-{index:06d}.npz", **{k[3:]: a for k, a in bufs.items() if k.startswith("ue_")})

    def join(self, work, out, chunks):
        for stem in ("kpis", "ues"):
            parts = _parts(work, stem, "npz", chunks)
            if not parts:
                continue
            loaded = [dict(np.load(p, allow_pickle=False)) for p in parts]
            joined = {k: np.concatenate([z[k] for z in loaded]) for k in loaded[0]}
            if stem == "kpis" and joined["throughput"].shape[1] == 1:  # one replica: [T, K, N] as before
                joined = {k: a[:, 0] for k, a in joined.items()}
            write_npz(out / f"{stem}.npz", **joined)


def part_writer(fmt: str) -> PartWriter:
    """The part writer of format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "parquet":
        return ParquetParts()
    if fmt == "csv":
        return CsvParts()
    if fmt == "npz":
        return NpzParts()
    raise ValueError(f"fmt must be one of {', '.join(map(repr, FORMATS))}, got {fmt!r}")
