"""One writer per run directory: an exclusive ``fcntl.flock`` on ``DIR/.lock``.

``train``, ``transfer``, ``reproduce`` and ``sweep`` hold the lock of their output directory for as
long as they write it (with or without ``--resume``); a second process asking for it gets
:class:`RunLocked` naming the holder's PID, host and start time. The operating system releases a
``flock`` when its process dies, however it dies, so a lock file left behind by a crashed or killed
run is simply taken over. With ``--executor ray`` only the driver holds the lock; the tasks write
their own unit folders inside the directory.

``flock`` is reliable on local file systems; on a network file system it depends on the server
(NFS v4 supports it), so a shared run directory on a cluster should be started from one driver.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

__all__ = ["LOCK_FILE", "RunLock", "RunLocked"]

LOCK_FILE = ".lock"


class RunLocked(ValueError):
    """Another live process holds the run directory's lock."""


class RunLock:
    """Context manager holding ``DIR/.lock`` exclusively (the directory is created if needed).

    >>> with RunLock("runs/a"):     # doctest: +SKIP
    ...     ...                     # write runs/a
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    def acquire(self) -> RunLock:
        self._created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = (f"process {holder.get('pid', '?')} on {holder.get('host', '?')} (since {holder.get('started', '?')})"
                   if holder else "another process")
            raise RunLocked(f"{self.directory} is being written by {who}; wait for it to finish or use another "
                            "--out (a lock of a process that died is taken over automatically)") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Unlock; a directory this lock created and nothing else was written to is removed again
        (a command that failed early leaves nothing behind)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
                if self._created and [p.name for p in self.directory.iterdir()] == [LOCK_FILE]:
                    self.path.unlink()
                    self.directory.rmdir()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        return json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
