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
