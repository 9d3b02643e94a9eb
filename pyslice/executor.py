"""Executors for independent experiment tasks (seeds, targets, sweep points).

A task is a picklable module-level function and its keyword arguments; every task is deterministic
given its arguments, so results are identical whatever executor runs them. ``LocalExecutor`` uses a
process pool sized to the machine; a distributed engine only has to provide ``map``.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable, Protocol, Sequence


class Executor(Protocol):
    """Runs ``fn(**kwargs)`` for every kwargs dict and returns the results in order."""

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]: ...


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)


class SerialExecutor:
    """Runs tasks one after another in this process (debugging, tests)."""

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]:
        return [fn(**kw) for kw in tasks]


class LocalExecutor:
    """A pool of worker processes (``spawn``, so torch and the C++ core start clean)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            return SerialExecutor().map(fn, tasks)
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=get_context("spawn")) as pool:
            return list(pool.map(_call, [fn] * len(tasks), tasks))
