"""Argument checks shared by the Python modules (clear TypeError/ValueError naming the argument)."""
from __future__ import annotations

import numbers

import numpy as np


def check_int(name: str, value: object, lo: int) -> int:
    """``value`` as an int >= ``lo``; TypeError for non-integers (bools included), ValueError below ``lo``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if int(value) < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def check_samples(name: str, x: object, dim: int | None = None, min_rows: int = 1) -> np.ndarray:
    """``x`` as a finite float64 matrix ``[M, D]`` with ``M >= min_rows`` rows and ``D >= 1`` (``D ==
    dim`` if given). TypeError for something that is not an array of numbers, ValueError naming
    ``name`` for a wrong shape, too few rows or NaN/inf."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape [M, D] with D >= 1, got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must hold at least {min_rows} sample(s), got {arr.shape[0]}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} must have D = {dim} columns, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return arr
