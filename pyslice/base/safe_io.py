"""Checkpoints and policies that load without unpickling arbitrary objects.

Everything pyslice saves with ``torch.save`` holds only tensors and plain data (dicts, lists,
tuples, str, numbers, None): NumPy arrays are stored as tensors tagged ``{"__numpy__": tensor}``
and bytes as ``{"__bytes__": uint8 tensor}``, and both come back as they were. :func:`load` reads with ``torch.load(weights_only=True)``, so
opening a run directory someone else made cannot execute code; a file holding anything else is
refused with an error naming it. Files written by pyslice before this format can be converted
once, if you trust where they come from, with :func:`convert_trusted`.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from pyslice.base.atomic import atomic_open

__all__ = ["UnsafeFile", "convert_trusted", "from_safe", "load", "save", "to_safe"]

_TAG = "__numpy__"
_BYTES = "__bytes__"


class UnsafeFile(ValueError):
    """A file that would need unpickling of arbitrary objects to load."""


def to_safe(obj: Any) -> Any:
    """``obj`` with NumPy arrays and scalars replaced by tensors / Python numbers (recursively)."""
    if isinstance(obj, np.ndarray):
        return {_TAG: torch.from_numpy(np.array(obj, copy=True))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, bytearray)):  # e.g. simulator states: as a uint8 tensor
        return {_BYTES: torch.frombuffer(bytearray(obj), dtype=torch.uint8) if obj else torch.zeros(0, dtype=torch.uint8)}
    if isinstance(obj, dict):
        return {k: to_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_safe(v) for v in obj)
    return obj


def from_safe(obj: Any) -> Any:
    """Inverse of :func:`to_safe`: tagged tensors back to NumPy arrays."""
    if isinstance(obj, dict):
        if set(obj) == {_TAG}:
            return obj[_TAG].numpy()
        if set(obj) == {_BYTES}:
            return obj[_BYTES].numpy().tobytes()
        return {k: from_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_safe(v) for v in obj)
    return obj


def save(obj: Any, fh: IO[bytes] | str | os.PathLike[str]) -> None:
    """``torch.save`` of :func:`to_safe` ``(obj)``."""
    torch.save(to_safe(obj), fh)


def load(path: str | os.PathLike[str]) -> Any:
    """Load a file written by :func:`save` with ``weights_only=True``; :class:`UnsafeFile` (a
    ValueError naming the file) if it holds anything but tensors and plain data."""
    path = Path(path)
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        if isinstance(exc, RuntimeError) and "weights_only" not in str(exc) and "Unpickl" not in str(exc):
            raise UnsafeFile(f"{path} cannot be read: {str(exc).splitlines()[0]}") from None
        raise UnsafeFile(
            f"{path} holds objects other than tensors and plain data; it is refused because loading it would "
            "run code from its pickle. If it is a checkpoint or policy of an older pyslice and you trust its "
            "origin, convert it once with pyslice.base.safe_io.convert_trusted(path)") from None
    return from_safe(data)


def convert_trusted(path: str | os.PathLike[str]) -> None:
    """Rewrite a file of an older pyslice (pickled NumPy objects) in the safe format, atomically.
    This unpickles it: only for files whose origin you trust."""
    data = torch.load(Path(path), weights_only=False, map_location="cpu")
    with atomic_open(path, "wb") as fh:
        save(data, fh)
