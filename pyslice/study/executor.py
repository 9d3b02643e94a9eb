"""Executors for independent experiment tasks (seeds, targets, sweep points).

A task is a picklable module-level function and its keyword arguments; every task is deterministic
given its arguments and writes its outputs into the run directory, so results are identical
whatever executor runs them. Every executor retries a failed task once; tasks that fail twice are
reported together, by name, after all others have finished (:class:`TaskFailures`), so finished
work is kept and ``--resume`` continues from it.

* :class:`SerialExecutor`: this process, one task after another (debugging, tests).
* :class:`LocalExecutor`: a process pool sized to the machine.
* :class:`RayExecutor`: a Ray cluster (``pip install "pyslice[ray]"``), for more than one machine.
"""
from __future__ import annotations

import os
import socket
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "SerialExecutor", "TaskFailures", "describe_task",
           "make_executor"]

#: Attempts per task (the first run and one retry).
ATTEMPTS = 2


class Executor(Protocol):
    """Runs ``fn(**kwargs)`` for every kwargs dict and returns the results in order."""

    workers: int

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]: ...


class TaskFailures(RuntimeError):
    """Tasks that failed on every attempt; ``failures`` holds (task name, error text) pairs."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        lines = [f"  {name}: {error}" for name, error in failures]
        super().__init__(f"{len(failures)} task(s) failed after {ATTEMPTS} attempts (finished tasks are saved; "
                         "fix the cause and continue with --resume):\n" + "\n".join(lines))


def describe_task(fn: Callable[..., Any], kwargs: dict[str, Any]) -> str:
    """A short name of a task: the function and its small arguments (``run_task seed=2 phases=pretrain``)."""
    parts = []
    for key, value in kwargs.items():
        if isinstance(value, (dict, str)) and (isinstance(value, dict) or len(value) > 40):
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        parts.append(f"{key}={value}")
    return " ".join([getattr(fn, "__name__", "task"), *parts])


def _error_text(exc: BaseException) -> str:
    """``Type: first line of the message`` (tracebacks stay in the workers' logs)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)


class SerialExecutor:
    """Runs tasks one after another in this process (debugging, tests)."""

    workers = 1

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]:
        results: list[Any] = [None] * len(tasks)
        failures = []
        for i, kw in enumerate(tasks):
            for attempt in range(ATTEMPTS):
                try:
                    results[i] = fn(**kw)
                    break
                except Exception as exc:  # noqa: BLE001 - reported with the task's name below
                    if attempt == ATTEMPTS - 1:
                        failures.append((describe_task(fn, kw), _error_text(exc)))
        if failures:
            raise TaskFailures(failures)
        return results


class LocalExecutor:
    """A pool of worker processes (``spawn``, so torch and the C++ core start clean); tasks go to
    free workers in the order given (put the longest first)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            return SerialExecutor().map(fn, tasks)
        results: list[Any] = [None] * len(tasks)
        failures = []
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=get_context("spawn")) as pool:
            attempts = dict.fromkeys(range(len(tasks)), 0)
            futures = {pool.submit(_call, fn, kw): i for i, kw in enumerate(tasks)}
            while futures:
                done = next(as_completed(futures))
                i = futures.pop(done)
                attempts[i] += 1
                try:
                    results[i] = done.result()
                except Exception as exc:  # noqa: BLE001 - retried, then reported by name
                    if attempts[i] < ATTEMPTS:
                        futures[pool.submit(_call, fn, tasks[i])] = i
                    else:
                        failures.append((describe_task(fn, tasks[i]), _error_text(exc)))
        if failures:
            raise TaskFailures(failures)
        return results


def check_ray_address(address: Any, timeout: float = 5.0) -> None:
    """A ``HOST:PORT`` Ray address that answers a TCP connection within ``timeout`` seconds;
    ValueError naming ``--ray-address`` otherwise (so a study fails before any work, not after Ray's
    own minute of retries)."""
    host, sep, port = str(address).rpartition(":")
    if not isinstance(address, str) or not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--ray-address must be HOST:PORT (the head's GCS address, e.g. 10.0.0.5:6379), 'auto' "
                         f"or omitted, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ValueError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start the head "
                         f"with `ray start --head --port {port}` or give its address") from None


class RayExecutor:
    """Tasks as Ray remote functions on a cluster (one CPU each).

    Args:
        address: ``None`` starts a local Ray instance; ``"auto"`` joins the cluster this machine
            belongs to; ``"HOST:PORT"`` a head node's GCS address (``ray start --head`` prints it).
        num_cpus: CPUs of a *local* instance (default: all); ignored when joining a cluster.
        runtime_env: Ray's runtime environment of the job (e.g. ``{"env_vars": {...}}``).

    Workers import pyslice themselves, so every node needs the same pyslice (and scenario files
    at the same paths); the run directory must be on storage every node can write (a shared file
    system), since tasks write their outputs there. A task that raises is retried once by Ray
    (``max_retries=1, retry_exceptions=True``); a worker that dies is retried the same way.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 runtime_env: dict[str, Any] | None = None) -> None:
        if address not in (None, "auto", "local"):
            check_ray_address(address)
        try:
            import ray  # optional extra: pyslice[ray]
        except ImportError:
            raise ValueError('--executor ray needs Ray: pip install "pyslice[ray]"') from None

        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False, "runtime_env": runtime_env}
            if address is None:  # a new local instance, even where another cluster's marker file is left
                address, kwargs["num_cpus"] = "local", num_cpus
            # Ray starts this job's workers in the driver's working directory, first on their path:
            # from a source checkout that would shadow the installed pyslice (and its C++ core), so
            # the job starts from the directory holding the imported package (run paths are absolute)
            here = os.getcwd()
            os.chdir(Path(__file__).resolve().parents[2])  # the folder that holds pyslice/
            try:
                ray.init(address=address, **kwargs)
            finally:
                os.chdir(here)
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]]) -> list[Any]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=ATTEMPTS - 1, retry_exceptions=True)(_call)
        refs = [remote.remote(fn, kw) for kw in tasks]
        results: list[Any] = [None] * len(tasks)
        failures = []
        for i, ref in enumerate(refs):  # every task runs to its end before anything is raised
            try:
                results[i] = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - reported by name below
                cause = getattr(exc, "cause", None) or exc
                failures.append((describe_task(fn, tasks[i]), _error_text(cause)))
        if failures:
            raise TaskFailures(failures)
        return results


def make_executor(kind: str = "local", workers: int | None = None, ray_address: str | None = None) -> Executor:
    """The executor of a CLI run: ``"local"`` (``workers`` processes; 1 runs serially) or ``"ray"``."""
    if kind == "ray":
        if workers is not None:
            raise ValueError("--workers applies to the local executor; Ray uses the cluster's CPUs")
        return RayExecutor(address=ray_address)
    if kind != "local":
        raise ValueError(f"--executor must be 'local' or 'ray', got {kind!r}")
    if ray_address is not None:
        raise ValueError("--ray-address needs --executor ray")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    return SerialExecutor() if workers == 1 else LocalExecutor(workers)
