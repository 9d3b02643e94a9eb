"""A TOML writer for pyslice's documents (scenarios, settings): plain keys first, then tables and
arrays of tables; floats exactly (``repr``), ``inf`` as TOML writes it; strings escaped. The standard
library reads TOML (``tomllib``) but does not write it."""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["NONE", "plain", "toml_lines", "toml_text"]

#: How ``None`` is written in pyslice's settings files (TOML has no null) and typed on the command line.
NONE = "none"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _value(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("cannot write NaN to a scenario file")
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        chars = (_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                 for c in value)
        return '"' + "".join(chars) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def toml_lines(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    """TOML lines for ``table``: its plain keys, then its sub-tables and arrays of tables."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for key, value in table.items():
        name = f"{prefix}.{_key(key)}" if prefix else _key(key)
        if isinstance(value, dict):
            lines += ["", f"[{name}]", *toml_lines(value, name)]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{name}]]", *toml_lines(item, name)]
    return lines


def toml_text(table: Mapping[str, Any]) -> str:
    """The whole document as TOML text (no leading blank line, one final newline)."""
    return "\n".join(toml_lines(table)).lstrip("\n") + "\n"


def plain(value: Any, none: str | None = None) -> Any:
    """``value`` with dataclasses as dicts and tuples as lists, recursively; ``None`` written as ``none``
    when given (TOML cannot hold it)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: plain(v, none) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, none) for v in value]
    return none if value is None and none is not None else value
