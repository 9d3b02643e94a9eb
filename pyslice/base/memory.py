"""Peak memory of a process and its descendants, sampled from ``/proc`` (Linux).

The whole tree's figure sums each process's proportional set size (PSS: a page shared by n processes
counts 1/n in each, so libraries mapped by every worker count once), which is what the tree
really holds; the largest process is its resident set size (RSS). Elsewhere than Linux nothing is
measured (``None``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["PeakMemory", "release_freed_heap", "tree_memory"]

_PROC = Path("/proc")
_LIBC: ctypes.CDLL | None | bool = False  # False: not looked up yet


def release_freed_heap() -> None:
    """Hand the C heap's freed memory back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    glibc keeps freed blocks for reuse, and after a large array is freed it raises its threshold for
    giving memory straight back, so a long loop of large temporary arrays lets RSS creep up; called
    once per chunk of a long run, it keeps RSS flat."""
    global _LIBC
    if _LIBC is False:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else None
        except OSError:
            _LIBC = None
        if _LIBC is not None and not hasattr(_LIBC, "malloc_trim"):
            _LIBC = None
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _field_kb(path: Path, name: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in (_PROC / str(pid) / "task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return out


def tree_memory(pid: int | None = None) -> tuple[int, int] | None:
    """``(PSS of the process tree, RSS of its largest process)`` in bytes for ``pid`` (default: this
    process) and all its descendants; None where ``/proc`` cannot tell."""
    root = os.getpid() if pid is None else int(pid)
    if not (_PROC / str(root) / "status").is_file():
        return None
    total = largest = 0
    stack, seen = [root], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        rss = _field_kb(_PROC / str(p) / "status", "VmRSS:")
        if rss is None:  # gone meanwhile
            continue
        pss = _field_kb(_PROC / str(p) / "smaps_rollup", "Pss:")
        total += 1024 * (rss if pss is None else pss)
        largest = max(largest, 1024 * rss)
        stack += _children(p)
    return total, largest


class PeakMemory:
    """Samples :func:`tree_memory` of this process every ``interval`` seconds in a thread while the
    ``with`` block runs; :attr:`total` and :attr:`largest` are the peaks in bytes (None if never
    measured)."""

    def __init__(self, interval: float = 1.0) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        self.interval = float(interval)
        self.total: int | None = None
        self.largest: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """Take one sample now."""
        now = tree_memory()
        if now is not None:
            self.total = max(self.total or 0, now[0])
            self.largest = max(self.largest or 0, now[1])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def as_dict(self) -> dict[str, float]:
        """The peaks in MB (``all_processes_mb``, ``largest_process_mb``); empty if never measured."""
        if self.total is None or self.largest is None:
            return {}
        return {"all_processes_mb": round(self.total / 1e6, 1), "largest_process_mb": round(self.largest / 1e6, 1)}
