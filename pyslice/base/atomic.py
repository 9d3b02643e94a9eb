"""Atomic file writes: write to a temporary file in the target directory, then rename.

The files get the permissions a plain ``open(path, "w")`` would give them (0666 less the
process's umask), not the private 0600 of a bare temporary file, so collaborators can read a run.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np


#: Fault injection for the failure tests: with ``PYSLICE_FAULT_AFTER_WRITES=N`` in its environment a
#: process dies (``os._exit``, no clean-up, like ``kill -9``) right after its N-th completed write.
FAULT_ENV = "PYSLICE_FAULT_AFTER_WRITES"
_writes = 0


def _after_write() -> None:
    global _writes
    _writes += 1
    limit = os.environ.get(FAULT_ENV)
    if limit and _writes >= int(limit):
        os._exit(86)


def current_umask() -> int:
    """The process's umask, read without changing it (Linux ``/proc``), else by setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success it replaces ``path`` atomically. ``kwargs`` go
    to :func:`open` (``encoding``, ``newline``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _after_write()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text (``\\n`` line ends) atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically."""
    with atomic_open(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays to a compressed ``.npz`` atomically."""
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
