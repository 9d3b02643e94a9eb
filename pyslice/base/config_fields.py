"""Typed, range-checked configuration fields: the coercion (TypeError for a wrong type) and range
checks (ValueError for a bad value) that pyslice's frozen config dataclasses run on construction, the
field-path context that makes their errors name the full path (``slices[2].demand_bps``), and the
table helpers that build them from TOML/dict tables with unknown keys rejected."""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np


# Field-path prefix used while a config is built by Scenario.from_dict (e.g. "slices[2]"), so that a
# config constructed there reports its full path; a config built directly uses its default prefix.
FIELD_PATH: contextvars.ContextVar[str | None] = contextvars.ContextVar("pyslice_config_path", default=None)


@contextlib.contextmanager
def field_path(path: str) -> Iterator[None]:
    """Report the errors of configs built inside the block under ``path``."""
    token = FIELD_PATH.set(path)
    try:
        yield
    finally:
        FIELD_PATH.reset(token)


def describe(value: Any) -> str:
    """``value`` as it appears in an error message: its type and repr."""
    return f"{type(value).__name__} {value!r}"


def as_float(path: str, value: Any) -> float:
    """``value`` as a float (ints accepted; bools and non-numbers are TypeErrors naming ``path``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{path} must be a number, got {describe(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{path} is too large to be a float, got {value!r}") from None


def as_int(path: str, value: Any) -> int:
    """``value`` as an int (bools and non-integers are TypeErrors naming ``path``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{path} must be an int, got {describe(value)}")
    return int(value)


def as_bool(path: str, value: Any) -> bool:
    """``value`` as a bool (TOML true/false only)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{path} must be a bool (true or false), got {describe(value)}")
    return bool(value)


def as_str(path: str, value: Any) -> str:
    """``value`` as a string."""
    if not isinstance(value, str):
        raise TypeError(f"{path} must be a string, got {describe(value)}")
    try:
        value.encode("utf-8")  # a lone surrogate could not be written to a TOML file
    except UnicodeEncodeError:
        raise ValueError(f"{path} must be valid Unicode text (no lone surrogates), got {value!r}") from None
    return value


def as_list(path: str, value: Any) -> list[Any]:
    """``value`` (a list, tuple or NumPy array) as a list."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{path} must be a list, got {describe(value)}")
    return list(value)


def as_float_tuple(path: str, value: Any) -> tuple[float, ...]:
    """``value`` as a tuple of floats."""
    return tuple(as_float(f"{path}[{i}]", v) for i, v in enumerate(as_list(path, value)))


def as_int_tuple(path: str, value: Any) -> tuple[int, ...]:
    """``value`` as a tuple of ints."""
    return tuple(as_int(f"{path}[{i}]", v) for i, v in enumerate(as_list(path, value)))


def as_points(path: str, value: Any) -> tuple[tuple[float, float], ...]:
    """``value`` as a tuple of [x, y] pairs."""
    points = []
    for i, item in enumerate(as_list(path, value)):
        pair = as_float_tuple(f"{path}[{i}]", item)
        if len(pair) != 2:
            raise ValueError(f"{path}[{i}] must be a pair [x, y], got {len(pair)} values")
        points.append((pair[0], pair[1]))
    return tuple(points)


# Coercer per field annotation (annotations are strings under `from __future__ import annotations`).
COERCERS: dict[str, Callable[[str, Any], Any]] = {
    "float": as_float,
    "int": as_int,
    "bool": as_bool,
    "str": as_str,
    "tuple[float, ...]": as_float_tuple,
    "tuple[int, ...]": as_int_tuple,
    "tuple[tuple[float, float], ...]": as_points,
}


def coerce_fields(obj: Any, path: str, skip: tuple[str, ...] = ()) -> None:
    """Check the type of every scalar/list field of a frozen config and normalise it in place
    (int -> float for float fields, lists -> tuples)."""
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = COERCERS[str(f.type)](f"{path}.{f.name}", getattr(obj, f.name))
        object.__setattr__(obj, f.name, value)


def init_config(obj: Any, default_path: str) -> None:
    """Shared ``__post_init__``: coerce types, then validate ranges under the current path."""
    path = FIELD_PATH.get() or default_path
    coerce_fields(obj, path)
    obj.validate(path)


def in_range(path: str, value: float, lo: float, hi: float) -> None:
    """ValueError naming ``path`` unless lo <= value <= hi (NaN fails)."""
    if not lo <= value <= hi:  # False for NaN
        raise ValueError(f"{path} must be in [{lo:g}, {hi:g}], got {value!r}")


def greater(path: str, value: float, lo: float, *, allow_inf: bool = False) -> None:
    """ValueError naming ``path`` unless value > lo and finite (or inf, with ``allow_inf``)."""
    if not (value > lo and (allow_inf or math.isfinite(value))):
        rule = f"> {lo:g} or inf" if allow_inf else f"> {lo:g} and finite"
        raise ValueError(f"{path} must be {rule}, got {value!r}")


def at_least(path: str, value: float, lo: float) -> None:
    """ValueError naming ``path`` unless value >= lo and finite."""
    if not (value >= lo and math.isfinite(value)):
        raise ValueError(f"{path} must be >= {lo:g} and finite, got {value!r}")


def finite(path: str, value: float) -> None:
    """ValueError naming ``path`` unless value is finite."""
    if not math.isfinite(value):
        raise ValueError(f"{path} must be finite, got {value!r}")


def one_of(path: str, value: str, options: tuple[str, ...]) -> None:
    """ValueError naming ``path`` and the allowed values unless ``value`` is one of ``options``."""
    if value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{path} must be one of {allowed}, got {value!r}")





def field_names(cls: type) -> tuple[str, ...]:
    """The dataclass's field names, in order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def as_table(path: str, value: Any) -> Mapping[str, Any]:
    """``value`` as a table (mapping); TypeError naming ``path`` otherwise."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{path} must be a table, got {describe(value)}")
    return value


def check_keys(path: str, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """ValueError for a key of ``table`` not in ``allowed``, with the closest allowed key."""
    for key in table:
        if key not in allowed:
            full = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown key {full!r}{hint}; allowed keys "
                             f"{'in ' + path if path else 'at the top level'}: {', '.join(allowed)}")


def build_config(cls: type, path: str, item: Any, required: tuple[str, ...]) -> Any:
    """``cls`` built from a table: unknown keys and missing ``required`` keys rejected, errors under ``path``."""
    table = as_table(path, item)
    check_keys(path, table, field_names(cls))
    for key in required:
        if key not in table:
            raise ValueError(f"{path}.{key} is required (it has no default)")
    with field_path(path):
        return cls(**table)
