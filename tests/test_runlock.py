"""One writer per run directory: a second process is refused with the holder's PID and host; a lock
of a dead process is taken over; a command that fails early leaves no directory behind."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from pyslice.cli import main
from pyslice.base.runlock import LOCK_FILE, RunLock, RunLocked

HOLD = textwrap.dedent("""
    import sys, time
    from pyslice.base.runlock import RunLock
    with RunLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _holder(directory, seconds):
    # outside the source tree: `python -c` puts its working directory first on the path
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=directory.parent)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_with_the_holders_pid_and_host(tmp_path):
    run = tmp_path / "run"
    proc = _holder(run, 30)
    try:
        with pytest.raises(RunLocked, match=f"process {proc.pid} on {socket.gethostname()}"):
            RunLock(run).acquire()
        # the CLI reports it as an error and starts nothing
        assert main(["reproduce", "--quick", "--out", str(run), "--quiet"]) == 2
        assert sorted(p.name for p in run.iterdir()) == [LOCK_FILE]
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    run = tmp_path / "run"
    proc = _holder(run, 30)
    proc.kill()  # SIGKILL: no clean-up, the lock file stays
    proc.wait()
    assert (run / LOCK_FILE).exists()
    with RunLock(run) as lock:
        assert f'"pid": {os.getpid()}' in lock.path.read_text()


def test_one_process_cannot_hold_a_directory_twice_and_release_frees_it(tmp_path):
    with RunLock(tmp_path / "a"):
        with pytest.raises(RunLocked):
            RunLock(tmp_path / "a").acquire()
        (tmp_path / "a" / "x").write_text("kept")
    with RunLock(tmp_path / "a"):
        pass
    assert (tmp_path / "a" / "x").read_text() == "kept"  # a directory with content stays


def test_a_lock_taken_for_nothing_leaves_nothing(tmp_path):
    with RunLock(tmp_path / "new"):
        pass
    assert not (tmp_path / "new").exists()
