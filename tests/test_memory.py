"""Peak memory of the process tree (pyslice.base.memory): a child's allocation is counted, the
largest process is at least what it holds, bad intervals are refused."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pyslice.base.memory import PeakMemory, tree_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")

CHILD = "import sys, time; b = bytearray(300_000_000); b[::4096] = b'x' * len(b[::4096]); print('ready', flush=True); time.sleep(30)"


def test_a_childs_memory_counts_in_the_tree():
    before = tree_memory()
    assert before is not None and before[0] > 0 and before[1] > 0
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with PeakMemory(interval=0.05) as peak:
            time.sleep(0.2)
        total, largest = tree_memory()
        assert total - before[0] > 250e6  # the child's 300 MB, touched page by page
        assert largest >= 300e6
        assert peak.total >= total * 0.9 and peak.largest >= 300e6
        d = peak.as_dict()
        assert d["all_processes_mb"] >= d["largest_process_mb"] * 0.9 > 0
    finally:
        child.kill()
        child.wait()


def test_a_process_that_does_not_exist_is_not_measured():
    assert tree_memory(2**22 + 12345) is None
    assert PeakMemory().as_dict() == {}


@pytest.mark.parametrize("interval", [0, -1.0, float("nan")])
def test_bad_interval_is_refused(interval):
    with pytest.raises(ValueError, match="interval"):
        PeakMemory(interval)
