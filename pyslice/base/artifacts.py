"""Verified artifacts: done markers that record the size and SHA-256 of every file a unit wrote.

A *unit* is a folder of a run that one task fills (a seed's phase, a transfer experiment, a
training run). When it is complete its ``done.json`` is written last, listing the unit's files
(``{"seconds": ..., "files": {"name": {"size": n, "sha256": "..."}}}``); files of nested units are
listed by their own markers. :func:`check_unit` re-hashes a unit and its nested units and says
what is wrong (a file missing, truncated or altered), so ``--resume`` recomputes exactly the broken
units and ``pyslice verify DIR`` checks a finished run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pyslice.base.atomic import write_json

__all__ = ["MARKER", "check_unit", "file_record", "mark_done", "read_marker", "unit_files", "verify_tree"]

MARKER = "done.json"
_SKIP_PREFIXES = (".progress", ".lock")


def file_record(path: Path) -> dict[str, Any]:
    """``{"size", "sha256"}`` of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def _is_unit(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def unit_files(folder: Path) -> list[Path]:
    """The files of the unit ``folder``: every regular file below it except its marker, progress
    and lock files, temporary files of atomic writes, and the files of nested units."""
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            if not _is_unit(entry):
                out += unit_files(entry)
        elif entry.is_file() and entry.name != MARKER and not entry.name.startswith(_SKIP_PREFIXES) \
                and not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            out.append(entry)
    return out


def mark_done(folder: str | os.PathLike[str], seconds: float, **extra: Any) -> None:
    """Write ``folder``'s marker (last, atomically) with its files' sizes and hashes."""
    folder = Path(folder)
    files = {str(p.relative_to(folder)): file_record(p) for p in unit_files(folder)}
    write_json(folder / MARKER, {"seconds": seconds, "files": files, **extra})


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker's content, or None if there is none or it cannot be read."""
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _check_files(folder: Path, marker: dict[str, Any]) -> list[str]:
    problems = []
    files = marker.get("files")
    if files is None:  # a marker of a version before verified artifacts: nothing to compare with
        return problems
    for name, want in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        size = path.stat().st_size
        if size != want.get("size"):
            kind = "truncated" if size < want.get("size", 0) else "altered"
            problems.append(f"{name} is {kind} ({size} bytes, {want.get('size')} written)")
        elif file_record(path)["sha256"] != want.get("sha256"):
            problems.append(f"{name} is altered (SHA-256 differs from the one written)")
    return problems


def check_unit(folder: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Problems of the unit ``folder`` and every unit nested in it, as (unit folder, problem);
    empty when all is as written. A missing or unreadable marker is a problem of its unit."""
    folder = Path(folder)
    if not folder.is_dir():
        return [(folder, "is missing")]
    marker = read_marker(folder)
    if marker is None:
        return [(folder, f"has no readable {MARKER} (unfinished)")]
    problems = [(folder, p) for p in _check_files(folder, marker)]
    for sub in sorted(p for p in folder.rglob(MARKER) if p.parent != folder):
        nested = read_marker(sub.parent)
        if nested is None:
            problems.append((sub.parent, f"has an unreadable {MARKER}"))
        else:
            problems += [(sub.parent, p) for p in _check_files(sub.parent, nested)]
    return problems


def verify_tree(root: str | os.PathLike[str]) -> tuple[int, list[tuple[Path, str]]]:
    """Check every unit below ``root``: (number of units checked, problems)."""
    root = Path(root)
    units = sorted({p.parent for p in root.rglob(MARKER)})
    problems = []
    for unit in units:
        marker = read_marker(unit)
        if marker is None:
            problems.append((unit, f"has an unreadable {MARKER}"))
        else:
            problems += [(unit, p) for p in _check_files(unit, marker)]
    return len(units), problems
