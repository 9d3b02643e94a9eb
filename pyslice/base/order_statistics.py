"""Exact percentiles of more values than should sit in memory at once.

:func:`streamed_percentiles` reads the values block by block (a ``numpy.memmap`` of a long run, say)
and narrows a histogram around each wanted order statistic until the few values left fit in memory,
so it returns what ``numpy.percentile(values, q)`` (linear interpolation) returns, with memory
bounded by the block size.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

BINS = 1024
#: Few enough values in the narrowed range to sort them directly.
SMALL = 1 << 16


def _blocks(values: np.ndarray, block: int):
    for start in range(0, values.shape[0], block):
        yield np.asarray(values[start:start + block], dtype=np.float64)


def order_statistic(values: np.ndarray, k: int, block: int = 1 << 20) -> float:
    """The ``k``-th smallest (0-based) of the 1-D ``values``, reading ``block`` values at a time."""
    n = values.shape[0]
    if not 0 <= k < n:
        raise ValueError(f"k must be in [0, {n}), got {k}")
    lo, hi, closed = -np.inf, np.inf, True  # the range [lo, hi] (hi excluded unless closed)
    below = 0  # values under lo
    while True:
        def inside(b: np.ndarray) -> np.ndarray:
            return b[(b >= lo) & ((b <= hi) if closed else (b < hi))]
        count, vmin, vmax = 0, np.inf, -np.inf
        for b in _blocks(values, block):
            sel = inside(b)
            if sel.size:
                count += sel.size
                vmin, vmax = min(vmin, float(sel.min())), max(vmax, float(sel.max()))
        if vmin == vmax:
            return vmin
        if count <= SMALL:
            kept = np.sort(np.concatenate([inside(b) for b in _blocks(values, block)]))
            return float(kept[k - below])
        edges = np.linspace(vmin, vmax, BINS + 1)
        counts = np.zeros(BINS, dtype=np.int64)
        for b in _blocks(values, block):
            sel = inside(b)
            counts += np.histogram(sel, edges)[0]
        cum = np.cumsum(counts)
        i = int(np.searchsorted(cum, k - below, side="right"))
        below += int(cum[i - 1]) if i > 0 else 0
        # np.histogram's bins are [e_i, e_i+1), the last one closed
        lo, hi, closed = float(edges[i]), float(edges[i + 1]), i == BINS - 1


def streamed_percentiles(values: np.ndarray, qs: Sequence[float], block: int = 1 << 20,
                         scale: float = 1.0) -> list[float]:
    """``numpy.percentile(scale * values, q)`` for each q in ``qs`` (linear interpolation, the same
    bits; ``scale`` > 0), reading the 1-D ``values`` ``block`` at a time."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    n = values.shape[0]
    if n == 0:
        raise ValueError("values must not be empty")
    out = []
    for q in qs:
        if not 0.0 <= q <= 100.0:
            raise ValueError(f"percentiles must be in [0, 100], got {q}")
        h = (n - 1) * (q / 100.0)
        k = int(np.floor(h))
        a = float(np.float64(scale) * order_statistic(values, k, block))  # scaling keeps the order
        if k + 1 >= n or h == k:
            out.append(a)
            continue
        b = float(np.float64(scale) * order_statistic(values, k + 1, block))
        t = h - k  # numpy's linear interpolation, written as numpy writes it (so the bits agree)
        out.append(float(b - (b - a) * (1.0 - t)) if t >= 0.5 else float(a + (b - a) * t))
    return out
